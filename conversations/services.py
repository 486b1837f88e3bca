"""Writes to clients, sessions and chats: recording messages, session lifecycle, allocation.

Every function here is synchronous and runs in one transaction; async callers (the
bot, consumers) wrap them with `sync_to_async`. Lock order, to stay deadlock-free:
client row → online agent rows → waiting session rows.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import User
from conversations.models import Chat, Client, Session

logger = logging.getLogger(__name__)

NEVER_ASSIGNED = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class IncomingMessage:
    """A client's message, already translated from Telegram's shapes."""

    telegram_id: str
    name: str
    username: str | None
    telegram_message_id: int
    message_type: str
    text: str
    telegram_file_id: str = ""
    file_name: str = ""
    sent_at: datetime | None = None


@dataclass(frozen=True)
class RecordedMessage:
    chat: Chat
    session: Session
    created: bool  # False when the message had been stored before (a redelivery)
    session_opened: bool


def client_create_if_missing(*, telegram_id: str, name: str, username: str | None) -> None:
    """Create the client unless a concurrent call already did.

    Call it outside any transaction: a duplicate-key insert inside one keeps a shared
    lock on the row, and two such transactions then deadlock on `select_for_update`.
    """
    try:
        with transaction.atomic():
            Client.objects.create(telegram_id=telegram_id, name=name, username=username)
    except IntegrityError:
        pass


def client_lock(*, telegram_id: str, name: str, username: str | None) -> Client | None:
    """Return the client locked for the current transaction and brought up to date.

    The row lock serialises all work on one client: it is what keeps a client to
    one ACTIVE session and its messages stored once. None if there is no such client.
    """
    client = Client.objects.select_for_update().filter(telegram_id=telegram_id).first()
    if client is not None and (client.name, client.username) != (name, username):
        client.name, client.username = name, username
        client.save(update_fields=["name", "username"])
    return client


def _lock_online_agents() -> list[User]:
    # Locking every online agent (in id order) serialises allocations, so the
    # workload counts read next cannot go stale before the assignment commits.
    return list(
        User.objects.select_for_update()
        .filter(role=User.Role.CS, status_online=True, is_active=True)
        .order_by("id")
    )


def _active_loads(agents: list[User]) -> dict[str, int]:
    rows = (
        Session.objects.filter(status=Session.Status.ACTIVE, cs__in=agents)
        .values_list("cs")
        .annotate(active=Count("id"))
    )
    return dict(rows)


def _least_busy(agents: list[User], loads: dict[str, int]) -> User | None:
    cap = settings.MAX_ACTIVE_SESSIONS_PER_CS
    available = [a for a in agents if not cap or loads.get(a.id, 0) < cap]
    if not available:
        return None
    return min(
        available,
        key=lambda a: (loads.get(a.id, 0), a.last_assigned_at or NEVER_ASSIGNED, a.id),
    )


def _assign(session: Session, agent: User, loads: dict[str, int]) -> None:
    now = timezone.now()
    session.cs = agent
    session.save(update_fields=["cs"])
    agent.last_assigned_at = now
    agent.save(update_fields=["last_assigned_at"])
    loads[agent.id] = loads.get(agent.id, 0) + 1


def session_open_or_join(*, client: Client) -> tuple[Session, bool]:
    """Return the client's ACTIVE session, opening and allocating one if there is none.

    The caller must hold the client's row lock (see `client_lock`); the unique
    `active_client_id` column backs this up in the database itself.
    """
    session = Session.objects.filter(client=client, status=Session.Status.ACTIVE).first()
    if session is not None:
        return session, False
    agents = _lock_online_agents()
    loads = _active_loads(agents)
    agent = _least_busy(agents, loads)
    session = Session.objects.create(client=client)
    if agent is not None:
        _assign(session, agent, loads)
    return session, True


def chat_record_incoming(*, incoming: IncomingMessage) -> RecordedMessage:
    """Store a client's message exactly once, in its ACTIVE session."""
    sender = {
        "telegram_id": incoming.telegram_id,
        "name": incoming.name,
        "username": incoming.username,
    }
    with transaction.atomic():
        client = client_lock(**sender)
        if client is not None:
            return _chat_record_for_locked_client(client=client, incoming=incoming)
    client_create_if_missing(**sender)  # a first message: create, then lock as usual
    with transaction.atomic():
        client = client_lock(**sender)
        return _chat_record_for_locked_client(client=client, incoming=incoming)


def _chat_record_for_locked_client(*, client: Client, incoming: IncomingMessage) -> RecordedMessage:
    stored = (
        Chat.objects.select_related("session")
        .filter(
            session__client=client,
            sender_type=Chat.SenderType.CLIENT,
            telegram_message_id=incoming.telegram_message_id,
        )
        .first()
    )
    if stored is not None:
        return RecordedMessage(stored, stored.session, created=False, session_opened=False)

    session, opened = session_open_or_join(client=client)
    chat = Chat(
        session=session,
        sender_type=Chat.SenderType.CLIENT,
        message_type=incoming.message_type,
        message=incoming.text,
        telegram_message_id=incoming.telegram_message_id,
        telegram_file_id=incoming.telegram_file_id,
        created_at=incoming.sent_at or timezone.now(),
    )
    if incoming.telegram_file_id:
        chat.file_url = chat_file_url(chat_id=chat.id, file_name=incoming.file_name)
    chat.save(force_insert=True)
    return RecordedMessage(chat, session, created=True, session_opened=opened)


def chat_file_url(*, chat_id: str, file_name: str) -> str:
    """Return the app's own (protected) address for a chat's file; never Telegram's."""
    name = quote(file_name or "file", safe="")
    limit = Chat._meta.get_field("file_url").max_length
    prefix = f"/files/{chat_id}/"
    return prefix + name[: limit - len(prefix)].rstrip("%")


@transaction.atomic
def chat_edit_incoming(
    *, telegram_id: str, telegram_message_id: int, text: str, edited_at: datetime | None = None
) -> Chat | None:
    """Apply a client's edit to the stored message; None if it was never stored."""
    chat = (
        Chat.objects.select_for_update()
        .filter(
            session__client__telegram_id=telegram_id,
            sender_type=Chat.SenderType.CLIENT,
            telegram_message_id=telegram_message_id,
        )
        .first()
    )
    if chat is None:
        logger.info("edit of unknown message %s from %s ignored", telegram_message_id, telegram_id)
        return None
    chat.message = text
    chat.edited_at = edited_at or timezone.now()
    chat.save(update_fields=["message", "edited_at"])
    return chat


@transaction.atomic
def session_end(*, session: Session) -> Session:
    """End an ACTIVE session and hand the freed capacity to the waiting queue."""
    session = Session.objects.select_for_update().get(pk=session.pk)
    if session.status == Session.Status.ENDED:
        return session
    session.status = Session.Status.ENDED
    session.ended_at = timezone.now()
    session.save(update_fields=["status", "ended_at"])
    if session.cs_id is not None:
        queue_drain()
    return session


@transaction.atomic
def session_end_for_client(*, telegram_id: str) -> Session | None:
    """End the client's ACTIVE session, if it has one (the client's /end)."""
    session = (
        Session.objects.select_for_update()
        .filter(client__telegram_id=telegram_id, status=Session.Status.ACTIVE)
        .first()
    )
    return session_end(session=session) if session else None


@transaction.atomic
def queue_drain() -> list[Session]:
    """Assign waiting sessions, oldest first, while any online agent has capacity.

    Called when an agent comes online, ends a session or gains capacity.
    """
    agents = _lock_online_agents()
    if not agents:
        return []
    loads = _active_loads(agents)
    assigned = []
    waiting = Session.objects.select_for_update().filter(
        status=Session.Status.ACTIVE, cs__isnull=True
    )
    for session in waiting.order_by("created_at", "id"):
        agent = _least_busy(agents, loads)
        if agent is None:
            break
        _assign(session, agent, loads)
        assigned.append(session)
    return assigned


def queue_position(*, session: Session) -> int:
    """1 for the next session to be assigned; 0 when the session has an agent."""
    if session.cs_id is not None:
        return 0
    return Session.objects.filter(
        status=Session.Status.ACTIVE, cs__isnull=True, created_at__lte=session.created_at
    ).count()
