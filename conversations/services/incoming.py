"""Recording what clients write: each Telegram message once, in its ACTIVE session."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from conversations import events
from conversations.models import Chat, Client, CsatRating, Session
from conversations.services.activity import chats_insert
from conversations.services.blocking import IngestGate
from conversations.services.clients import clients_create_missing, clients_lock
from conversations.services.csat import CommentCatcher, csat_comment_notice
from conversations.services.files import chat_file_url
from conversations.services.measures import assignments_record
from conversations.services.notices import notice_build, notices_stored
from conversations.services.replies import reply_quote_cut
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
    # A /start: stored like any text, and greeted (by first name) the first time.
    is_start: bool = False
    first_name: str = ""
    # Telegram's id of the message this one answers (in the client's chat), and the
    # answered text as Telegram showed it; the album id the message is a part of.
    reply_to_message_id: int | None = None
    reply_quote: str = ""
    media_group_id: str = ""


@dataclass(frozen=True)
class RecordedMessage:
    chat: Chat | None  # None when held back
    session: Session | None
    created: bool  # False when the message had been stored before (a redelivery)
    session_opened: bool
    # Not stored: the client is blocked, or floods (see `blocking.IngestGate`).
    held_back: bool = False


def chat_record_incoming(*, incoming: IncomingMessage) -> RecordedMessage:
    """Store a client's message exactly once, in its ACTIVE session."""
    return chat_record_incoming_many(incomings=[incoming])[0]


def chat_record_incoming_many(*, incomings: list[IncomingMessage]) -> list[RecordedMessage]:
    """Store clients' messages, in order, in one transaction of a handful of queries.

    Each message lands once (a Telegram message id seen before, in any of the
    client's sessions, returns the stored chat) in its client's ACTIVE session,
    which is opened and allocated when there is none. The notices they call for
    (greeting a /start; connected, or queued with the position, for an opened
    session) are stored with them, so a stored message never lacks its notice.
    A blocked client's messages, and a flooding client's beyond the limit, are held
    back: counted and answered with their notice, never stored (`IngestGate`). A
    text that would open a session while the client's rating awaits its comment is
    that comment instead (`csat.CommentCatcher`): stored in the rated session, with
    a thank-you, and it opens none.
    """
    senders = {incoming.telegram_id: incoming for incoming in incomings}  # latest name wins
    clients_create_missing(senders=senders)
    with transaction.atomic():
        clients = clients_lock(senders=senders)
        # Writing again makes a client reachable (it unblocked the bot): checked on
        # the locked rows, so the usual message costs no query for it.
        reachable_again = [c for c in clients.values() if c.unreachable_since is not None]
        if reachable_again:
            Client.objects.filter(pk__in=[c.pk for c in reachable_again]).update(
                unreachable_since=None
            )
            for client in reachable_again:
                client.unreachable_since = None
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
        allocator, places, gate = None, _QueuePlaces(), IngestGate()
        comments = CommentCatcher(clients=[c for c in clients.values() if c.id not in active])
        opened, new_chats, notices, results = [], [], [], []
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
            if gate.holds_back(client, session, sent_at=incoming.sent_at):
                results.append(RecordedMessage(None, session, False, False, held_back=True))
                continue
            if session is None and (rating := _comment_for(comments, client, incoming)):
                chat = stored[key] = _client_chat(rating.session, incoming, is_read=True)
                new_chats.append(chat)
                notices.append(
                    csat_comment_notice(
                        rating=rating, chat=chat, language_code=client.language_code
                    )
                )
                results.append(RecordedMessage(chat, rating.session, True, False))
                continue
            if opens_session := session is None:
                allocator = allocator or Allocator()
                session = active[client.id] = Session(client=client)
                allocator.assign(session)
                opened.append(session)
            chat = stored[key] = _client_chat(session, incoming)
            new_chats.append(chat)
            notices += _notices_for(incoming, chat, client, opened=opens_session, places=places)
            results.append(RecordedMessage(chat, session, True, opens_session))
        # The unique active_client_id column refuses a second ACTIVE session even
        # if the locking above were ever bypassed.
        Session.objects.bulk_create(opened)
        assignments_record(sessions=opened)
        if allocator:
            allocator.save()
        for client in reachable_again:
            if client.id in active:
                events.session_changed(active[client.id])
        notices += gate.notices  # a flood's, in the session it floods
        chats_insert(chats=new_chats + notices)
        events.chats_changed((chat.pk for chat in new_chats), new=True)
        notices_stored(chats=notices)
        gate.finish()
        comments.save()
        if any(session.cs_id is None for session in opened):
            events.queue_changed()
    return results


class _QueuePlaces:
    """Places in the waiting queue for the sessions a batch opens without an agent.

    The sessions already waiting are counted once, when first needed (under the
    allocation's agent locks, before the batch's own are inserted); the batch's
    come after them, in order.
    """

    def __init__(self) -> None:
        self.taken: int | None = None

    def next(self) -> int:
        if self.taken is None:
            self.taken = Session.objects.filter(
                status=Session.Status.ACTIVE, cs__isnull=True
            ).count()
        self.taken += 1
        return self.taken


def _notices_for(
    incoming: IncomingMessage, chat: Chat, client: Client, *, opened: bool, places: _QueuePlaces
) -> list[Chat]:
    """Greeting for a /start, then connected or queued for an opened session, in order.

    Dated when written (never before the message, whatever Telegram's clock said),
    a microsecond apart, so the worker sends them in this order.
    """
    session = chat.session
    keys = []
    if incoming.is_start:
        keys.append(("greeting", {"name": incoming.first_name or incoming.name}))
    if opened and session.cs_id:
        keys.append(("connected", {}))
    elif opened:
        keys.append(("queued", {"position": places.next()}))
    at = max(timezone.now(), chat.created_at)
    return [
        notice_build(
            session=session,
            key=key,
            language_code=client.language_code,
            at=at + timedelta(microseconds=n),
            **values,
        )
        for n, (key, values) in enumerate(keys)
    ]


def _comment_for(
    comments: CommentCatcher, client: Client, incoming: IncomingMessage
) -> CsatRating | None:
    """The rating this message comments on: a plain text (not /start) while one awaits."""
    if incoming.is_start or incoming.telegram_file_id or incoming.message_type not in _COMMENTS:
        return None
    return comments.rating_for(client, text=incoming.text, now=timezone.now())


# A comment is written: a text, links included (a shared location or contact passes
# too: rare right after a rating, and harmless as a comment).
_COMMENTS = {Chat.MessageType.TEXT, Chat.MessageType.LINK}


def _client_chat(session: Session, incoming: IncomingMessage, *, is_read: bool = False) -> Chat:
    chat = Chat(
        session=session,
        sender_type=Chat.SenderType.CLIENT,
        is_read=is_read,
        message_type=incoming.message_type,
        message=incoming.text,
        telegram_message_id=incoming.telegram_message_id,
        telegram_file_id=incoming.telegram_file_id,
        created_at=incoming.sent_at or timezone.now(),
        reply_to_message_id=incoming.reply_to_message_id,
        reply_quote=reply_quote_cut(incoming.reply_quote),
        media_group_id=incoming.media_group_id[:64],
    )
    if incoming.telegram_file_id:
        chat.file_url = chat_file_url(chat_id=chat.id, file_name=incoming.file_name)
    return chat


@transaction.atomic
def chat_edit_incoming(
    *, telegram_id: str, telegram_message_id: int, text: str, edited_at: datetime | None = None
) -> Chat | None:
    """Apply a client's edit to the stored message; None if it was never stored."""
    # Found, then locked by key: a locking read through the join would lock the
    # client's and the session's rows too, out of the desk's lock order.
    chat_id = (
        Chat.objects.filter(
            session__client__telegram_id=telegram_id,
            sender_type=Chat.SenderType.CLIENT,
            telegram_message_id=telegram_message_id,
        )
        .values_list("pk", flat=True)
        .first()
    )
    chat = chat_id and Chat.objects.select_for_update().filter(pk=chat_id).first()
    if chat is None:
        logger.info("edit of unknown message %s from %s ignored", telegram_message_id, telegram_id)
        return None
    chat.message = text
    chat.edited_at = edited_at or timezone.now()
    chat.save(update_fields=["message", "edited_at"])
    events.chats_changed([chat.pk])
    return chat
