"""The ASGI app does its start-up work (URLconf, fragments, channel layer) at import,
outside the event loop, and none of it needs the database or Redis to be up."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def test_the_web_app_starts_while_the_database_and_redis_are_down():
    environment = {
        **os.environ,
        "ENV_FILE": "/dev/null",
        "SECRET_KEY": "k",
        "DATABASE_URL": "mysql://root@127.0.0.1:1/unreachable",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
    }
    program = (
        "import helpdesk.asgi\n"
        "from channels.layers import get_channel_layer\n"
        "from django.template import engines\n"
        "loader = engines['django'].engine.template_loaders[0]\n"
        "print(type(get_channel_layer()).__name__, sorted(loader.get_template_cache))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    layer, compiled = result.stdout.split(" ", 1)
    assert layer == "RedisChannelLayer"
    assert "console/_message.html" in compiled and "console/_session_row.html" in compiled
