"""The console's websocket: live frames for one signed-in agent, rendered in its language.

A connection joins only its own agent's group (and the admins' group for an ADMIN),
so a CS never receives another agent's sessions. The browser may ask two things
back, each checked like the HTTP views: marking a conversation read, and showing the
client Telegram's "typing…" while the agent writes a reply.
"""

import asyncio
import logging
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import user_language
from conversations import events, services
from conversations.models import Chat, Client, Session
from conversations.selectors import session_get_for_agent
from helpdesk.metrics import console_connections

logger = logging.getLogger(__name__)

# Close code for "not signed in": the page reloads and lands on the login form.
CLOSE_UNAUTHENTICATED = 4401
# Telegram shows "typing…" for up to 5 s: one request per session per 4 s keeps it on.
TYPING_INTERVAL = 4.0


class ConsoleConsumer(AsyncJsonWebsocketConsumer):
    user: User

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            # Accepted first so the page learns why (a refused handshake has no code).
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        session_key = getattr(self.scope.get("session"), "session_key", None)
        self.session_digest = session_key and events.session_key_digest(session_key)
        self.language = self._language()
        self.csrf_token = self._csrf_token()
        self.typing_sent: dict[str, float] = {}  # session id → when typing was last relayed
        self.joined = [events.GROUP_ALL, events.agent_group(user.pk)]
        if user.is_admin:
            self.joined.append(events.GROUP_ADMINS)
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        console_connections.inc()
        self.counted = True  # connected, so disconnect takes it back off
        self.heartbeat = None
        if user.role == User.Role.CS and settings.CONSOLE_PRESENCE_GRACE:
            self.heartbeat = asyncio.create_task(self._keep_presence())

    async def disconnect(self, code: int) -> None:
        if getattr(self, "counted", False):
            console_connections.dec()
        for group in getattr(self, "joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)
        if getattr(self, "heartbeat", None) is None:
            return
        self.heartbeat.cancel()
        # The grace period runs from now; if no console of this agent is open by then,
        # the sweep takes it offline (another process's sweep covers a crash).
        try:
            await database_sync_to_async(services.agent_console_seen)(agent=self.user)
        except (OperationalError, InterfaceError):  # the grace then runs from the last beat
            logger.warning("cannot note console presence of %s", self.user.pk, exc_info=True)
        asyncio.get_running_loop().call_later(
            settings.CONSOLE_PRESENCE_GRACE + 0.5, _sweep_presence_soon
        )

    async def _keep_presence(self) -> None:
        interval = max(settings.CONSOLE_PRESENCE_GRACE / 3, 0.1)
        while True:
            try:
                await database_sync_to_async(services.agent_console_seen)(agent=self.user)
            except Exception:  # a database outage must not close the console
                logger.warning("cannot note console presence of %s", self.user.pk, exc_info=True)
            await asyncio.sleep(interval)

    def _language(self) -> str:
        """The language the page was rendered in (it says so), else what a page would get."""
        asked = parse_qs(self.scope.get("query_string", b"").decode()).get("lang", [""])[0]
        if asked in dict(settings.LANGUAGES):
            return asked
        headers = dict(self.scope.get("headers", ()))
        return user_language(
            self.user, accept_language=headers.get(b"accept-language", b"").decode()
        )

    def _csrf_token(self) -> str:
        """A token for the forms inside rendered fragments, from the page's CSRF cookie."""
        cookie = self.scope.get("cookies", {}).get(settings.CSRF_COOKIE_NAME, "")
        if not cookie:
            # Django's word for "no token here": the form renders without one (as on a
            # page without the cookie) and no "context did not provide" warning is raised.
            return "NOTPROVIDED"
        request = HttpRequest()
        request.META["CSRF_COOKIE"] = cookie
        return get_token(request)

    async def receive(self, text_data: str | None = None, bytes_data=None, **kwargs) -> None:
        """Ignore a frame that is not JSON text: raising here would close the socket."""
        if not hasattr(self, "user"):
            return  # refused at connect, closing: nothing to answer
        if text_data is None:
            logger.warning("console socket of %s: binary frame ignored", self.user.pk)
            return
        try:
            content = await self.decode_json(text_data)
        except (ValueError, RecursionError):
            logger.warning(
                "console socket of %s: frame of %d characters is not JSON, ignored",
                self.user.pk,
                len(text_data),
            )
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content: dict, **kwargs) -> None:
        if isinstance(content, dict) and content.get("action") == "typing":
            await self._typing(content.get("session_id"))
            return
        if not isinstance(content, dict) or content.get("action") != "read":
            action = content.get("action") if isinstance(content, dict) else None
            logger.warning(
                "console socket of %s: unknown action %.40r ignored", self.user.pk, action
            )
            await self._send_error(_("Unknown request."))
            return
        session_id = content.get("session_id")
        if not isinstance(session_id, str):
            await self._send_error(_("No such session."))
            return
        try:
            found = await self._mark_read(session_id)
        except (OperationalError, InterfaceError):
            # A database outage or a lock it gave up on: say so, keep the socket open.
            logger.warning(
                "console socket of %s: session %s not marked read",
                self.user.pk,
                session_id,
                exc_info=True,
            )
            await self._send_error(_("The messages could not be marked read. Try again."))
            return
        if not found:
            await self._send_error(_("No such session."))

    @database_sync_to_async
    def _mark_read(self, session_id: str) -> bool:
        try:
            session = session_get_for_agent(user=self.user, session_id=session_id)
        except Session.DoesNotExist:
            return False
        services.chat_mark_read(session=session)
        return True

    async def _typing(self, session_id: object) -> None:
        """Ask the delivery worker to show "typing…" to the session's client.

        At most once per TYPING_INTERVAL per session: a browser sends a frame per
        keystroke, and only the first in each interval costs a query.
        """
        if not isinstance(session_id, str):
            await self._send_error(_("No such session."))
            return
        now = time.monotonic()
        if now - self.typing_sent.get(session_id, float("-inf")) < TYPING_INTERVAL:
            return
        found, telegram_chat_id = await self._typing_target(session_id)
        if not found:
            await self._send_error(_("No such session."))
            return
        if telegram_chat_id is None:
            return  # ended, or the client blocked the bot: nobody to show it to
        if len(self.typing_sent) > 100:
            self.typing_sent = {
                key: at for key, at in self.typing_sent.items() if now - at < TYPING_INTERVAL
            }
        self.typing_sent[session_id] = now
        request = {
            "type": "chat.action",
            "telegram_chat_id": telegram_chat_id,
            "action": "typing",
            "sent_at": time.time(),
        }
        try:
            await self.channel_layer.send(events.CHAT_ACTIONS_CHANNEL, request)
        except Exception as error:  # full (no worker receiving) or Redis down: a hint lost
            logger.info("typing in session %s not relayed: %r", session_id, error)

    @database_sync_to_async
    def _typing_target(self, session_id: str) -> tuple[bool, int | None]:
        """(whether the agent may see the session, the Telegram chat to signal or None)."""
        try:
            session = session_get_for_agent(user=self.user, session_id=session_id)
        except Session.DoesNotExist:
            return False, None
        if session.status != Session.Status.ACTIVE or session.client.unreachable_since:
            return True, None
        return True, int(session.client.telegram_id)

    async def _send_error(self, message: str) -> None:
        await self.send_json({"events": [{"kind": "error", "message": message}]})

    async def console_events(self, frame: dict) -> None:
        if any(self._is_signed_out(event) for event in frame["events"]):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        with translation.override(self.language):
            rendered = [self._render(event) for event in frame["events"]]
        await self.send_json({"events": [event for event in rendered if event]})

    def _is_signed_out(self, event: dict) -> bool:
        return event["kind"] == "signed_out" and event["session"] in (None, self.session_digest)

    def _render(self, event: dict) -> dict | None:
        kind = event["kind"]
        if kind == "signed_out":
            return None  # another session's: not this page's business
        if kind == "chat":
            chat = events.chat_from_wire(event["chat"])
            html = render_chat(chat, csrf_token=self.csrf_token)
            return {
                "kind": kind,
                "session_id": chat.session_id,
                "chat_id": chat.pk,
                "sender_type": chat.sender_type,
                "html": html,
            }
        if kind == "session":
            session = events.session_from_wire(event["session"])
            if not self.user.is_admin and session.cs_id != self.user.pk:
                return None  # belt and braces: the group should never carry it
            html = render_session_row(session, user=self.user)
            return {
                "kind": kind,
                "session_id": session.pk,
                "status": session.status,
                "cs_id": session.cs_id,
                "unread": session.unread_count,
                "unreachable": session.client.unreachable_since is not None,
                "flooding": session.client.is_flooding,
                "html": html,
            }
        if kind == "note":  # a private note, in this agent's language
            from conversations.note_selectors import note_from_wire

            note = note_from_wire(event["note"])
            html = render_to_string("console/_note.html", {"note": note})
            return {"kind": kind, "session_id": note.session_id, "note_id": note.pk, "html": html}
        return event  # queue, presence, session_gone, mention: plain values


def render_chat(chat: Chat, *, csrf_token: str) -> str:
    # A pushed album part comes alone; the page puts it into its album's grid.
    context = {
        "chat": chat,
        "parts": [chat],
        "session_id": chat.session_id,
        "csrf_token": csrf_token,
    }
    return render_to_string("console/_message.html", context)


def render_session_row(session: Session, *, user: User) -> str:
    return render_to_string("console/_session_row.html", {"session": session, "user": user})


def fragments_prepare() -> None:
    """Render each pushed fragment once in every language before serving.

    The first render compiles the templates and loads a language's catalog and date
    formats, about 100 ms of the event loop during which no socket gets a frame: the
    bench's first pushes arrived 150 ms late for it.
    """
    now = timezone.now()
    agent = User(id="warm-up", name="Agent", role=User.Role.ADMIN)
    session = Session(id="warm-up", status=Session.Status.ACTIVE, created_at=now, cs=agent)
    session.client = Client(
        name="Client", username="client", unreachable_since=None, flooding_until=None
    )
    session.last_activity_at = session.last_message_at = now
    session.unread_count, session.last_message, session.last_message_type = 1, "hi", "TEXT"
    chat = Chat(
        id="warm-up",
        session_id=session.pk,
        sender_type=Chat.SenderType.CS,
        message_type=Chat.MessageType.TEXT,
        message="see https://example.com",
        created_at=now,
        edited_at=now,
        delivery_status=Chat.DeliveryStatus.FAILED,
        delivery_error="Forbidden",
    )
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            # Any token will do (the output is dropped); an empty one warns when DEBUG is on.
            render_chat(chat, csrf_token="warm-up")  # noqa: S106 (not a secret)
            render_session_row(session, user=agent)


def _sweep_presence_soon() -> None:
    task = asyncio.ensure_future(database_sync_to_async(services.agent_presence_sweep)())
    task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception():
        logger.warning("presence sweep failed", exc_info=task.exception())
