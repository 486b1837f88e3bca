"""Settings are read from the environment; each case runs in a fresh interpreter."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = """
import json
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "debug": settings.DEBUG,
    "secret_key": settings.SECRET_KEY,
    "engine": db["ENGINE"],
    "name": db["NAME"],
    "options": db.get("OPTIONS", {}),
    "test": db.get("TEST", {}),
    "conn_max_age": db["CONN_MAX_AGE"],
    "conn_health_checks": db["CONN_HEALTH_CHECKS"],
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_config": settings.CHANNEL_LAYERS["default"].get("CONFIG"),
    "telegram_api_base": settings.TELEGRAM_API_BASE,
    "time_zone": settings.TIME_ZONE,
    "use_tz": settings.USE_TZ,
    "allowed_hosts": settings.ALLOWED_HOSTS,
}))
"""
VARIABLES = [
    "DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "CONN_MAX_AGE",
    "CONN_HEALTH_CHECKS",
    "ALLOWED_HOSTS",
    "TELEGRAM_API_BASE",
    "TIME_ZONE",
]


def load_settings(**variables: str) -> subprocess.CompletedProcess:
    return run_python(f"import django; django.setup(); {PRINT_SETTINGS}", **variables)


def run_python(program: str, **variables: str) -> subprocess.CompletedProcess:
    """Run `program` in a fresh interpreter that sees only these settings variables."""
    environment = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    environment.update(ENV_FILE="/dev/null", DJANGO_SETTINGS_MODULE="helpdesk.settings")
    environment.update(variables)
    return subprocess.run(
        [sys.executable, "-c", program],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def settings_with(**variables: str) -> dict:
    result = load_settings(**variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_it_refuses_to_start_without_secret_key_when_debug_is_off():
    result = load_settings()
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_it_uses_a_dev_secret_key_only_while_debug_is_on():
    loaded = settings_with(DEBUG="true")
    assert loaded["debug"] is True
    assert loaded["secret_key"].startswith("django-insecure")
    assert settings_with(SECRET_KEY="s3cret")["secret_key"] == "s3cret"


def test_defaults_are_embedded_sqlite_and_in_memory_layer():
    loaded = settings_with(DEBUG="true")
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["name"] == str(BASE_DIR / "db.sqlite3")  # not relative to the cwd
    assert loaded["layer"] == "channels.layers.InMemoryChannelLayer"
    assert loaded["telegram_api_base"] == "https://api.telegram.org"
    assert loaded["time_zone"] == "UTC"
    assert loaded["use_tz"] is True
    assert loaded["conn_max_age"] == 0


def test_debug_off_allows_no_host_unless_configured():
    assert settings_with(SECRET_KEY="k")["allowed_hosts"] == []
    hosts = settings_with(SECRET_KEY="k", ALLOWED_HOSTS="desk.example.com,.example.org")
    assert hosts["allowed_hosts"] == ["desk.example.com", ".example.org"]


@pytest.mark.parametrize("scheme", ["mysql", "mariadb"])
def test_mysql_urls_get_utf8mb4_and_strict_mode(scheme):
    loaded = settings_with(
        SECRET_KEY="k", DATABASE_URL=f"{scheme}://desk:pw@db.internal:3307/helpdesk"
    )
    assert loaded["engine"] == "django.db.backends.mysql"
    assert loaded["name"] == "helpdesk"
    assert loaded["options"]["charset"] == "utf8mb4"
    assert loaded["options"]["collation"] == "utf8mb4_unicode_ci"
    assert "STRICT_TRANS_TABLES" in loaded["options"]["init_command"]
    assert loaded["test"]["CHARSET"] == "utf8mb4"
    assert loaded["test"]["COLLATION"] == "utf8mb4_unicode_ci"


def test_connection_reuse_is_configurable():
    loaded = settings_with(
        SECRET_KEY="k",
        DATABASE_URL="mysql://root@127.0.0.1/helpdesk",
        CONN_MAX_AGE="60",
        CONN_HEALTH_CHECKS="false",
    )
    assert loaded["conn_max_age"] == 60
    assert loaded["conn_health_checks"] is False


def test_redis_url_switches_channels_to_redis():
    loaded = settings_with(SECRET_KEY="k", REDIS_URL="redis://127.0.0.1:6379/2")
    assert loaded["layer"] == "channels_redis.core.RedisChannelLayer"
    # Room for several seconds of pushes per daphne process before frames are dropped.
    assert loaded["layer_config"] == {"hosts": ["redis://127.0.0.1:6379/2"], "capacity": 2000}


def test_manage_py_reports_configuration_errors_in_one_line():
    environment = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    environment["ENV_FILE"] = "/dev/null"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Configuration error: SECRET_KEY must be set when DEBUG is off (see .env.example)."
    )
