"""The ASGI app does its start-up work (URLconf, fragments, channel layer) at import,
outside the event loop, and none of it needs the database or Redis to be up."""

from helpdesk.tests.test_settings import run_python

SHOW_PREPARED = """
import helpdesk.asgi
from channels.layers import get_channel_layer
from django.template import engines
loader = engines["django"].engine.template_loaders[0]
print(type(get_channel_layer()).__name__, sorted(loader.get_template_cache))
"""


def test_the_web_app_starts_while_the_database_and_redis_are_down():
    result = run_python(
        SHOW_PREPARED,
        SECRET_KEY="k",
        DATABASE_URL="mysql://root@127.0.0.1:1/unreachable",
        REDIS_URL="redis://127.0.0.1:1/0",
    )
    assert result.returncode == 0, result.stderr
    layer, compiled = result.stdout.split(" ", 1)
    assert layer == "RedisChannelLayer"
    assert "console/_message.html" in compiled and "console/_session_row.html" in compiled


def test_starting_prints_no_template_warning(tmp_path):
    result = run_python(
        "import helpdesk.asgi",
        DEBUG="true",  # Django warns about a missing CSRF token only in DEBUG
        SECRET_KEY="k",
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
        ALLOW_SEED_PASSWORDS="true",
        PYTHONWARNINGS="always",
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
