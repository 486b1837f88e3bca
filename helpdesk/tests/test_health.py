"""/healthz answers while the process runs; /readyz says which dependency is missing."""

import os
import socket
import time

import pytest
from django.db import OperationalError, connection
from django.test import Client

from helpdesk import health
from helpdesk.tests.processes import database_unreachable, free_port
from telegram_emulator import EmulatorThread

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_SPARE_DB = 11  # 13: the console's Redis tests, 5: the bench, 2: settings tests
BOT_TOKEN = "123456:HEALTH-SECRET-TOKEN"
HOST = "helpdesk.example.com"


@pytest.fixture(autouse=True)
def plain_setup(settings):
    """DEBUG off, one allowed host, no Redis, no bot: what each test then changes."""
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [HOST]
    settings.REDIS_URL = ""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.TELEGRAM_BOT_TOKEN = ""
    settings.SANDBOX = False
    health.telegram_cache_clear()
    yield
    health.telegram_cache_clear()


def probe(path: str, client: Client | None = None):
    return (client or Client()).get(path, HTTP_HOST=HOST)


def assert_ready(response, **details: str) -> None:
    body = response.json()
    for name, detail in details.items():
        assert body[name] == detail, body
    assert set(body) == {"database", "redis", "channel_layer", "telegram"}
    assert response.status_code == (200 if all(d in READY for d in body.values()) else 503)
    assert "no-store" in response["Cache-Control"]
    assert BOT_TOKEN not in response.content.decode()


READY = {"ok", "not configured", "sandbox"}


@pytest.mark.django_db
def test_healthz_answers_ok_without_touching_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = probe("/healthz")

    assert response.status_code == 200
    assert response.content == b"ok"
    assert "no-store" in response["Cache-Control"]
    assert "Set-Cookie" not in response.headers


@pytest.mark.django_db
def test_healthz_is_the_same_for_anyone_signed_in_or_not(cs_user, make_user, admin_user):
    other_cs = make_user("cs2@helpdesk.com")
    for user in (None, cs_user, other_cs, admin_user):
        client = Client()
        if user is not None:
            client.force_login(user)
        assert probe("/healthz", client).content == b"ok"
        assert probe("/readyz", client).status_code == 200


@pytest.mark.django_db
def test_probes_keep_to_allowed_hosts():
    assert Client().get("/healthz", HTTP_HOST="evil.example.net").status_code == 400


@pytest.mark.django_db
def test_probes_over_plain_http_are_not_sent_to_https(settings):
    settings.SECURE_SSL_REDIRECT = True

    assert probe("/healthz").status_code == 200
    assert probe("/readyz").status_code == 200
    assert probe("/login/").status_code == 301


@pytest.mark.django_db
def test_a_probe_needs_no_csrf_token_and_may_use_head():
    client = Client(enforce_csrf_checks=True)
    assert client.head("/healthz", HTTP_HOST=HOST).status_code == 200
    assert client.post("/readyz", HTTP_HOST=HOST).status_code == 405


@pytest.mark.django_db
def test_readyz_is_ready_on_the_embedded_parts():
    response = probe("/readyz")

    assert response.status_code == 200
    assert_ready(
        response,
        database="ok",
        redis="not configured",
        channel_layer="ok",
        telegram="not configured",
    )


@pytest.mark.django_db
def test_readyz_calls_the_sandbox_ready(settings):
    settings.SANDBOX = True

    assert_ready(probe("/readyz"), telegram="sandbox")


@pytest.fixture
def database_down(monkeypatch):
    """The database refuses connections: on MariaDB for real (a closed port), on SQLite
    (whose in-memory test database cannot be closed and reopened) at the cursor."""
    if connection.vendor == "mysql":
        with database_unreachable():
            yield
        return

    def refuse(*args, **kwargs):
        raise OperationalError("unable to open database file")

    monkeypatch.setattr(connection, "cursor", refuse)
    yield


@pytest.mark.django_db(transaction=True)
def test_readyz_names_the_database_when_it_is_down(database_down):
    response = Client(raise_request_exception=False).get("/readyz", HTTP_HOST=HOST)

    assert response.status_code == 503
    assert_ready(response, database="unavailable (OperationalError)", channel_layer="ok")


def redis_required() -> None:
    try:
        socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1).close()
    except OSError:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(
                f"Redis is required (REQUIRE_REDIS=1) but {REDIS_HOST}:{REDIS_PORT} is down"
            )
        pytest.skip(f"no Redis at {REDIS_HOST}:{REDIS_PORT}")


def use_redis(settings, url: str) -> None:
    settings.REDIS_URL = url
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [url]}}
    }


@pytest.mark.django_db
def test_readyz_is_ready_on_redis(settings):
    redis_required()
    use_redis(settings, f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_SPARE_DB}")

    response = probe("/readyz")

    assert response.status_code == 200
    assert_ready(response, database="ok", redis="ok", channel_layer="ok")


@pytest.mark.django_db
def test_readyz_names_redis_when_nothing_listens(settings):
    use_redis(settings, f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0")

    started = time.monotonic()
    response = probe("/readyz")

    assert time.monotonic() - started < 5
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["redis"].startswith("unavailable") and body["channel_layer"] != "ok"
    assert "hunter2" not in response.content.decode()


@pytest.fixture
def telegram():
    with EmulatorThread([BOT_TOKEN]) as running:
        yield running


@pytest.mark.django_db
def test_readyz_asks_telegram_once_per_half_minute(settings, telegram):
    settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_API_BASE = BOT_TOKEN, telegram.base_url

    first, second = probe("/readyz"), probe("/readyz")

    assert_ready(first, telegram="ok")
    assert_ready(second, telegram="ok")
    assert telegram.requests("getMe") == 1


@pytest.mark.django_db
def test_readyz_names_telegram_when_it_rejects_the_token(settings, telegram):
    settings.TELEGRAM_BOT_TOKEN = "654321:REVOKED-SECRET-TOKEN"
    settings.TELEGRAM_API_BASE = telegram.base_url

    response = probe("/readyz")

    assert response.status_code == 503
    assert_ready(response, database="ok", telegram="token rejected")
    assert "REVOKED-SECRET-TOKEN" not in response.content.decode()


@pytest.mark.django_db
def test_readyz_names_telegram_when_it_is_slow_and_answers_in_time(settings, telegram):
    settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_API_BASE = BOT_TOKEN, telegram.base_url
    telegram.delay("getMe", 10)

    started = time.monotonic()
    response = probe("/readyz")

    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response.json()["telegram"] in {"unreachable", "timed out"}


@pytest.mark.django_db
def test_readyz_names_telegram_when_nothing_listens(settings):
    settings.TELEGRAM_BOT_TOKEN = BOT_TOKEN
    settings.TELEGRAM_API_BASE = f"http://127.0.0.1:{free_port()}"

    response = probe("/readyz")

    assert response.status_code == 503
    assert_ready(response, telegram="unreachable")
