"""The console socket under hostile input: bad frames are ignored and the socket lives
on; a page of another origin (scheme, host or port) cannot open it."""

import logging

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection

from conversations.models import Chat, Session
from conversations.tests.services.test_lock_order import row_locked
from conversations.tests.test_console_live import (
    agents,  # noqa: F401 (a fixture)
    connected,
    incoming,
    next_events,
    record,
    session_cookie,
)
from helpdesk.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

BAD_FRAMES = {
    "not JSON": {"text_data": "{not json"},
    "binary": {"bytes_data": b"\x00\x01binary"},
    "deep JSON": {"text_data": "[" * 5000 + "]" * 5000},
    "unknown action": {"text_data": '{"action": "drop_tables"}'},
    "not an object": {"text_data": "[1, 2]"},
}


@pytest.mark.parametrize("frame", BAD_FRAMES)
async def test_a_bad_frame_is_ignored_with_a_warning_and_the_socket_stays_open(
    agents,  # noqa: F811
    caplog,
    frame,
):
    cs1, _ = agents
    console = await connected(cs1)

    with caplog.at_level(logging.WARNING, logger="conversations.consumers"):
        await console.send_to(**BAD_FRAMES[frame])
        # Still open: a valid action works, and pushes still arrive.
        result = await record(incoming=incoming("601", "hello"))
        assert (await next_events(console, "chat"))["session_id"] == result.session.pk
        await console.send_json_to({"action": "read", "session_id": result.session.pk})
        row = await next_events(console, "session")

    assert row["session_id"] == result.session.pk and row["unread"] == 0
    warnings = [r for r in caplog.records if r.name == "conversations.consumers"]
    assert len(warnings) == 1 and "ignored" in warnings[0].getMessage()
    await console.disconnect()


@pytest.fixture
def localhost(settings):
    settings.ALLOWED_HOSTS = ["localhost"]
    return settings


async def test_a_page_on_another_port_cannot_open_the_console(agents, localhost):  # noqa: F811
    cookie = await session_cookie(agents[0])

    async def handshake(origin: bytes) -> bool:
        headers = [(b"host", b"localhost:8000"), (b"origin", origin), (b"cookie", cookie)]
        console = WebsocketCommunicator(application, "/ws/console/", headers=headers)
        ok, _ = await console.connect()
        await console.disconnect()
        return ok

    assert not await handshake(b"http://localhost:9999")
    assert await handshake(b"http://localhost:8000")


@pytest.fixture
def lock_waits_of_one_second():
    """New connections (each of the consumer's database calls opens one) give up a
    lock wait after 1 s instead of MariaDB's 50."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@GLOBAL.innodb_lock_wait_timeout")
        (before,) = cursor.fetchone()
        cursor.execute("SET GLOBAL innodb_lock_wait_timeout = 1")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET GLOBAL innodb_lock_wait_timeout = %s", [before])


@pytest.mark.mariadb
async def test_a_read_the_database_gives_up_on_is_answered_and_undone(
    agents,  # noqa: F811
    caplog,
    lock_waits_of_one_second,
):
    cs1, _ = agents
    console = await connected(cs1)
    result = await record(incoming=incoming("602", "hello"))
    await next_events(console, "chat")
    read = {"action": "read", "session_id": result.session.pk}

    # Another transaction holds the session's row: the chats could be marked read,
    # the session's unread key could not.
    with row_locked(Session, result.session.pk), caplog.at_level(logging.WARNING):
        await console.send_json_to(read)
        error = await next_events(console, "error", timeout=10)

    assert error["message"] == "The messages could not be marked read. Try again."
    assert "not marked read" in caplog.text
    unread = await database_sync_to_async(
        lambda: (
            Chat.objects.filter(pk=result.chat.pk, is_read=False).exists(),
            Session.objects.get(pk=result.session.pk).unread_since,
        )
    )()
    assert unread == (True, result.chat.created_at)  # both still say unread
    # The socket lives on, and the same read goes through once the row is free.
    await console.send_json_to(read)
    row = await next_events(console, "session")
    assert row["session_id"] == result.session.pk and row["unread"] == 0
    await console.disconnect()
