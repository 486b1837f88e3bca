"""The console's websocket, end to end through the ASGI app: the session cookie signs in,
services push after commit, frames arrive rendered, and nobody sees another's sessions.

Transactional tests: consumers close their database connections between calls, which
a test wrapped in one transaction would not survive on MariaDB.
"""

import asyncio
import re

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client as HttpClient

from accounts.models import User
from conversations import services
from conversations.models import Chat, Session
from conversations.services import IncomingMessage
from conversations.tests.console_helpers import go_online, make_session
from helpdesk.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = (b"origin", b"http://testserver")
HOST = (b"host", b"testserver")  # a browser sends both; the origin must match the host


async def signed_in_browser(user: User) -> tuple[HttpClient, bytes]:
    """A browser signed in as `user`, and the cookie header its console socket sends."""
    browser = HttpClient()

    @database_sync_to_async
    def sign_in() -> bytes:
        browser.force_login(user)
        browser.get("/console/")  # sets the CSRF cookie, as a real page load does
        return "; ".join(f"{name}={m.value}" for name, m in browser.cookies.items()).encode()

    return browser, await sign_in()


async def session_cookie(user: User) -> bytes:
    return (await signed_in_browser(user))[1]


async def open_console(user: User | None, *, query: str = "", origin=ORIGIN):
    headers = [HOST, origin] if origin else [HOST]
    if user is not None:
        headers.append((b"cookie", await session_cookie(user)))
    console = WebsocketCommunicator(application, f"/ws/console/{query}", headers=headers)
    connected, code = await console.connect()
    return console, connected, code


async def connected(user: User, **kwargs) -> WebsocketCommunicator:
    console, ok, code = await open_console(user, **kwargs)
    assert ok, code
    return console


async def next_events(console: WebsocketCommunicator, kind: str, *, timeout: float = 3) -> dict:
    """The next event of `kind`, skipping others (queue counts and the like)."""
    unread = console.__dict__.setdefault("unread_events", [])
    async with asyncio.timeout(timeout):
        while True:
            while unread:
                event = unread.pop(0)
                if event["kind"] == kind:
                    return event
            unread.extend((await console.receive_json_from(timeout=timeout))["events"])


async def nothing_for(console: WebsocketCommunicator, session_id: str) -> bool:
    """True when no frame about `session_id` arrives within a short wait."""
    while not await console.receive_nothing(timeout=0.3):
        if session_id in str(await console.receive_json_from()):
            return False
    return True


def incoming(telegram_id: str, text: str, message_id: int = 1) -> IncomingMessage:
    return IncomingMessage(
        telegram_id=telegram_id,
        name="Rina",
        username="rina",
        telegram_message_id=message_id,
        message_type=Chat.MessageType.TEXT,
        text=text,
    )


record = database_sync_to_async(services.chat_record_incoming)


@pytest.fixture
def agents(make_user):
    cs1 = make_user("cs1@helpdesk.com", name="CS One")
    cs2 = make_user("cs2@helpdesk.com", name="CS Two")
    go_online(cs1)  # new clients go to cs1
    return cs1, cs2


async def test_anonymous_and_foreign_pages_cannot_connect(agents):
    console, _, _ = await open_console(None)
    assert (await console.receive_output(timeout=1)) == {"type": "websocket.close", "code": 4401}
    _, ok, _ = await open_console(agents[0], origin=(b"origin", b"http://evil.example"))
    assert not ok


async def test_client_message_reaches_its_agent_and_admins_only(agents, admin_user):
    cs1, cs2 = agents
    mine, other, admin = await connected(cs1), await connected(cs2), await connected(admin_user)

    result = await record(incoming=incoming("501", "<script>alert(1)</script> help"))

    row = await next_events(mine, "session")
    assert row["session_id"] == result.session.pk and row["unread"] == 1
    assert "Rina" in row["html"] and "@rina" in row["html"]
    message = await next_events(mine, "chat")
    assert message["chat_id"] == result.chat.pk
    assert "&lt;script&gt;alert(1)&lt;/script&gt; help" in message["html"]
    assert "<script>" not in message["html"]
    assert (await next_events(admin, "chat"))["chat_id"] == result.chat.pk
    assert await nothing_for(other, result.session.pk)
    for console in (mine, other, admin):
        await console.disconnect()


async def test_waiting_queue_count_reaches_every_console(agents):
    cs1, cs2 = agents
    await database_sync_to_async(services.agent_presence_set)(agent=cs1, online=False)
    console = await connected(cs2)
    await record(incoming=incoming("502", "anyone there?"))
    assert (await next_events(console, "queue"))["waiting"] == 1
    await console.disconnect()


async def test_transfer_moves_the_session_between_consoles(agents):
    cs1, cs2 = agents
    session = await database_sync_to_async(make_session)(cs=cs1)
    await database_sync_to_async(go_online)(cs2)
    giver, taker = await connected(cs1), await connected(cs2)

    await database_sync_to_async(services.session_transfer)(session=session, to_agent=cs2)

    assert (await next_events(giver, "session_gone"))["session_id"] == session.pk
    arrived = await next_events(taker, "session")
    assert arrived["session_id"] == session.pk and arrived["cs_id"] == cs2.pk
    await giver.disconnect()
    await taker.disconnect()


async def test_reading_in_one_tab_clears_the_badge_in_every_tab(agents):
    cs1, _ = agents
    result = await record(incoming=incoming("503", "hello"))
    tab_a, tab_b = await connected(cs1), await connected(cs1)

    await tab_a.send_json_to({"action": "read", "session_id": result.session.pk})

    for tab in (tab_a, tab_b):
        row = await next_events(tab, "session")
        assert row["session_id"] == result.session.pk and row["unread"] == 0
        assert 'class="badge"' not in row["html"]
    unread = await database_sync_to_async(
        Chat.objects.filter(session=result.session, is_read=False).count
    )()
    assert unread == 0
    await tab_a.disconnect()
    await tab_b.disconnect()


async def test_another_agent_cannot_mark_a_session_read(agents):
    _, cs2 = agents
    result = await record(incoming=incoming("504", "hello"))
    intruder = await connected(cs2)

    await intruder.send_json_to({"action": "read", "session_id": result.session.pk})

    assert (await next_events(intruder, "error"))["message"] == "No such session."
    still_unread = await database_sync_to_async(
        Chat.objects.filter(session=result.session, is_read=False).count
    )()
    assert still_unread == 1
    await intruder.send_json_to({"action": "subscribe", "session_id": result.session.pk})
    assert (await next_events(intruder, "error"))["message"] == "Unknown request."
    await intruder.disconnect()


async def test_delivery_state_changes_update_the_message(agents):
    cs1, _ = agents
    session = await database_sync_to_async(make_session)(cs=cs1)
    console = await connected(cs1)

    reply = await database_sync_to_async(services.chat_send)(
        session=session, agent=cs1, text="On it"
    )
    pending = await next_events(console, "chat")
    assert pending["chat_id"] == reply.pk and "pending" in pending["html"]

    await database_sync_to_async(services.deliveries_claim)(limit=10)
    await database_sync_to_async(services.delivery_mark_failed)(
        chat_id=reply.pk, reason="Forbidden: bot was blocked by the user"
    )
    failed = await next_events(console, "chat")
    assert failed["chat_id"] == reply.pk
    assert "bot was blocked by the user" in failed["html"]
    assert f"/console/sessions/{session.pk}/chats/{reply.pk}/retry/" in failed["html"]
    assert 'name="csrfmiddlewaretoken" value="' in failed["html"]
    await console.disconnect()


async def test_a_notice_arrives_live_shown_as_a_notice(agents):
    cs1, _ = agents
    session = await database_sync_to_async(make_session)(cs=cs1)
    console = await connected(cs1)

    await database_sync_to_async(services.session_end_for_client)(
        sender=services.Sender(telegram_id=session.client.telegram_id, name="Client")
    )

    event = await next_events(console, "chat")
    assert '<li class="msg notice"' in event["html"]
    assert "Bot notice" in event["html"] and "Your conversation has ended." in event["html"]
    await console.disconnect()


async def test_fragments_come_in_the_pages_language(agents):
    cs1, _ = agents
    session = await database_sync_to_async(make_session)(cs=cs1)
    indonesian = await connected(cs1, query="?lang=id")
    await database_sync_to_async(services.chat_send)(session=session, agent=cs1, text="Halo")
    message = await next_events(indonesian, "chat")
    shown = re.sub(r"<[^>]+>", " ", message["html"]).split()
    assert "menunggu" in shown and "pending" not in shown
    await indonesian.disconnect()


async def test_an_ended_session_is_pushed_as_ended(agents):
    cs1, _ = agents
    session = await database_sync_to_async(make_session)(cs=cs1)
    console = await connected(cs1)
    await database_sync_to_async(services.session_end)(session=session)
    ended = await next_events(console, "session")
    assert ended["session_id"] == session.pk and ended["status"] == Session.Status.ENDED
    await console.disconnect()


async def test_nothing_is_pushed_for_a_rolled_back_transaction(agents):
    cs1, _ = agents
    session = await database_sync_to_async(make_session)(cs=cs1)
    console = await connected(cs1)

    @database_sync_to_async
    def send_then_roll_back():
        from django.db import transaction

        with transaction.atomic():
            services.chat_send(session=session, agent=cs1, text="never mind")
            transaction.set_rollback(True)

    await send_then_roll_back()
    assert await nothing_for(console, session.pk)
    await console.disconnect()


@pytest.fixture
def short_grace(settings):
    settings.CONSOLE_PRESENCE_GRACE = 0.4


async def refreshed(user: User) -> User:
    return await database_sync_to_async(User.objects.get)(pk=user.pk)


async def test_agent_goes_offline_after_its_last_console_closes(agents, short_grace):
    cs1, _ = agents
    session = await database_sync_to_async(make_session)(cs=cs1)
    await database_sync_to_async(services.agent_presence_set)(
        agent=cs1, online=True, from_console=True
    )
    tab_a, tab_b = await connected(cs1), await connected(cs1)

    await tab_a.disconnect()
    await asyncio.sleep(1.2)
    assert (await refreshed(cs1)).status_online, "another tab is still open"

    await tab_b.disconnect()
    await asyncio.sleep(1.2)
    assert not (await refreshed(cs1)).status_online
    kept = await database_sync_to_async(Session.objects.get)(pk=session.pk)
    assert kept.cs_id == cs1.pk and kept.status == Session.Status.ACTIVE


async def test_a_reload_within_the_grace_period_keeps_the_agent_online(agents, short_grace):
    cs1, _ = agents
    await database_sync_to_async(services.agent_presence_set)(
        agent=cs1, online=True, from_console=True
    )
    first = await connected(cs1)
    await first.disconnect()
    again = await connected(cs1)  # the page reloaded
    await asyncio.sleep(1.2)
    assert (await refreshed(cs1)).status_online
    await again.disconnect()


async def test_presence_set_outside_the_console_is_not_swept(agents, short_grace):
    cs1, _ = agents  # online through `manage.py presence` (the fixture), never a console
    await database_sync_to_async(services.agent_presence_set)(agent=cs1, online=True)
    await asyncio.sleep(0.6)
    assert await database_sync_to_async(services.agent_presence_sweep)() == []
    assert (await refreshed(cs1)).status_online


async def test_presence_changes_reach_every_tab_of_the_agent(agents):
    cs1, _ = agents
    tab_a, tab_b = await connected(cs1), await connected(cs1)
    await database_sync_to_async(services.agent_presence_set)(agent=cs1, online=False)
    for tab in (tab_a, tab_b):
        assert (await next_events(tab, "presence"))["online"] is False
    await tab_a.disconnect()
    await tab_b.disconnect()


async def console_with(cookie: bytes) -> WebsocketCommunicator:
    console = WebsocketCommunicator(
        application, "/ws/console/", headers=[HOST, ORIGIN, (b"cookie", cookie)]
    )
    ok, code = await console.connect()
    assert ok, code
    return console


async def closed_as_signed_out(console: WebsocketCommunicator) -> bool:
    while True:
        output = await console.receive_output(timeout=3)
        if output["type"] == "websocket.close":
            return output["code"] == 4401


async def test_logging_out_closes_that_browsers_consoles_only(agents):
    cs1, _ = agents
    laptop, laptop_cookie = await signed_in_browser(cs1)
    _, phone_cookie = await signed_in_browser(cs1)
    on_laptop, on_phone = await console_with(laptop_cookie), await console_with(phone_cookie)

    await database_sync_to_async(laptop.post)("/logout/")

    assert await closed_as_signed_out(on_laptop)
    result = await record(incoming=incoming("505", "still there?"))
    assert (await next_events(on_phone, "chat"))["chat_id"] == result.chat.pk
    await on_phone.disconnect()


async def test_a_new_password_closes_every_console_of_that_agent(agents):
    cs1, cs2 = agents
    _, laptop_cookie = await signed_in_browser(cs1)
    _, phone_cookie = await signed_in_browser(cs1)
    on_laptop, on_phone = await console_with(laptop_cookie), await console_with(phone_cookie)
    colleague = await connected(cs2)

    @database_sync_to_async
    def change_password() -> None:
        agent = User.objects.get(pk=cs1.pk)
        agent.set_password("a-new-secret-2026")
        agent.save()

    await change_password()

    assert await closed_as_signed_out(on_laptop)
    assert await closed_as_signed_out(on_phone)
    assert await colleague.receive_nothing(timeout=0.3)
    await colleague.disconnect()
