"""Blocked clients through the real bot and the Bot API emulator over HTTP.

A blocked client's updates are confirmed (the emulator keeps none pending) but open
no session and store no chat; the client hears once a day that it cannot write.
"""

import time
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from conversations.bot_texts import DEFAULT_TEXTS
from conversations.models import Chat, Client, ClientBlockEvent, Session
from conversations.services import client_block, client_unblock
from conversations.tests.console_helpers import go_online
from telegram_gateway.tests.conftest import wait_until

RINA = 9501


def retrying(call, attempts: int = 50):
    """Call a service beside the running bot: SQLite's shared test database refuses a
    write while the bot's thread holds a table (MariaDB waits for the lock instead)."""
    for _ in range(attempts - 1):
        try:
            return call()
        except OperationalError:
            time.sleep(0.05)
    return call()


@pytest.fixture
def rina(emulator, transactional_db):
    emulator.add_user(RINA, "Rina", language_code="id")
    return Client.objects.create(telegram_id=str(RINA), name="Rina", language_code="id")


@pytest.fixture
def fast_sends(settings):
    settings.TELEGRAM_CHAT_SEND_INTERVAL = 0.05


def client_chats(client: Client):
    return Chat.objects.filter(session__client=client, sender_type=Chat.SenderType.CLIENT)


def texts_to(emulator, chat_id: int) -> list[str]:
    return [record.text for record in emulator.sent(chat_id, method="sendMessage")]


def confirmed(emulator) -> bool:
    return not emulator.pending_updates()


def test_a_blocked_clients_messages_are_confirmed_counted_and_answered_once(
    emulator, running_bot, rina, cs_user, fast_sends
):
    client_block(client=rina, by=cs_user, reason="spam")
    for n in range(5):
        emulator.inject_message(RINA, f"buy now {n}")

    wait_until(lambda: Client.objects.get(pk=rina.pk).held_back_count == 5)
    wait_until(lambda: confirmed(emulator))
    emulator.wait_for_sent(1, chat_id=RINA, method="sendMessage")
    assert not client_chats(rina).exists()
    assert not Session.objects.filter(client=rina, status=Session.Status.ACTIVE).exists()

    emulator.inject_message(RINA, "hello?")  # a later batch, the same day
    wait_until(lambda: Client.objects.get(pk=rina.pk).held_back_count == 6)
    wait_until(lambda: confirmed(emulator))
    time.sleep(1)  # long enough for a second notice to show up
    assert texts_to(emulator, RINA) == [DEFAULT_TEXTS["id"]["blocked"]]
    assert not client_chats(rina).exists()


def test_the_notice_comes_again_a_day_later(emulator, running_bot, rina, cs_user, fast_sends):
    client_block(client=rina, by=cs_user)
    Client.objects.filter(pk=rina.pk).update(block_notice_at=timezone.now() - timedelta(hours=25))
    emulator.inject_message(RINA, "still here")
    emulator.wait_for_sent(1, chat_id=RINA, method="sendMessage")
    assert texts_to(emulator, RINA) == [DEFAULT_TEXTS["id"]["blocked"]]


def test_unblocking_restores_normal_service(emulator, running_bot, rina, cs_user, fast_sends):
    go_online(cs_user)
    client_block(client=rina, by=cs_user, reason="spam")
    emulator.inject_message(RINA, "blocked words")
    wait_until(lambda: Client.objects.get(pk=rina.pk).held_back_count == 1)

    retrying(lambda: client_unblock(client=Client.objects.get(pk=rina.pk), by=cs_user))
    emulator.inject_message(RINA, "sorry, I need help")

    (chat,) = wait_until(lambda: list(client_chats(rina)))
    assert chat.message == "sorry, I need help"
    assert chat.session.status == Session.Status.ACTIVE and chat.session.cs == cs_user
    emulator.wait_for_sent(2, chat_id=RINA, method="sendMessage")
    assert texts_to(emulator, RINA) == [
        DEFAULT_TEXTS["id"]["blocked"],
        DEFAULT_TEXTS["id"]["connected"],
    ]


def test_a_block_whose_end_has_passed_blocks_nothing(emulator, running_bot, rina, cs_user):
    client_block(client=rina, by=cs_user, until=timezone.now() - timedelta(minutes=1))
    emulator.inject_message(RINA, "hello")
    (chat,) = wait_until(lambda: list(client_chats(rina)))
    assert chat.message == "hello"
    assert Client.objects.get(pk=rina.pk).held_back_count == 0


def test_blocking_ends_the_active_session_and_every_change_is_recorded(
    emulator, running_bot, rina, cs_user, admin_user
):
    go_online(cs_user)
    emulator.inject_message(RINA, "first")
    (chat,) = wait_until(lambda: list(client_chats(rina)))
    until = timezone.now() + timedelta(days=1)

    retrying(lambda: client_block(client=rina, by=cs_user, reason="rude", until=until))
    assert Session.objects.get(pk=chat.session_id).status == Session.Status.ENDED
    emulator.inject_message(RINA, "while blocked")
    wait_until(lambda: Client.objects.get(pk=rina.pk).held_back_count == 1)
    retrying(lambda: client_unblock(client=rina, by=admin_user))

    records = ClientBlockEvent.objects.filter(client=rina).order_by("created_at")
    assert [(r.action, r.by, r.reason, r.until) for r in records] == [
        ("BLOCK", cs_user, "rude", until),
        ("UNBLOCK", admin_user, "", None),
    ]
    assert client_chats(rina).count() == 1


def test_a_blocked_clients_commands_and_odd_messages_get_only_the_daily_notice(
    emulator, running_bot, rina, cs_user, fast_sends
):
    client_block(client=rina, by=cs_user)
    emulator.inject_message(RINA, "/end")
    emulator.inject_poll(RINA, "Which one?", ["a", "b"])
    emulator.inject_dice(RINA)

    wait_until(lambda: Client.objects.get(pk=rina.pk).held_back_count == 3)
    wait_until(lambda: confirmed(emulator))
    emulator.wait_for_sent(1, chat_id=RINA, method="sendMessage")
    time.sleep(1)  # long enough for "nothing to end" or "unsupported" to show up
    assert texts_to(emulator, RINA) == [DEFAULT_TEXTS["id"]["blocked"]]
