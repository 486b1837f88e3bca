"""The recorder's console pushes: a handler waits for its message's commit only; the
push follows beside the next batch, in commit order, merging what waits meanwhile."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from accounts.models import User
from conversations import events
from conversations.models import Chat, Client, Session
from conversations.services import IncomingMessage
from telegram_gateway.db import ChangesPusher
from telegram_gateway.recorder import record_incoming

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def agent(online_agent):
    return online_agent


async def frame(layer, channel: str) -> list[dict]:
    return (await asyncio.wait_for(layer.receive(channel), 5))["events"]


@pytest.mark.asyncio
async def test_a_recorded_message_reaches_its_agents_console(agent):
    layer = get_channel_layer()
    await layer.group_add(events.agent_group(agent.pk), "console-of-cs1")

    recorded = await record_incoming(
        IncomingMessage(
            telegram_id="7001",
            name="Rina",
            username=None,
            telegram_message_id=11,
            message_type=Chat.MessageType.TEXT,
            text="Where is my order?",
        )
    )

    pushed = await frame(layer, "console-of-cs1")
    chats = [e["chat"] for e in pushed if e["kind"] == "chat"]
    sessions = [e["session"] for e in pushed if e["kind"] == "session"]
    assert recorded.chat.pk in [chat["id"] for chat in chats]
    assert [session["id"] for session in sessions] == [recorded.session.pk]


@database_sync_to_async
def three_messages(agent: User) -> list[str]:
    client = Client.objects.create(telegram_id="7002", name="Budi")
    session = Session.objects.create(client=client, cs=agent)
    return [
        Chat.objects.create(session=session, sender_type=Chat.SenderType.CLIENT, message=text).pk
        for text in ("one", "two", "three")
    ]


@pytest.mark.asyncio
async def test_pushes_go_out_in_order_and_those_waiting_go_out_together(agent):
    layer = get_channel_layer()
    await layer.group_add(events.agent_group(agent.pk), "console-of-cs1")
    first, second, third = await three_messages(agent)
    pusher = ChangesPusher()

    pusher.push(events.Changes(chat_ids={first}))
    await asyncio.sleep(0)  # the first push is under way: the next two wait for it
    pusher.push(events.Changes(chat_ids={second}))
    pusher.push(events.Changes(chat_ids={third}))

    pushed = [await frame(layer, "console-of-cs1"), await frame(layer, "console-of-cs1")]
    assert [[e["chat"]["id"] for e in events_ if e["kind"] == "chat"] for events_ in pushed] == [
        [first],
        [second, third],
    ]
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive("console-of-cs1"), 0.3)


def test_merged_changes_carry_everything_both_noted():
    earlier = events.Changes(chat_ids={"c1"}, session_ids={"s1"}, presence={"a1": True})
    earlier.previous_agents["s1"].add("a0")
    later = events.Changes(chat_ids={"c2"}, new_chat_ids={"c2"}, queue=True)
    later.presence["a1"] = False
    later.previous_agents["s1"].add("a2")

    earlier.merge(later)

    assert earlier.chat_ids == {"c1", "c2"} and earlier.new_chat_ids == {"c2"}
    assert earlier.queue and earlier.presence == {"a1": False}  # the later state wins
    assert earlier.previous_agents["s1"] == {"a0", "a2"}
    assert not events.Changes() and earlier
