"""`manage.py serve` with DEBUG off and nothing collected still serves the console's
CSS and JS (a first production start used to get unstyled pages)."""

import os
import signal
import subprocess
import sys
import urllib.request

import pytest

from helpdesk.tests.processes import BASE_DIR, free_port, manage
from telegram_gateway.tests.conftest import wait_until


def _get(url: str) -> tuple[int, bytes] | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""
    except OSError:
        return None


@pytest.fixture(scope="module")
def production_serve(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("serve-static")
    env = {
        **os.environ,
        "ENV_FILE": "/dev/null",
        "DEBUG": "false",
        "SECRET_KEY": "a-production-like-key-long-enough-for-hs256-tokens",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static-not-collected"),
        "ALLOW_SEED_PASSWORDS": "true",  # no seeded accounts here; just never refuse
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("TELEGRAM_BOT_TOKEN", "REDIS_URL", "SANDBOX", "CSRF_TRUSTED_ORIGINS"):
        env.pop(name, None)
    manage("migrate", "--noinput", env=env)
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", f"127.0.0.1:{port}"],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until(lambda: (_get(base + "/login/") or (0,))[0] == 200, timeout=60)
        except AssertionError:
            pytest.fail(f"serve did not start:\n{log_path.read_text()}")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.parametrize("path", ["/static/console/console.css", "/static/console/live.js"])
def test_serve_without_collectstatic_serves_the_consoles_css_and_js(production_serve, path):
    status, body = _get(production_serve + path)

    assert status == 200
    assert body == (BASE_DIR / "static" / path.removeprefix("/static/")).read_bytes()
