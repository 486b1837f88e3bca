"""/metrics: who may read it, and what the database's figures and the consoles show."""

import asyncio
import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db.models import F
from django.test import Client as HttpClient
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import User
from conversations import services
from conversations.models import Chat, Client, Session
from conversations.tests.test_console_live import connected, incoming, next_events
from helpdesk.tests.processes import database_unreachable

TOKEN = "scrape-secret-0123456789"
HOST = "helpdesk.example.com"

Samples = dict[tuple[str, frozenset], float]


def scrape_response(client: HttpClient | None = None, *, token: str | None = TOKEN, **extra):
    if token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return (client or HttpClient()).get("/metrics", HTTP_HOST=HOST, **extra)


def samples_of(text: str) -> Samples:
    """Every sample of a scrape, keyed by its name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client: HttpClient | None = None) -> Samples:
    response = scrape_response(client)
    assert response.status_code == 200, response.content
    return samples_of(response.content.decode())


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 for a series not yet created (a counter never incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(autouse=True)
def metrics_setup(settings):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [HOST, "testserver"]  # the consoles' test browser
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []


@pytest.mark.django_db
class TestWhoMayRead:
    def test_nobody_when_neither_a_token_nor_addresses_are_set(self, settings):
        settings.METRICS_TOKEN = ""
        assert scrape_response(token=None).status_code == 404
        assert scrape_response(token="").status_code == 404
        assert scrape_response(REMOTE_ADDR="127.0.0.1").status_code == 404

    def test_the_token_opens_it(self):
        response = scrape_response()
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=")
        assert "no-store" in response["Cache-Control"]
        assert "Set-Cookie" not in response.headers
        assert "helpdesk_sessions_active" in response.content.decode()

    def test_no_token_is_asked_for_and_a_wrong_one_refused(self):
        missing = scrape_response(token=None)
        assert missing.status_code == 401
        assert missing["WWW-Authenticate"].startswith("Bearer")
        assert scrape_response(token="scrape-secret-wrong").status_code == 403
        assert scrape_response(token=TOKEN[:-1]).status_code == 403
        basic = scrape_response(token=None, HTTP_AUTHORIZATION=f"Basic {TOKEN}")
        assert basic.status_code in (401, 403)
        assert "helpdesk_" not in missing.content.decode() + basic.content.decode()

    def test_allowed_addresses_need_no_token(self, settings):
        settings.METRICS_TOKEN = ""
        settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]
        for address in ("10.20.30.40", "192.0.2.7", "2001:db8::1"):
            assert scrape_response(token=None, REMOTE_ADDR=address).status_code == 200, address
        for address in ("192.0.2.8", "11.0.0.1", "2001:db9::1"):
            assert scrape_response(token=None, REMOTE_ADDR=address).status_code == 403, address

    def test_a_forwarded_for_header_is_not_an_address(self, settings):
        settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
        response = scrape_response(
            token=None, REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.0.0.1"
        )
        assert response.status_code == 401

    def test_either_the_token_or_an_address_is_enough(self, settings):
        settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
        assert scrape_response(REMOTE_ADDR="203.0.113.9").status_code == 200
        assert scrape_response(token=None, REMOTE_ADDR="10.0.0.1").status_code == 200

    def test_a_signed_in_agent_or_admin_gets_nothing_more(self, cs_user, admin_user):
        for user in (cs_user, admin_user):
            browser = HttpClient()
            browser.force_login(user)
            assert scrape_response(browser, token=None).status_code == 401
            assert scrape_response(browser, token="not-it").status_code == 403

    def test_plain_http_is_not_sent_to_https(self, settings):
        settings.SECURE_SSL_REDIRECT = True
        assert scrape_response().status_code == 200
        assert HttpClient().get("/login/", HTTP_HOST=HOST).status_code == 301

    def test_only_reading(self):
        assert HttpClient().post("/metrics", HTTP_HOST=HOST).status_code == 405
        response = HttpClient().head(
            "/metrics", HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
        )
        assert response.status_code == 200


def client_session(name: str, *, agent: User | None = None, waited: float = 0) -> Session:
    client = Client.objects.create(telegram_id=name, name=name)
    created = timezone.now() - timedelta(seconds=waited)
    return Session.objects.create(client=client, cs=agent, created_at=created)


@pytest.mark.django_db
class TestDatabaseFigures:
    def test_the_queue_and_active_sessions(self, cs_user, make_user):
        online = make_user("cs2@helpdesk.com")
        User.objects.filter(pk=online.pk).update(status_online=True)
        client_session("served", agent=cs_user, waited=900)
        client_session("waiting long", waited=300)
        client_session("waiting", waited=5)
        ended = client_session("ended", waited=4000)
        Session.objects.filter(pk=ended.pk).update(status=Session.Status.ENDED)

        samples = scrape()

        assert value(samples, "helpdesk_sessions_active") == 3
        assert value(samples, "helpdesk_queue_length") == 2
        assert 300 <= value(samples, "helpdesk_queue_oldest_wait_seconds") < 360
        assert value(samples, "helpdesk_agents_online") == 1
        assert value(samples, "helpdesk_metrics_database_up") == 1

    def test_nothing_waiting_is_zero(self):
        samples = scrape()
        assert value(samples, "helpdesk_queue_length") == 0
        assert value(samples, "helpdesk_queue_oldest_wait_seconds") == 0
        assert value(samples, "helpdesk_delivery_backlog", status="pending") == 0
        assert value(samples, "helpdesk_delivery_backlog_oldest_age_seconds") == 0

    def test_the_delivery_backlog(self, cs_user):
        session = client_session("ann", agent=cs_user)
        old, _, claimed, sent = (
            services.chat_send(session=session, agent=cs_user, text=text)
            for text in ("old", "new", "claimed", "sent")
        )
        Chat.objects.filter(pk=old.pk).update(created_at=F("created_at") - timedelta(minutes=10))
        Chat.objects.filter(pk=claimed.pk).update(delivery_status=Chat.DeliveryStatus.SENDING)
        Chat.objects.filter(pk=sent.pk).update(delivery_status=Chat.DeliveryStatus.SENT)

        samples = scrape()

        assert value(samples, "helpdesk_delivery_backlog", status="pending") == 2
        assert value(samples, "helpdesk_delivery_backlog", status="sending") == 1
        assert 600 <= value(samples, "helpdesk_delivery_backlog_oldest_age_seconds") < 660

    def test_a_scrape_costs_the_same_few_queries_however_much_data(
        self, cs_user, django_assert_max_num_queries
    ):
        with django_assert_max_num_queries(3):
            scrape()
        for n in range(30):
            session = client_session(f"client {n}", agent=cs_user if n % 2 else None)
            services.chat_send(session=session, agent=cs_user, text="hello")
        with django_assert_max_num_queries(3):
            samples = scrape()
        assert value(samples, "helpdesk_queue_length") == 15


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_without_the_database_the_processes_own_figures_still_answer():
    with database_unreachable():
        response = scrape_response()
    assert response.status_code == 200
    samples = samples_of(response.content.decode())
    assert value(samples, "helpdesk_metrics_database_up") == 0
    assert ("helpdesk_queue_length", frozenset()) not in samples
    # This process's own counters do not need the database.
    assert (
        "helpdesk_telegram_updates_received_total",
        frozenset({("source", "polling")}),
    ) in samples


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_consoles_connected_and_push_latency(admin_user):
    read = database_sync_to_async(scrape)
    before = await read()
    console = await connected(admin_user)
    during = await read()
    await database_sync_to_async(services.chat_record_incoming)(incoming=incoming("7001", "hello"))
    await next_events(console, "chat")
    await asyncio.sleep(0.05)  # the push's measure is taken once its sends returned
    pushed = await read()
    await console.disconnect()
    after = await read()

    connections = "helpdesk_console_connections"
    assert value(during, connections) == value(before, connections) + 1
    assert value(after, connections) == value(before, connections)
    pushes = "helpdesk_console_push_seconds_count"
    assert value(pushed, pushes) > value(before, pushes)
    assert value(pushed, "helpdesk_console_push_seconds_sum") > value(
        before, "helpdesk_console_push_seconds_sum"
    )


CONNECT_ONE_CONSOLE = """
import os, signal, sys
from helpdesk import metrics
metrics.console_connections.inc()
print("connected", flush=True)
if sys.argv[1] == "crash":
    os.kill(os.getpid(), signal.SIGKILL)
sys.stdin.read()  # stays up, its console connected, until the test closes stdin
"""


@pytest.mark.django_db
def test_a_killed_process_consoles_are_no_longer_counted(settings, monkeypatch, tmp_path):
    """A daphne killed outright ran no exit hook: its consoles must still leave the count,
    while a living process's stay in it."""
    directory = tmp_path / "metrics"
    monkeypatch.setattr("helpdesk.metrics.MULTIPROCESS_DIR", str(directory))
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}

    def console_process(fate: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-c", CONNECT_ONE_CONSOLE, fate],
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if fate != "crash":
            assert process.stdout.readline() == "connected\n"
        return process

    crashed = console_process("crash")
    assert crashed.wait(timeout=30) == -signal.SIGKILL
    living = console_process("live")
    try:
        assert len(list(directory.glob("gauge_livesum_*.db"))) == 2
        assert value(scrape(), "helpdesk_console_connections") == 1
    finally:
        living.stdin.close()
        assert living.wait(timeout=30) == 0  # an orderly exit drops its own
    assert value(scrape(), "helpdesk_console_connections") == 0
