"""The desk's notices on the wire: durable through a Bot API outage, and all replaceable.

The real bot (poller and delivery worker) against the emulator over HTTP.
"""

import json
import logging
import time

import pytest
from django.db import OperationalError

from accounts.models import User
from conversations.bot_texts import DEFAULT_TEXTS, PLACEHOLDERS
from conversations.models import Chat, Session
from conversations.services import agent_presence_set, session_transfer
from telegram_gateway.tests.conftest import wait_until

# What nginx in front of the Bot API serves when its upstream is down.
NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
# The outage of the report lasted ten seconds; four exercise the same path (every
# first attempt and its first retries fail, JSON and HTML alike) in a shorter run.
OUTAGE_SECONDS = 4


def retrying(call, attempts: int = 50):
    """Call a service beside the running bot: SQLite's shared test database refuses a
    write while the bot's thread holds a table (MariaDB waits for the lock instead)."""
    for _ in range(attempts - 1):
        try:
            return call()
        except OperationalError:
            time.sleep(0.05)
    return call()


def client_chats():
    return Chat.objects.filter(sender_type=Chat.SenderType.CLIENT)


def test_no_notice_is_lost_while_the_bot_api_answers_502(emulator, running_bot, caplog):
    caplog.set_level(logging.WARNING)
    clients = range(7000, 7050)
    for user in clients:
        emulator.add_user(user, f"Client {user}", language_code="en")
    for _ in range(1000):  # more than the outage's calls: it ends by the clock below
        emulator.fail_next("sendMessage", 502, description="Bad Gateway")
        emulator.fail_next("sendMessage", 502, body=NGINX_502)
    outage_started = time.monotonic()

    for user in clients:
        emulator.inject_message(user, "hello?")
    wait_until(lambda: client_chats().count() == 50)
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - outage_started)))
    failed_calls = emulator.stats()["errors"].get("502", 0)
    emulator.clear_faults()

    assert failed_calls >= 50  # every client's first attempt met the outage
    notices = emulator.wait_for_sent(50, method="sendMessage", timeout=30)
    wait_until(lambda: not Chat.objects.filter(is_notice=True).exclude(delivery_status="SENT"))
    time.sleep(1.5)  # long enough for a duplicate to show up
    notices = emulator.sent(method="sendMessage")
    assert sorted(record.chat_id for record in notices) == list(clients)  # each once
    assert {record.text for record in notices} == {
        DEFAULT_TEXTS["en"]["queued"].format(position=n) for n in range(1, 51)
    }
    unhandled = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert unhandled == []


def replaced(language: str, key: str) -> str:
    """A replacement naming its key and using every placeholder the key offers."""
    values = " ".join(f"{{{name}}}" for name in sorted(PLACEHOLDERS[key]))
    return f"[{language}:{key}] {values}".strip()


@pytest.fixture
def texts_file(tmp_path, settings):
    path = tmp_path / "texts.json"
    texts = {
        language: {key: replaced(language, key) for key in PLACEHOLDERS}
        for language in DEFAULT_TEXTS
    }
    path.write_text(json.dumps(texts), encoding="utf-8")
    settings.TELEGRAM_TEXTS_FILE = str(path)
    settings.TELEGRAM_CHAT_SEND_INTERVAL = 0.05  # a whole conversation in a few seconds
    return path


def test_every_text_a_client_hears_comes_from_the_texts_file(
    texts_file, emulator, running_bot, make_user
):
    ann, budi, cara, dewi = 9001, 9002, 9003, 9004
    emulator.add_user(ann, "Ann", language_code="en-GB")
    emulator.add_user(budi, "Budi", language_code="id")
    emulator.add_user(cara, "Cara", language_code="en")
    emulator.add_user(dewi, "Dewi", language_code="id")
    first = make_user("cs1@helpdesk.com", name="Agent One")
    second = make_user("cs2@helpdesk.com", name="Agent Two")

    # Greeted, then queued: nobody is online.
    for user in (ann, budi):
        emulator.inject_message(user, "/start")
    wait_until(lambda: Session.objects.filter(cs=None, status="ACTIVE").count() == 2)
    # Assigned from the queue, then transferred (as the console would, beside the bot).
    retrying(lambda: agent_presence_set(agent=first, online=True))
    retrying(lambda: User.objects.filter(pk=second.pk).update(status_online=True))
    for session in Session.objects.filter(status="ACTIVE"):
        retrying(lambda session=session: session_transfer(session=session, to_agent=second))
    # Unsupported, ended, and nothing to end: one at a time, as a person would.
    for count, send in enumerate(
        (
            lambda user: emulator.inject_poll(user, "Which?", ["a", "b"]),
            lambda user: emulator.inject_message(user, "/end"),
            lambda user: emulator.inject_message(user, "/end"),
        ),
        start=5,
    ):
        for user in (ann, budi):
            send(user)
        wait_until(lambda count=count: Chat.objects.filter(is_notice=True).count() == 2 * count)
    # Connected at once: agents are online.
    for user in (cara, dewi):
        emulator.inject_message(user, "hi")

    emulator.wait_for_sent(2 * 7 + 2, method="sendMessage", timeout=30)
    time.sleep(0.5)
    heard = {
        user: [r.text for r in emulator.sent(chat_id=user, method="sendMessage")]
        for user in (ann, budi, cara, dewi)
    }
    order = ["greeting", "queued", "assigned", "transferred", "unsupported", "ended"]
    expected = {
        ann: [*order, "nothing_to_end"],
        budi: [*order, "nothing_to_end"],
        cara: ["connected"],
        dewi: ["connected"],
    }
    language = {ann: "en", budi: "id", cara: "en", dewi: "id"}
    for user, keys in expected.items():
        assert [text.split("]")[0] + "]" for text in heard[user]] == [
            f"[{language[user]}:{key}]" for key in keys
        ]
    # The placeholders were filled in, and nothing is left in the old wording.
    assert heard[ann][0] == "[en:greeting] Ann"
    assert heard[budi][1] == "[id:queued] 2"
    assert heard[ann][2] == "[en:assigned] Agent One"
    assert heard[budi][3] == "[id:transferred] Agent Two"
    everything = [text for texts in heard.values() for text in texts]
    assert all(text.startswith("[") for text in everything)
    assert len(emulator.sent(method="sendMessage")) == len(everything)
