"""The console socket under hostile input: bad frames are ignored and the socket lives
on; a page of another origin (scheme, host or port) cannot open it."""

import logging

import pytest
from channels.testing import WebsocketCommunicator

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
