"""Idle sessions: ask a silent client "Do you still need help?", end it without an answer.

A session is idle when the agent wrote last (its newest chat that is not a notice
is a CS reply) and the client has been silent since for IDLE_WARN_AFTER. A session
waiting for the agent (no agent yet, or the client wrote last) is never warned or
closed: the desk owes it an answer.

The warning is a notice like any other (durable, delivered by the worker); its
Yes / No buttons are derived when it is claimed (`idle_warning_buttons`), because
a chat row stores no keyboard. Each warning carries a fresh random nonce in
`sessions.idle_warning_nonce`; a press counts only while the session is ACTIVE,
belongs to the presser and still carries that nonce, so an old warning's buttons,
a replayed update or a forged payload change nothing.

A client's message after the warning ends it: the next check clears the warning
(`idle_warnings_clear`), and closing re-checks that the client wrote nothing dated
since the warning and that the agent still wrote last, so a client who wrote is
never closed, even before that check. The session may be warned again
after a later silence. An answer is stored as the client's message (the button's
label, as a reply to the question): the agent sees it live in the conversation, and
"Yes" puts the session back to waiting for the agent, so it is not warned again
until the agent answers.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from conversations import events
from conversations.bot_texts import bot_text
from conversations.models import Chat, Client, Session
from conversations.services.activity import chats_insert
from conversations.services.notices import notice_build, notices_store
from conversations.services.replies import reply_quote_cut
from conversations.services.sessions import Allocator, session_end

logger = logging.getLogger(__name__)

CALLBACK_PREFIX = "idle"
ANSWERS = ("yes", "no")


def _newest_own_chat() -> QuerySet:
    """The session's newest chat that is not one of the desk's notices."""
    return Chat.objects.filter(session=OuterRef("pk"), is_notice=False).order_by(
        "-created_at", "-id"
    )


def _with_last_word(sessions: QuerySet) -> QuerySet:
    newest = _newest_own_chat()
    return sessions.annotate(
        last_sender=Subquery(newest.values("sender_type")[:1]),
        last_at=Subquery(newest.values("created_at")[:1]),
    )


def _client_wrote_since_warning() -> Exists:
    """A client message dated at or after the session's warning."""
    return Exists(
        Chat.objects.filter(
            session=OuterRef("pk"),
            sender_type=Chat.SenderType.CLIENT,
            created_at__gte=OuterRef("idle_warned_at"),
        )
    )


def _still_silent(session_id: str) -> bool:
    """Re-read (inside the caller's transaction): the agent wrote last, and the client
    wrote nothing since the warning."""
    return _agent_wrote_last(session_id) and not (
        Session.objects.filter(pk=session_id).filter(_client_wrote_since_warning()).exists()
    )


def _agent_wrote_last(session_id: str, *, before: datetime | None = None) -> bool:
    """Re-read (inside the caller's transaction) whether the agent still wrote last."""
    newest = (
        Chat.objects.filter(session_id=session_id, is_notice=False)
        .order_by("-created_at", "-id")
        .values_list("sender_type", "created_at")
        .first()
    )
    if newest is None or newest[0] != Chat.SenderType.CS:
        return False
    return before is None or newest[1] <= before


def idle_warnings_clear(*, now: datetime | None = None) -> int:
    """Clear the warnings of sessions whose client wrote after them: active again."""
    answered = list(
        _with_last_word(
            Session.objects.filter(status=Session.Status.ACTIVE, idle_warned_at__isnull=False)
        )
        .filter(Q(last_sender=Chat.SenderType.CLIENT) | Q(_client_wrote_since_warning()))
        .values_list("pk", flat=True)
    )
    cleared = 0
    for session_id in answered:
        cleared += Session.objects.filter(pk=session_id, idle_warned_at__isnull=False).update(
            idle_warned_at=None, idle_warning_nonce=""
        )
    return cleared


def idle_sessions_warn(*, now: datetime | None = None) -> int:
    """Ask clients silent for IDLE_WARN_AFTER since the agent's last message; return how many.

    Each session is claimed with a conditional UPDATE (WHERE idle_warned_at IS NULL)
    in the transaction that stores its warning: of several workers, one wins.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.IDLE_WARN_AFTER)
    candidates = list(
        _with_last_word(
            Session.objects.filter(
                status=Session.Status.ACTIVE, cs__isnull=False, idle_warned_at__isnull=True
            )
        )
        .filter(last_sender=Chat.SenderType.CS, last_at__lte=cutoff)
        .values_list("pk", flat=True)
    )
    warned = 0
    for session_id in candidates:
        warned += _warn(session_id, now=now, cutoff=cutoff)
    return warned


@transaction.atomic
def _warn(session_id: str, *, now: datetime, cutoff: datetime) -> int:
    nonce = secrets.token_urlsafe(12)
    claimed = Session.objects.filter(
        pk=session_id,
        status=Session.Status.ACTIVE,
        cs__isnull=False,
        idle_warned_at__isnull=True,
    ).update(idle_warned_at=now, idle_warning_nonce=nonce)
    if not claimed:
        return 0  # another worker warned it, or it ended meanwhile
    # Holding the row now: the client may have written since the candidates were read.
    if not _agent_wrote_last(session_id, before=cutoff):
        transaction.set_rollback(True)
        return 0
    session = Session.objects.select_related("client").get(pk=session_id)
    # Dated exactly `idle_warned_at`: that is how the claim recognises the warning.
    notices_store(
        chats=[
            notice_build(
                session=session,
                key="idle_warning",
                language_code=session.client.language_code,
                at=now,
            )
        ]
    )
    events.session_changed(session)
    return 1


def idle_sessions_close(*, now: datetime | None = None) -> int:
    """End sessions whose warning went unanswered for IDLE_CLOSE_AFTER; return how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.IDLE_CLOSE_AFTER)
    candidates = list(
        _with_last_word(
            Session.objects.filter(status=Session.Status.ACTIVE, idle_warned_at__lte=cutoff)
        )
        .filter(last_sender=Chat.SenderType.CS)
        .exclude(_client_wrote_since_warning())
        .values_list("pk", "client_id", "idle_warning_nonce")
    )
    closed = 0
    for session_id, client_id, nonce in candidates:
        closed += _end_if_warned(session_id, client_id=client_id, nonce=nonce, warned_before=cutoff)
    return closed


@transaction.atomic
def _end_if_warned(
    session_id: str, *, client_id: str, nonce: str, warned_before: datetime | None = None
) -> int:
    """End the session if it still carries the warning `nonce`, with the `ended` notice.

    Locks as the rest of the desk does (client → agents → session), so it queues
    behind the client's messages and behind any other end; the nonce, re-read under
    those locks and cleared here, makes it happen once.
    """
    client = Client.objects.select_for_update().filter(pk=client_id).first()
    if client is None or not nonce:
        return 0
    Allocator()  # the agents' locks before the session's, as session_end takes them
    filters = {"idle_warned_at__lte": warned_before} if warned_before else {}
    still_warned = Session.objects.filter(
        pk=session_id,
        client=client,
        status=Session.Status.ACTIVE,
        idle_warning_nonce=nonce,
        **filters,
    ).update(idle_warning_nonce="")
    if not still_warned:
        return 0
    if warned_before and not _still_silent(session_id):
        transaction.set_rollback(True)  # the client wrote: never closed for silence
        return 0
    session = Session.objects.get(pk=session_id)
    notice = notice_build(session=session, key="ended", language_code=client.language_code)
    session_end(session=session)
    notices_store(chats=[notice])
    return 1


@dataclass(frozen=True)
class IdleAnswer:
    """What became of a press on a warning's button."""

    accepted: bool
    language_code: str = ""


def idle_callback_data(*, session_id: str, nonce: str, answer: str) -> str:
    """The button's payload: `idle:<session id>:<nonce>:yes|no` (≤ 64 bytes)."""
    return f"{CALLBACK_PREFIX}:{session_id}:{nonce}:{answer}"


def idle_warning_buttons(*, session: Session, language_code: str) -> tuple[tuple[str, str], ...]:
    """The (label, callback data) pairs of the session's current warning."""
    return tuple(
        (
            bot_text(f"idle_{answer}", language_code),
            idle_callback_data(
                session_id=session.pk, nonce=session.idle_warning_nonce, answer=answer
            ),
        )
        for answer in ANSWERS
    )


def idle_answer(
    *, data: str, telegram_id: str, message_id: int | None = None, quote: str = ""
) -> IdleAnswer:
    """Apply a press on a warning's button, if it is genuine and current.

    `data` is untrusted: anything but `idle:<id>:<nonce>:yes|no` naming an ACTIVE
    session of this Telegram user that still carries the nonce changes nothing.
    "No" ends the session (the client gets `ended`); "Yes" keeps it and clears the
    warning. Either is stored as the client's message (the button's label, as a
    reply to the question), which the agent sees live.
    """
    parts = data.split(":")
    if len(parts) != 4 or parts[0] != CALLBACK_PREFIX or parts[3] not in ANSWERS:
        return IdleAnswer(accepted=False)
    _, session_id, nonce, answer = parts
    client = Client.objects.filter(telegram_id=str(telegram_id)).only("pk").first()
    if client is None or not nonce or not session_id:
        return IdleAnswer(accepted=False)
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client.pk)
        if answer == "no":
            Allocator()  # client → agents → session, the desk's lock order
        updated = Session.objects.filter(
            pk=session_id, client=client, status=Session.Status.ACTIVE, idle_warning_nonce=nonce
        ).update(idle_warned_at=None, idle_warning_nonce="")
        if not updated:
            return IdleAnswer(accepted=False, language_code=client.language_code)
        session = Session.objects.get(pk=session_id)
        words = _client_answer(session, bot_text(f"idle_{answer}", client.language_code))
        words.reply_to_message_id = message_id
        words.reply_quote = reply_quote_cut(quote)
        if answer == "no":
            # The answer first, then the end and its notice, in that order in the history.
            chats_insert(chats=[words])
            events.chats_changed([words.pk], new=True)
            notice = notice_build(session=session, key="ended", language_code=client.language_code)
            session_end(session=session)
            notices_store(chats=[notice])
        else:
            chats_insert(chats=[words])
            events.chats_changed([words.pk], new=True)
            events.session_changed(session)
        return IdleAnswer(accepted=True, language_code=client.language_code)


def _client_answer(session: Session, text: str) -> Chat:
    now = timezone.now()
    return Chat(
        session=session,
        sender_type=Chat.SenderType.CLIENT,
        message_type=Chat.MessageType.TEXT,
        message=text,
        created_at=now,
    )


def idle_sessions_check(*, now: datetime | None = None) -> tuple[int, int]:
    """The delivery worker's periodic look: clear answered warnings, close, then warn.

    Returns (closed, warned).
    """
    idle_warnings_clear(now=now)
    return idle_sessions_close(now=now), idle_sessions_warn(now=now)
