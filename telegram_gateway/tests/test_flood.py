"""Flood control: a client writing faster than FLOOD_MAX_MESSAGES per FLOOD_WINDOW.

Through the real bot and the emulator over HTTP (what the client sees), and through
the ingest service with a console open (what the agent sees).
"""

import time
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from conversations import services
from conversations.bot_texts import DEFAULT_TEXTS
from conversations.models import Chat, Client, Session
from conversations.services import IncomingMessage
from conversations.tests.console_helpers import go_online
from conversations.tests.test_console_live import connected, next_events
from telegram_gateway.tests.conftest import wait_until

FLOODER, NEIGHBOUR = 9601, 9602


@pytest.fixture
def flood_limits(settings):
    settings.FLOOD_MAX_MESSAGES = 20
    settings.FLOOD_WINDOW = 60
    settings.TELEGRAM_CHAT_SEND_INTERVAL = 0.05
    return settings


def client_chats(telegram_id: int):
    return Chat.objects.filter(
        session__client__telegram_id=str(telegram_id), sender_type=Chat.SenderType.CLIENT
    )


def test_a_burst_beyond_the_limit_is_held_back_and_told_once(
    emulator, running_bot, cs_user, flood_limits
):
    go_online(cs_user)
    emulator.add_user(FLOODER, "Flo", language_code="en")
    emulator.add_user(NEIGHBOUR, "Nia", language_code="id")
    for n in range(25):
        emulator.inject_message(FLOODER, f"spam {n}")
        if n == 12:
            emulator.inject_message(NEIGHBOUR, "halo, saya perlu bantuan")

    wait_until(lambda: Client.objects.filter(telegram_id=str(FLOODER), held_back_count=5))
    wait_until(lambda: not emulator.pending_updates())
    assert [c.message for c in client_chats(FLOODER).order_by("telegram_message_id")] == [
        f"spam {n}" for n in range(20)
    ]
    (neighbour,) = client_chats(NEIGHBOUR)  # stored with the burst, not after it
    assert neighbour.message == "halo, saya perlu bantuan"
    flooder = Client.objects.get(telegram_id=str(FLOODER))
    assert flooder.flooding_until > timezone.now()

    emulator.wait_for_sent(2, chat_id=FLOODER, method="sendMessage")
    time.sleep(1)  # long enough for a second flood notice to show up
    texts = [r.text for r in emulator.sent(FLOODER, method="sendMessage")]
    assert texts == [DEFAULT_TEXTS["en"]["connected"], DEFAULT_TEXTS["en"]["flooding"]]
    assert Client.objects.get(telegram_id=str(NEIGHBOUR)).held_back_count == 0


def message(telegram_id: str, message_id: int, sent_at=None) -> IncomingMessage:
    return IncomingMessage(
        telegram_id=telegram_id,
        name="Flo",
        username="flo",
        telegram_message_id=message_id,
        message_type=Chat.MessageType.TEXT,
        text=f"spam {message_id}",
        sent_at=sent_at,
        language_code="id",
    )


@pytest.mark.django_db(transaction=True)
def test_the_window_slides_and_a_new_flood_is_told_again(settings, cs_user):
    settings.FLOOD_MAX_MESSAGES, settings.FLOOD_WINDOW = 3, 0.5
    go_online(cs_user)
    record = services.chat_record_incoming_many

    results = record(incomings=[message("7701", n) for n in range(5)])
    assert [r.held_back for r in results] == [False, False, False, True, True]
    # A redelivery of a stored message is not a new one: neither counted nor held back.
    assert not record(incomings=[message("7701", 0)])[0].held_back

    time.sleep(0.6)  # the window passed: the client may write again
    results = record(incomings=[message("7701", n) for n in range(5, 10)])
    assert [r.held_back for r in results] == [False, False, False, True, True]

    session = Session.objects.get(client__telegram_id="7701")
    notices = session.chats.filter(is_notice=True).order_by("created_at")
    assert [c.message for c in notices] == [
        DEFAULT_TEXTS["id"]["connected"],
        DEFAULT_TEXTS["id"]["flooding"],
        DEFAULT_TEXTS["id"]["flooding"],  # the second flood, told again
    ]
    assert Client.objects.get(telegram_id="7701").held_back_count == 4
    assert client_chats(7701).count() == 6


@pytest.mark.django_db(transaction=True)
def test_a_flood_that_goes_on_is_told_once(settings, cs_user):
    settings.FLOOD_MAX_MESSAGES, settings.FLOOD_WINDOW = 2, 60
    go_online(cs_user)
    for n in range(6):  # one batch each, as a client typing fast
        services.chat_record_incoming_many(incomings=[message("7702", n)])
    notices = Chat.objects.filter(session__client__telegram_id="7702", is_notice=True)
    assert [c.message for c in notices.order_by("created_at")] == [
        DEFAULT_TEXTS["id"]["connected"],
        DEFAULT_TEXTS["id"]["flooding"],
    ]
    assert Client.objects.get(telegram_id="7702").held_back_count == 4


@pytest.mark.django_db(transaction=True)
def test_zero_turns_flood_control_off(settings):
    settings.FLOOD_MAX_MESSAGES = 0
    results = services.chat_record_incoming_many(incomings=[message("7703", n) for n in range(30)])
    assert not any(r.held_back for r in results)
    assert client_chats(7703).count() == 30


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_flooding_mark_is_pushed_to_the_console(settings, make_user):
    settings.FLOOD_MAX_MESSAGES, settings.FLOOD_WINDOW = 3, 60
    cs = await database_sync_to_async(make_user)("cs1@helpdesk.com", name="CS One")
    await database_sync_to_async(go_online)(cs)
    console = await connected(cs)
    record = database_sync_to_async(services.chat_record_incoming_many)

    await record(incomings=[message("7704", n) for n in range(3)])
    row = await next_events(console, "session")
    assert "flooding" not in row["html"]
    await record(incomings=[message("7704", 3)])
    while "flooding" not in row["html"]:  # the notice's push may come first
        row = await next_events(console, "session")
    assert '<span class="flooding">flooding</span>' in row["html"]
    await console.disconnect()


@pytest.mark.django_db(transaction=True)
def test_a_blocked_client_is_not_also_marked_flooding(settings, cs_user):
    settings.FLOOD_MAX_MESSAGES = 2
    client = Client.objects.create(telegram_id="7705", name="Flo")
    services.client_block(client=client, by=cs_user, until=timezone.now() + timedelta(hours=1))
    services.chat_record_incoming_many(incomings=[message("7705", n) for n in range(5)])
    client.refresh_from_db()
    assert (client.held_back_count, client.flooding_until) == (5, None)
    notices = Chat.objects.filter(session__client=client, is_notice=True)
    assert [c.message for c in notices] == [DEFAULT_TEXTS["id"]["blocked"]]
