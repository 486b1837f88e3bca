"""Helpers for tests that run the product's commands as separate processes."""

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mariadb_url(port: int | None = None, *, database: str | None = None) -> str:
    """The test MariaDB server as a process of its own reaches it: the test database, or
    `database`; through a proxy listening on this host's `port`, if given."""
    config = connection.settings_dict
    password = f":{config['PASSWORD']}" if config["PASSWORD"] else ""
    address = (
        f"127.0.0.1:{port}" if port else f"{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 3306}"
    )
    return f"mysql://{config['USER']}{password}@{address}/{database or config['NAME']}"


def production_environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    """What a production start sees (DEBUG off, a SQLite file in `tmp_path`), with none
    of the token, Redis or metrics settings of the shell running the tests; plus
    `settings`."""
    env = {
        **os.environ,
        "ENV_FILE": "/dev/null",
        "DEBUG": "false",
        "SECRET_KEY": "a-production-like-key-long-enough-for-hs256-tokens",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
    }
    for name in (
        "TELEGRAM_BOT_TOKEN", "REDIS_URL", "SANDBOX", "CSRF_TRUSTED_ORIGINS",
        "METRICS_TOKEN", "PROMETHEUS_MULTIPROC_DIR",
    ):  # fmt: skip
        env.pop(name, None)
    return {**env, **settings}


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip


@contextmanager
def command_running(
    *args: str, env: dict, log_path: Path, stderr_only: bool = False
) -> Iterator[subprocess.Popen]:
    """Run `manage.py <args>` until the block ends: SIGTERM, then SIGKILL after 30 s.

    Its output goes to `log_path` (a file, not a pipe: a full pipe would block it);
    `stderr_only`: standard error alone, where the logs go.
    """
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR, env=env,
            stdout=subprocess.DEVNULL if stderr_only else log,
            stderr=log if stderr_only else subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serve_running(
    env: dict, log_path: Path, ready: Callable[[str], bool], *, stderr_only: bool = False
) -> Iterator[str]:
    """Run `manage.py serve` on a free port until the block ends; yield its base URL,
    failing with its log when `ready(base)` never holds within a minute."""
    from telegram_gateway.tests.conftest import wait_until

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with command_running(
        "serve", f"127.0.0.1:{port}", env=env, log_path=log_path, stderr_only=stderr_only
    ):
        try:
            wait_until(lambda: ready(base), timeout=60)
        except AssertionError:
            pytest.fail(f"serve did not start:\n{log_path.read_text()}")
        yield base


@contextmanager
def database_unreachable() -> Iterator[None]:
    """Point the default connection at a port where no server listens, then back.

    MariaDB only: SQLite's in-memory test database cannot be taken away and given back.
    """
    from django.db import connection

    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
