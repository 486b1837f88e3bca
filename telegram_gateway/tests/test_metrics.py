"""What the bot counts, scraped from /metrics after real traffic with the emulator, and
the counts of several real processes added up by a web process's /metrics."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from accounts.models import User
from conversations.models import Chat, Client, Session
from conversations.services import chat_send
from helpdesk.tests.processes import BASE_DIR, mariadb_url, serve_running
from helpdesk.tests.test_metrics import HOST, TOKEN, Samples, samples_of, scrape, value
from telegram_gateway.tests.conftest import wait_until
from telegram_gateway.tests.test_webhook import post, webhook_settings  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
Status = Chat.DeliveryStatus
ANN = 8001


@pytest.fixture(autouse=True)
def metrics_setup(settings):
    settings.ALLOWED_HOSTS = [HOST, "testserver"]
    settings.METRICS_TOKEN = TOKEN


def increase(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def nothing_to_send() -> bool:
    return not Chat.objects.filter(delivery_status__in=[Status.PENDING, Status.SENDING]).exists()


def open_session(emulator, agent: User, user_id: int) -> Session:
    emulator.add_user(user_id, f"Client {user_id}")
    client = Client.objects.create(telegram_id=str(user_id), name=f"Client {user_id}")
    return Session.objects.create(client=client, cs=agent)


def settled(chat: Chat, status: str) -> Chat:
    return wait_until(lambda: Chat.objects.filter(pk=chat.pk, delivery_status=status).first())


def test_a_client_message_by_polling_is_received_stored_and_answered(emulator, running_bot):
    started = time.time()
    before = scrape()
    emulator.add_user(ANN, "Ann")
    emulator.inject_message(ANN, "hello")
    wait_until(lambda: Chat.objects.filter(sender_type="CLIENT").exists())
    wait_until(lambda: Chat.objects.filter(sender_type="CS").exists() and nothing_to_send())
    after = scrape()

    notices = Chat.objects.filter(sender_type="CS", delivery_status=Status.SENT).count()
    assert notices >= 1  # nobody is online: the client hears it is queued
    assert (
        increase(before, after, "helpdesk_telegram_updates_received_total", source="polling") == 1
    )
    assert increase(before, after, "helpdesk_client_messages_stored_total") == 1
    assert increase(before, after, "helpdesk_deliveries_sent_total") == notices
    sends = "helpdesk_telegram_api_seconds_count"
    assert increase(before, after, sends, method="sendMessage") == notices
    assert value(after, "helpdesk_telegram_api_last_success_timestamp_seconds") >= started
    assert value(after, "helpdesk_telegram_update_last_received_timestamp_seconds") >= started
    assert value(after, "helpdesk_queue_length") == 1
    assert value(after, "helpdesk_sessions_active") == 1


def test_a_client_message_by_webhook_is_counted_as_such(client, webhook_settings, emulator):  # noqa: F811
    before = scrape()
    assert post(client, emulator.inject_message(ANN, "via webhook")).status_code == 200
    after = scrape()

    assert (
        increase(before, after, "helpdesk_telegram_updates_received_total", source="webhook") == 1
    )
    assert (
        increase(before, after, "helpdesk_telegram_updates_received_total", source="polling") == 0
    )
    assert increase(before, after, "helpdesk_client_messages_stored_total") == 1


def test_sends_sent_retried_and_failed_by_reason(emulator, agent, start_worker):
    failed = "helpdesk_deliveries_failed_total"
    before = scrape()
    start_worker()

    emulator.fail_next("sendMessage", status=429, retry_after=1)
    settled(chat_send(session=open_session(emulator, agent, 9201), agent=agent, text="a"), "SENT")
    emulator.fail_next("sendMessage", status=502)
    settled(chat_send(session=open_session(emulator, agent, 9202), agent=agent, text="b"), "SENT")
    emulator.block_user(9203)
    blocked = open_session(emulator, agent, 9203)
    settled(chat_send(session=blocked, agent=agent, text="c"), "FAILED")
    stranger = Client.objects.create(telegram_id="424242", name="Unknown to Telegram")
    unknown = Session.objects.create(client=stranger, cs=agent)
    settled(chat_send(session=unknown, agent=agent, text="d"), "FAILED")
    after = scrape()

    assert increase(before, after, "helpdesk_deliveries_sent_total") == 2
    assert increase(before, after, failed, reason="rate_limited", outcome="retried") == 1
    assert increase(before, after, failed, reason="server_error", outcome="retried") == 1
    assert increase(before, after, failed, reason="blocked", outcome="failed") == 1
    assert increase(before, after, failed, reason="bad_request", outcome="failed") == 1
    failures = sum(v for (name, _), v in after.items() if name == failed)
    assert failures - sum(v for (name, _), v in before.items() if name == failed) == 4
    assert (
        increase(before, after, "helpdesk_telegram_rate_limited_total", method="sendMessage") == 1
    )
    # Every call is timed, refused or not: 2 sent, 2 retried, 2 refused for good.
    assert increase(before, after, "helpdesk_telegram_api_seconds_count", method="sendMessage") == 6
    assert value(after, "helpdesk_delivery_backlog", status="pending") == 0


@pytest.mark.mariadb
def test_a_web_process_adds_up_every_process_counts(emulator, bot_token, agent, tmp_path: Path):
    """Two `deliver` processes, one after the other, each send one reply; then `serve`,
    sharing their PROMETHEUS_MULTIPROC_DIR, shows both in its /metrics."""
    shared = {
        **os.environ,
        "ENV_FILE": "/dev/null",
        "DEBUG": "false",
        "SECRET_KEY": "a-production-like-key-long-enough-for-hs256-tokens",
        "DATABASE_URL": mariadb_url(),
        "ALLOW_SEED_PASSWORDS": "true",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "PYTHONUNBUFFERED": "1",
    }
    session = open_session(emulator, agent, 9301)
    for text in ("from the first", "from the second"):
        chat = chat_send(session=session, agent=agent, text=text)
        deliver = subprocess.Popen(
            [sys.executable, "manage.py", "deliver"],
            cwd=BASE_DIR,
            env={**shared, "TELEGRAM_API_BASE": emulator.base_url, "TELEGRAM_BOT_TOKEN": bot_token},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until(lambda c=chat: Chat.objects.filter(pk=c.pk, delivery_status="SENT"), 60)
        finally:
            deliver.send_signal(signal.SIGTERM)
            assert deliver.wait(timeout=30) == 0

    web = {**shared, "SANDBOX": "false", "TELEGRAM_BOT_TOKEN": "", "METRICS_TOKEN": TOKEN}
    web["ALLOWED_HOSTS"] = "127.0.0.1"

    def metrics_text(base: str) -> str | None:
        request = urllib.request.Request(
            f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.read().decode()
        except OSError:
            return None

    with serve_running(web, tmp_path / "serve.log", metrics_text) as base:
        samples = samples_of(metrics_text(base))

    assert value(samples, "helpdesk_deliveries_sent_total") == 2
    assert value(samples, "helpdesk_telegram_api_seconds_count", method="sendMessage") == 2
    assert value(samples, "helpdesk_console_connections") == 0
    assert value(samples, "helpdesk_sessions_active") == 1
