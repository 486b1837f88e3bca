"""What the benchmarks share: Django set up on a fresh MariaDB database."""

import os
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
os.environ.setdefault("SECRET_KEY", "bench")
os.environ["ENV_FILE"] = "/dev/null"
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/helpdesk_bench"
)
TOKEN = "123456:BENCH-TOKEN"

import django  # noqa: E402

django.setup()

import MySQLdb  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from conversations.management.database import database_create_if_missing  # noqa: E402


def fresh_database() -> None:
    """Drop and re-create the benchmark database, migrated and empty."""
    params = connection.get_connection_params()
    name = params.pop("database")
    server = MySQLdb.connect(**params)
    server.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    server.close()
    connection.close()
    database_create_if_missing(connection)
    call_command("migrate", verbosity=0)


def bot_environment(api_base: str) -> dict[str, str]:
    """Environment for a `manage.py` bot process talking to the emulator."""
    return {
        **os.environ,
        "TELEGRAM_API_BASE": api_base,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_POLL_TIMEOUT": "1",
        "LOG_LEVEL": "WARNING",
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
