"""A client who blocked the bot: Telegram's 403 marks it unreachable, the console hears
of it live, new replies are refused, and its next message makes it reachable again.

The real bot (delivery worker and poller) runs on the test's event loop, as `manage.py
serve` runs it beside the consoles, against the Bot API emulator over HTTP.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest
from channels.db import database_sync_to_async
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from accounts.models import User
from conversations import services
from conversations.models import Chat, Client, Session
from conversations.tests.test_console_live import connected, incoming, next_events
from telegram_gateway.bot import build_bot, build_dispatcher
from telegram_gateway.delivery import DeliveryWorker
from telegram_gateway.polling import UpdatePoller

pytestmark = pytest.mark.django_db(transaction=True)

REASON = "unreachable: the client blocked the bot"


@contextlib.asynccontextmanager
async def bot_on_this_loop(emulator, token: str, *, poll: bool = False) -> AsyncIterator:
    """The delivery worker (and the poller) on the running loop, as `serve` runs them."""
    stop = asyncio.Event()
    bot = build_bot(token, emulator.base_url)
    jobs = [DeliveryWorker(bot, stop=stop).run()]
    if poll:
        jobs.append(UpdatePoller(bot, build_dispatcher(), stop=stop, poll_timeout=1).run())
    running = asyncio.gather(*jobs)
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(running, 15)
        await bot.session.close()


async def eventually(condition, timeout: float = 10.0):
    """Await until `condition()` (sync, run in a thread: it reads the database) is truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if result := await database_sync_to_async(condition)():
                return result
        except OperationalError:
            pass  # SQLite's shared in-memory test database locks whole tables briefly
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout}s")


def open_session(emulator, agent: User, user_id: int) -> Session:
    emulator.add_user(user_id, f"Client {user_id}")
    client = Client.objects.create(telegram_id=str(user_id), name="Rina", username="rina")
    return Session.objects.create(client=client, cs=agent)


def blocked_client(agent: User, telegram_id: str) -> Session:
    client = Client.objects.create(
        telegram_id=telegram_id, name="Rina", username="rina", unreachable_since=timezone.now()
    )
    return Session.objects.create(client=client, cs=agent)


@pytest.mark.asyncio
async def test_a_block_fails_the_reply_marks_the_client_and_tells_the_console(
    emulator, bot_token, agent
):
    session = await database_sync_to_async(open_session)(emulator, agent, 7001)
    console = await connected(agent)
    emulator.block_user(7001)
    reply = await database_sync_to_async(services.chat_send)(
        session=session, agent=agent, text="are you there?"
    )
    started = time.monotonic()

    async with bot_on_this_loop(emulator, bot_token):
        failed = await eventually(
            lambda: Chat.objects.filter(pk=reply.pk, delivery_status="FAILED").first()
        )
        client = await eventually(
            lambda: Client.objects.filter(
                pk=session.client_id, unreachable_since__isnull=False
            ).first()
        )
        row = await next_events(console, "session", timeout=5)
        while not row["unreachable"]:  # the reply's own push came first
            row = await next_events(console, "session", timeout=5)

    assert time.monotonic() - started < 10
    assert failed.delivery_error == REASON
    assert client.unreachable_since is not None
    assert row["session_id"] == session.pk
    assert emulator.requests("sendMessage") == 1  # a 403 is final: never retried
    await console.disconnect()


@pytest.mark.asyncio
async def test_an_unreachable_client_refuses_new_replies(agent):
    session = await database_sync_to_async(blocked_client)(agent, "7002")
    send = database_sync_to_async(services.chat_send)

    with pytest.raises(ValidationError) as refused:
        await send(session=session, agent=agent, text="hello?")
    with translation.override("id"), pytest.raises(ValidationError) as refused_in_id:
        await send(session=session, agent=agent, text="halo?")

    assert refused.value.code == "unreachable"
    assert refused.value.messages == [REASON]
    assert refused_in_id.value.messages == ["tidak terjangkau: klien memblokir bot"]
    assert await database_sync_to_async(Chat.objects.filter(session=session).count)() == 0


@pytest.mark.asyncio
async def test_writing_again_clears_it_live(emulator, bot_token, agent):
    session = await database_sync_to_async(open_session)(emulator, agent, 7003)
    emulator.block_user(7003)
    reply = await database_sync_to_async(services.chat_send)(
        session=session, agent=agent, text="hello?"
    )
    console = await connected(agent)

    async with bot_on_this_loop(emulator, bot_token, poll=True):
        await eventually(
            lambda: Client.objects.filter(
                pk=session.client_id, unreachable_since__isnull=False
            ).exists()
        )
        emulator.unblock_user(7003)
        emulator.inject_message(7003, "sorry, I blocked you by mistake")
        await eventually(
            lambda: Client.objects.filter(pk=session.client_id, unreachable_since=None).exists()
        )
        row = await next_events(console, "session", timeout=5)
        while row["unreachable"]:  # the pushes of the block come first
            row = await next_events(console, "session", timeout=5)
        again = await eventually(  # retried while SQLite's tables are locked
            lambda: services.chat_send(session=session, agent=agent, text="welcome back")
        )
        sent = await eventually(
            lambda: Chat.objects.filter(pk=again.pk, delivery_status="SENT").first()
        )

    assert row["session_id"] == session.pk
    assert sent.telegram_message_id
    failed = await database_sync_to_async(Chat.objects.get)(pk=reply.pk)
    assert failed.delivery_error == REASON  # what happened stays on the old reply
    await console.disconnect()


def test_a_reachable_client_writing_costs_no_query_for_it(transactional_db):
    services.chat_record_incoming(incoming=incoming("7004", "first"))  # client created

    with CaptureQueriesContext(connection) as queries:
        services.chat_record_incoming(incoming=incoming("7004", "second", message_id=2))

    # The locked client rows bring the column along; nothing filters on it or writes it.
    # (A console left listening in this process also reads session rows with it.)
    touching = [q["sql"] for q in queries if "unreachable_since" in q["sql"]]
    assert touching
    for sql in touching:
        columns, _, condition = sql.rpartition(" WHERE ")  # the outer query's
        assert columns.startswith("SELECT") and "unreachable_since" not in condition, sql


def test_writing_again_clears_it_in_the_service(agent):
    session = blocked_client(agent, "7005")

    result = services.chat_record_incoming(incoming=incoming("7005", "back again"))

    assert result.session.pk == session.pk
    assert Client.objects.get(pk=session.client_id).unreachable_since is None
    services.chat_send(session=session, agent=agent, text="welcome back")  # accepted now


def test_retrying_a_failed_reply_is_refused_while_the_client_is_unreachable(agent):
    session = blocked_client(agent, "7006")
    failed = Chat.objects.create(
        session=session,
        sender_type=Chat.SenderType.CS,
        message="hello?",
        delivery_status=Chat.DeliveryStatus.FAILED,
        delivery_error=REASON,
    )

    with pytest.raises(ValidationError) as refused:
        services.chat_retry_delivery(chat=failed)

    assert refused.value.code == "unreachable"
    failed.refresh_from_db()
    assert failed.delivery_status == Chat.DeliveryStatus.FAILED
    # Once the client writes again, the same reply may go.
    services.chat_record_incoming(incoming=incoming("7006", "I am back"))
    assert services.chat_retry_delivery(chat=failed).delivery_status == "PENDING"
