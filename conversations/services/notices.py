"""The desk's own words to clients (notices): chats like agents' replies, but marked.

A notice is stored in the transaction that caused it, as a PENDING chat with
`is_notice`, and the delivery worker sends it with its retries, in order with the
agents' messages: a Bot API outage delays notices, it never loses them. Every
notice needs a session row; see `client_notify` for clients who have none.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from conversations import events
from conversations.bot_texts import bot_text
from conversations.models import Chat, Client, Session
from conversations.services.activity import chats_insert
from conversations.services.clients import Sender, clients_create_missing, clients_lock
from conversations.services.outbound import _notify_due, _outgoing


def notice_build(
    *, session: Session, key: str, language_code: str, at: datetime | None = None, **values
) -> Chat:
    """An unsaved notice: the catalog's text `key` in the client's language."""
    return _outgoing(session, bot_text(key, language_code, **values), is_notice=True, created_at=at)


def notices_store(*, chats: list[Chat]) -> list[Chat]:
    """Insert built notices and wake the delivery worker after commit.

    Call inside the transaction that caused them, holding the sessions' locks.
    """
    chats_insert(chats=chats)
    notices_stored(chats=chats)
    return chats


def notices_stored(*, chats: list[Chat]) -> None:
    """Announce notices inserted by the caller (with other chats, in one statement)."""
    if chats:
        _notify_due()
        events.chats_changed((chat.pk for chat in chats), new=True)


def client_notify(*, sender: Sender, key: str) -> Chat:
    """Tell a client something outside any message of theirs (an unsupported kind,
    /end with nothing to end).

    The notice goes to the client's ACTIVE session, else to their latest one. A
    person who never wrote gets a client row and an ENDED session holding it: the
    notice stays durable (retried like any reply) and admins see it as history.
    """
    clients_create_missing(senders={sender.telegram_id: sender})
    with transaction.atomic():
        client = clients_lock(senders={sender.telegram_id: sender})[sender.telegram_id]
        return client_notify_locked(client=client, key=key)


def client_notify_locked(*, client: Client, key: str) -> Chat:
    """`client_notify` for a caller that already holds the client's lock."""
    # "ACTIVE" sorts before "ENDED": the active session, else the newest.
    session = client.sessions.order_by("status", "-created_at", "-id").first()
    if session is None:
        session = Session.objects.create(
            client=client, status=Session.Status.ENDED, ended_at=timezone.now()
        )
        events.session_changed(session)
    (notice,) = notices_store(
        chats=[notice_build(session=session, key=key, language_code=client.language_code)]
    )
    return notice
