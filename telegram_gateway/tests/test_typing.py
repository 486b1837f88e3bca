"""Agents' typing shown to clients as Telegram's "typing…": console frames through the
real consumer, the channel layer, and the delivery worker's sendChatAction to the
emulator (flood limits on), paced with the replies.
"""

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone

from conversations import events, services
from conversations.models import Chat, Client, Session
from conversations.tests.test_console_live import connected, next_events, open_console
from conversations.tests.test_console_redis import redis_layer  # noqa: F401 (a fixture)
from telegram_gateway.tests.test_unreachable import bot_on_this_loop, eventually

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
def fresh_layer(settings):
    """A channel layer of the test's own, on the test's loop (the consumer and the
    worker share it, as in `manage.py serve`)."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def agents(make_user):
    return make_user("cs1@helpdesk.com", name="CS One"), make_user("cs2@helpdesk.com")


@database_sync_to_async
def open_session(emulator, agent, user_id: int, **client_fields) -> Session:
    emulator.add_user(user_id, f"Client {user_id}")
    client = Client.objects.create(telegram_id=str(user_id), name="Rina", **client_fields)
    return Session.objects.create(client=client, cs=agent)


def typing(session: Session) -> dict:
    return {"action": "typing", "session_id": session.pk}


def actions(emulator, chat_id: int | None = None) -> list:
    return emulator.sent(chat_id, "sendChatAction")


async def test_an_agents_typing_reaches_the_clients_chat(emulator, bot_token, agents):
    cs1, _ = agents
    session = await open_session(emulator, cs1, 8001)
    await open_session(emulator, cs1, 8002)  # another chat of the agent: never signalled
    console = await connected(cs1)

    async with bot_on_this_loop(emulator, bot_token):
        await console.send_json_to(typing(session))
        (action,) = await emulator.wait_for_sent_async(method="sendChatAction", timeout=5)

    assert action.chat_id == 8001
    assert action.params["action"] == "typing"
    assert actions(emulator, 8002) == []
    await console.disconnect()


async def test_ten_frames_in_two_seconds_give_one_action(emulator, bot_token, agents):
    cs1, _ = agents
    session = await open_session(emulator, cs1, 8003)
    console = await connected(cs1)

    async with bot_on_this_loop(emulator, bot_token):
        for _ in range(10):  # a keystroke every 0.2 s
            await console.send_json_to(typing(session))
            await asyncio.sleep(0.2)
        await asyncio.sleep(1)
        assert len(actions(emulator, 8003)) == 1
        await asyncio.sleep(1.2)  # 4 s after the first: "typing…" is renewed
        await console.send_json_to(typing(session))
        await emulator.wait_for_sent_async(2, method="sendChatAction", timeout=5)

    first, second = actions(emulator, 8003)
    assert second.timestamp - first.timestamp >= 4
    await console.disconnect()


async def test_no_action_for_another_agents_session(emulator, bot_token, agents, admin_user):
    cs1, cs2 = agents
    session = await open_session(emulator, cs1, 8004)
    intruder = await connected(cs2)
    anonymous, _, _ = await open_console(None)

    async with bot_on_this_loop(emulator, bot_token):
        await intruder.send_json_to(typing(session))
        assert (await next_events(intruder, "error"))["message"] == "No such session."
        await intruder.send_json_to({"action": "typing", "session_id": 8004})
        assert (await next_events(intruder, "error"))["message"] == "No such session."
        assert (await anonymous.receive_output(timeout=1))["code"] == 4401
        await asyncio.sleep(1)
        assert actions(emulator) == []
        # An admin may answer any session, so its typing shows.
        admin = await connected(admin_user)
        await admin.send_json_to(typing(session))
        (action,) = await emulator.wait_for_sent_async(method="sendChatAction", timeout=5)

    assert action.chat_id == 8004
    await intruder.disconnect()
    await admin.disconnect()


async def test_no_action_for_an_ended_session_or_an_unreachable_client(emulator, bot_token, agents):
    cs1, _ = agents
    ended = await open_session(emulator, cs1, 8005)
    await database_sync_to_async(services.session_end)(session=ended)
    blocked = await open_session(emulator, cs1, 8006, unreachable_since=timezone.now())
    console = await connected(cs1)

    async with bot_on_this_loop(emulator, bot_token):
        await console.send_json_to(typing(ended))
        await console.send_json_to(typing(blocked))
        assert await console.receive_nothing(timeout=1)  # nobody to show it to: no error
        await asyncio.sleep(0.5)

    assert actions(emulator) == []
    await console.disconnect()


async def test_replies_and_typing_together_get_no_429(emulator, bot_token, agents):
    cs1, _ = agents
    sessions = [await open_session(emulator, cs1, 8100 + n) for n in range(20)]
    console = await connected(cs1)
    send = database_sync_to_async(services.chat_send)
    replies = [
        await send(session=session, agent=cs1, text=f"part {n}")
        for session in sessions
        for n in (1, 2)
    ]

    async with bot_on_this_loop(emulator, bot_token):
        for session in sessions:  # while the worker sends the replies
            await console.send_json_to(typing(session))
        await eventually(
            lambda: (
                Chat.objects.filter(pk__in=[r.pk for r in replies], delivery_status="SENT").count()
                == len(replies)
            ),
            timeout=30,
        )
        await emulator.wait_for_sent_async(20, method="sendChatAction", timeout=10)

    assert emulator.rate_limited == 0
    assert sorted(a.chat_id for a in actions(emulator)) == [8100 + n for n in range(20)]
    await console.disconnect()


async def test_typing_does_not_hold_up_the_reply_it_announces(emulator, bot_token, agents):
    cs1, _ = agents
    session = await open_session(emulator, cs1, 8007)
    console = await connected(cs1)

    async with bot_on_this_loop(emulator, bot_token):
        await console.send_json_to(typing(session))
        (action,) = await emulator.wait_for_sent_async(method="sendChatAction", timeout=5)
        await database_sync_to_async(services.chat_send)(session=session, agent=cs1, text="hi")
        (reply,) = await emulator.wait_for_sent_async(method="sendMessage", timeout=5)

    # Holding the chat's slot would have made the reply wait a whole second.
    assert reply.timestamp - action.timestamp < 0.9
    await console.disconnect()


async def test_stale_requests_and_bot_api_errors_are_dropped(emulator, bot_token, agents):
    cs1, _ = agents
    first = await open_session(emulator, cs1, 8008)
    second = await open_session(emulator, cs1, 8009)
    console = await connected(cs1)
    layer = get_channel_layer()

    async with bot_on_this_loop(emulator, bot_token):
        stale = {"type": "chat.action", "telegram_chat_id": 8009, "action": "typing"}
        await layer.send(events.CHAT_ACTIONS_CHANNEL, {**stale, "sent_at": time.time() - 10})
        await layer.send(events.CHAT_ACTIONS_CHANNEL, {"type": "chat.action"})  # malformed
        emulator.fail_next("sendChatAction", status=500)
        await console.send_json_to(typing(first))
        await eventually(lambda: emulator.requests("sendChatAction") == 1, timeout=5)
        await console.send_json_to(typing(second))  # the worker goes on
        (action,) = await emulator.wait_for_sent_async(method="sendChatAction", timeout=5)

    assert action.chat_id == 8009
    assert emulator.requests("sendChatAction") == 2
    await console.disconnect()


async def test_without_a_channel_layer_the_worker_still_delivers(
    emulator, bot_token, agents, settings
):
    cs1, _ = agents
    session = await open_session(emulator, cs1, 8010)
    settings.CHANNEL_LAYERS = {}

    async with bot_on_this_loop(emulator, bot_token):
        reply = await database_sync_to_async(services.chat_send)(
            session=session, agent=cs1, text="hello"
        )
        await eventually(lambda: Chat.objects.filter(pk=reply.pk, delivery_status="SENT").exists())

    assert actions(emulator) == []


@pytest.mark.usefixtures("redis_layer")
async def test_typing_crosses_processes_over_redis(emulator, agents, start_worker):
    """As deployed: consoles in daphne, the worker in `runbot`, the layer in Redis."""
    cs1, _ = agents
    session = await open_session(emulator, cs1, 8011)
    console = await connected(cs1)
    start_worker()  # its own thread and event loop

    await asyncio.sleep(0.5)  # the worker is listening
    await console.send_json_to(typing(session))
    (action,) = await emulator.wait_for_sent_async(method="sendChatAction", timeout=10)

    assert action.chat_id == 8011
    await console.disconnect()
