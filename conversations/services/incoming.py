"""Recording what clients write: each Telegram message once, in its ACTIVE session."""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from conversations import events
from conversations.models import Chat, Client, Session
from conversations.services.activity import chats_insert
from conversations.services.files import chat_file_url
from conversations.services.sessions import Allocator

logger = logging.getLogger(__name__)


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
    language_code: str = ""


@dataclass(frozen=True)
class RecordedMessage:
    chat: Chat
    session: Session
    created: bool  # False when the message had been stored before (a redelivery)
    session_opened: bool


def clients_create_missing(*, senders: dict[str, IncomingMessage]) -> None:
    """Create the clients among `senders` (by Telegram id) that do not exist yet.

    Runs in its own statement, outside the recording transaction: a duplicate-key
    insert inside one keeps a shared lock on the row, and two such transactions
    then deadlock on `select_for_update`. INSERT IGNORE lets a concurrent creator win.
    """
    known = set(
        Client.objects.filter(telegram_id__in=senders).values_list("telegram_id", flat=True)
    )
    missing = [
        Client(
            telegram_id=telegram_id,
            name=message.name,
            username=message.username,
            language_code=message.language_code,
        )
        for telegram_id, message in senders.items()
        if telegram_id not in known
    ]
    if missing:
        Client.objects.bulk_create(missing, ignore_conflicts=True)


def _clients_lock(*, senders: dict[str, IncomingMessage]) -> dict[str, Client]:
    """Lock the senders' client rows (in id order) and bring names and languages up to date.

    The row lock serialises all work on one client: it is what keeps a client to
    one ACTIVE session and its messages stored once.
    """
    clients = {
        client.telegram_id: client
        for client in Client.objects.select_for_update()
        .filter(telegram_id__in=senders)
        .order_by("id")
    }
    renamed = []
    for telegram_id, client in clients.items():
        message = senders[telegram_id]
        language_code = message.language_code or client.language_code
        if (client.name, client.username, client.language_code) != (
            message.name,
            message.username,
            language_code,
        ):
            client.name, client.username = message.name, message.username
            client.language_code = language_code
            renamed.append(client)
    if renamed:
        Client.objects.bulk_update(renamed, ["name", "username", "language_code"])
    return clients


def chat_record_incoming(*, incoming: IncomingMessage) -> RecordedMessage:
    """Store a client's message exactly once, in its ACTIVE session."""
    return chat_record_incoming_many(incomings=[incoming])[0]


def chat_record_incoming_many(*, incomings: list[IncomingMessage]) -> list[RecordedMessage]:
    """Store clients' messages, in order, in one transaction of a handful of queries.

    Each message lands once (a Telegram message id seen before, in any of the
    client's sessions, returns the stored chat) in its client's ACTIVE session,
    which is opened and allocated when there is none.
    """
    senders = {incoming.telegram_id: incoming for incoming in incomings}  # latest name wins
    clients_create_missing(senders=senders)
    with transaction.atomic():
        clients = _clients_lock(senders=senders)
        stored = {
            (chat.session.client_id, chat.telegram_message_id): chat
            for chat in Chat.objects.select_related("session").filter(
                session__client__in=clients.values(),
                sender_type=Chat.SenderType.CLIENT,
                telegram_message_id__in={i.telegram_message_id for i in incomings},
            )
        }
        active = {
            session.client_id: session
            for session in Session.objects.filter(
                client__in=clients.values(), status=Session.Status.ACTIVE
            )
        }
        allocator = None
        opened, new_chats, results = [], [], []
        for incoming in incomings:
            client = clients[incoming.telegram_id]
            key = (client.id, incoming.telegram_message_id)
            if key in stored:
                chat = stored[key]
                results.append(
                    RecordedMessage(chat, chat.session, created=False, session_opened=False)
                )
                continue
            session = active.get(client.id)
            if opens_session := session is None:
                allocator = allocator or Allocator()
                session = active[client.id] = Session(client=client)
                allocator.assign(session)
                opened.append(session)
            chat = stored[key] = _client_chat(session, incoming)
            new_chats.append(chat)
            results.append(RecordedMessage(chat, session, True, opens_session))
        # The unique active_client_id column refuses a second ACTIVE session even
        # if the locking above were ever bypassed.
        Session.objects.bulk_create(opened)
        if allocator:
            allocator.save()
        chats_insert(chats=new_chats)
        events.chats_changed((chat.pk for chat in new_chats), new=True)
        if any(session.cs_id is None for session in opened):
            events.queue_changed()
    return results


def _client_chat(session: Session, incoming: IncomingMessage) -> Chat:
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
    return chat


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
    events.chats_changed([chat.pk])
    return chat
