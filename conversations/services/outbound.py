"""Agents' replies and the desk's notices: stored first as PENDING chats, then
delivered by the worker.

The chat row is the outbox. A worker claims due rows (SKIP LOCKED, so several
workers never take the same one), sends them to Telegram in order per session,
and records the outcome here. A claim is a lease, renewed by its worker while the
worker lives: one that dies mid-send leaves SENDING rows whose `next_attempt_at`
passes within a lease, and they are claimed again.
"""

import mimetypes
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Coalesce
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from conversations import events
from conversations.models import Chat, Client, Session
from conversations.services.activity import chats_insert
from conversations.services.files import chat_file_url
from conversations.services.measures import first_reply_record
from conversations.services.replies import reply_quote_cut

URL_PATTERN = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)

# Sent after commit whenever a reply becomes due, so an in-process worker starts at
# once instead of at its next poll. Receivers take no arguments beyond `sender`.
delivery_due = Signal()

Status = Chat.DeliveryStatus


@dataclass(frozen=True)
class Delivery:
    """What a worker needs to send one chat, read in the claiming transaction."""

    chat_id: str
    session_id: str
    telegram_chat_id: int
    message_type: str
    text: str
    stored_file: str  # its name in the chats' file storage (no local path), "" when none
    file_name: str
    content_type: str
    parts_sent: int
    attempts: int
    # Telegram's id of the client's-chat message the reply answers (its first part does).
    reply_to_message_id: int | None = None
    # Inline buttons, (label, callback data), one row: an idle warning's, a survey's.
    buttons: tuple[tuple[str, str], ...] = ()
    # Claimed from a worker whose lease lapsed: it may yet record that it sent the chat.
    taken_over: bool = False


def _message_type_for(content_type: str) -> str:
    if content_type.startswith("image/"):
        return Chat.MessageType.IMAGE
    if content_type.startswith("video/"):
        return Chat.MessageType.VIDEO
    return Chat.MessageType.FILE


def _check_upload(upload: UploadedFile) -> str:
    """Return the upload's content type, or raise a ValidationError saying what is wrong."""
    if upload.size > settings.UPLOAD_MAX_BYTES:
        raise ValidationError(
            _("The file is %(size)s MB; the limit is %(limit)s MB.")
            % {
                "size": round(upload.size / 2**20, 1),
                "limit": round(settings.UPLOAD_MAX_BYTES / 2**20, 1),
            },
            code="too_large",
        )
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    guessed = mimetypes.guess_type(upload.name or "")[0] or ""
    content_type = declared if declared and declared != "application/octet-stream" else guessed
    if not any(
        content_type == allowed
        or (allowed.endswith("/*") and content_type.startswith(allowed[:-1]))
        for allowed in settings.UPLOAD_ALLOWED_TYPES
    ):
        raise ValidationError(
            _("Files of type %(type)s cannot be sent.") % {"type": content_type or "unknown"},
            code="type_not_allowed",
        )
    return content_type


def unreachable_reason() -> str:
    """Why a reply cannot reach its client: Telegram answered 403 (it blocked the bot)."""
    return _("unreachable: the client blocked the bot")


def _notify_due() -> None:
    transaction.on_commit(lambda: delivery_due.send(sender=Chat))
    events.deliveries_due()


# What a quote shows of a stored message without words (as the bot stores clients').
_QUOTE_LABELS = {
    Chat.MessageType.IMAGE: "[photo]",
    Chat.MessageType.VIDEO: "[video]",
    Chat.MessageType.FILE: "[file]",
}


def _reply_target(session: Session, chat_id: str) -> Chat:
    """The chat of `session` a reply answers: one Telegram has (it has a message id)."""
    target = (
        Chat.objects.filter(pk=chat_id, session=session, telegram_message_id__isnull=False)
        .only("telegram_message_id", "message", "message_type")
        .first()
    )
    if target is None:
        raise ValidationError(
            _("You can only answer a message of this conversation that reached Telegram."),
            code="reply_target",
        )
    return target


@transaction.atomic
def chat_send(
    *,
    session: Session,
    agent: User,
    text: str = "",
    upload: UploadedFile | None = None,
    reply_to_chat_id: str | None = None,
) -> Chat:
    """Store an agent's reply as PENDING; the delivery worker sends it after commit.

    `reply_to_chat_id`: a chat of this session the client sees in Telegram; the reply
    reaches the client as a Telegram reply to it.
    """
    # Browsers post a textarea's line breaks as CRLF; Telegram's are LF, and a stray CR
    # would count against the 4,096-character parts (even making an empty one).
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text and upload is None:
        raise ValidationError(_("Write a message or attach a file."), code="empty")
    session = Session.objects.select_for_update().get(pk=session.pk)
    if session.status != Session.Status.ACTIVE:
        raise ValidationError(_("This session has ended."), code="ended")
    if Client.objects.filter(pk=session.client_id, unreachable_since__isnull=False).exists():
        # Telegram would refuse it: the client hears nothing until it writes again.
        raise ValidationError(unreachable_reason(), code="unreachable")
    chat = _outgoing(session, text)
    if reply_to_chat_id:
        target = _reply_target(session, reply_to_chat_id)
        chat.reply_to_message_id = target.telegram_message_id
        chat.reply_quote = reply_quote_cut(
            target.message or _QUOTE_LABELS.get(target.message_type, "[message]")
        )
    if upload is not None:
        chat.message_type = _message_type_for(_check_upload(upload))
        chat.local_file.save(upload.name, upload, save=False)
        chat.file_url = chat_file_url(chat_id=chat.id, file_name=upload.name)
    chats_insert(chats=[chat])
    first_reply_record(session_id=session.pk, agent_id=agent.pk, at=chat.created_at)
    _notify_due()
    events.chats_changed([chat.pk], new=True)
    return chat


def _outgoing(
    session: Session, text: str, *, is_notice: bool = False, created_at: datetime | None = None
) -> Chat:
    now = timezone.now()
    return Chat(
        session=session,
        sender_type=Chat.SenderType.CS,
        message=text,
        message_type=Chat.MessageType.LINK if URL_PATTERN.search(text) else Chat.MessageType.TEXT,
        is_read=True,
        is_notice=is_notice,
        delivery_status=Status.PENDING,
        created_at=created_at or now,
        next_attempt_at=now,
    )


@transaction.atomic
def chat_retry_delivery(*, chat: Chat) -> Chat:
    """Queue a FAILED reply again (the console's retry button); not while the client
    has blocked the bot, where Telegram would only refuse it again."""
    if Client.objects.filter(sessions__chats=chat.pk, unreachable_since__isnull=False).exists():
        raise ValidationError(unreachable_reason(), code="unreachable")
    updated = Chat.objects.filter(pk=chat.pk, delivery_status=Status.FAILED).update(
        delivery_status=Status.PENDING,
        delivery_error="",
        delivery_attempts=0,
        next_attempt_at=timezone.now(),
    )
    if not updated:
        raise ValidationError(_("Only a failed message can be retried."), code="not_failed")
    _notify_due()
    events.chats_changed([chat.pk])
    chat.refresh_from_db()
    return chat


def deliveries_claim(*, limit: int, lease: float | None = None) -> list[Delivery]:
    """Claim up to `limit` due replies and notices, at most the oldest undelivered one
    per session, for `lease` seconds (DELIVERY_LEASE by default)."""
    now = timezone.now()
    lease_ends = now + timedelta(seconds=settings.DELIVERY_LEASE if lease is None else lease)
    undelivered = Chat.objects.filter(
        sender_type=Chat.SenderType.CS, delivery_status__in=[Status.PENDING, Status.SENDING]
    )
    earlier = undelivered.filter(session=OuterRef("session")).filter(
        Q(created_at__lt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), id__lt=OuterRef("id"))
    )
    # Read without locks which rows head their session's queue; then lock those
    # still due. A row another worker claimed meanwhile is skipped or no longer due.
    heads = list(
        undelivered.filter(next_attempt_at__lte=now)
        .filter(~Exists(earlier))
        .order_by("next_attempt_at", "created_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    if not heads:
        return []
    with transaction.atomic():
        claimed = list(
            Chat.objects.select_for_update(skip_locked=True)
            .select_related("session__client")
            .filter(
                id__in=heads,
                delivery_status__in=[Status.PENDING, Status.SENDING],
                next_attempt_at__lte=now,
            )
            .order_by("created_at", "id")
        )
        Chat.objects.filter(id__in=[c.id for c in claimed]).update(
            delivery_status=Status.SENDING,
            next_attempt_at=lease_ends,
            delivery_attempts=F("delivery_attempts") + 1,
        )
    return [
        Delivery(
            chat_id=chat.id,
            session_id=chat.session_id,
            telegram_chat_id=int(chat.session.client.telegram_id),
            message_type=chat.message_type,
            text=chat.message,
            stored_file=chat.local_file.name if chat.local_file else "",
            file_name=unquote(chat.file_url.rsplit("/", 1)[-1]) if chat.file_url else "",
            content_type=(mimetypes.guess_type(chat.local_file.name)[0] or "")
            if chat.local_file
            else "",
            parts_sent=chat.delivery_parts_sent,
            attempts=chat.delivery_attempts + 1,
            reply_to_message_id=chat.reply_to_message_id,
            buttons=_buttons(chat),
            taken_over=chat.delivery_status == Status.SENDING,
        )
        for chat in claimed
    ]


def delivery_claims_renew(*, claims: dict[str, int], lease: float) -> list[str]:
    """Extend the claims a living worker still holds; returns the chats it holds.

    `claims`: chat id → the attempt number the worker claimed it as. Every claim
    counts an attempt, so a claim another worker took over after this one lapsed
    carries a later number and is neither renewed nor reported as held.
    """
    if not claims:
        return []
    held = Q()
    for chat_id, attempt in claims.items():
        held |= Q(pk=chat_id, delivery_attempts=attempt)
    held &= Q(delivery_status=Status.SENDING)
    lease_ends = timezone.now() + timedelta(seconds=lease)
    # In key order, as the claim locks them: fewer deadlocks with a claim or a mark.
    Chat.objects.filter(held).order_by("pk").update(next_attempt_at=lease_ends)
    return list(Chat.objects.filter(held, next_attempt_at=lease_ends).values_list("pk", flat=True))


def delivery_claim_holds(*, chat_id: str, attempt: int) -> bool:
    """Whether the claim counted as `attempt` still stands: nobody recorded an outcome
    (a worker whose lease lapsed in a database outage may have) nor claimed it since."""
    return Chat.objects.filter(
        pk=chat_id, delivery_status=Status.SENDING, delivery_attempts=attempt
    ).exists()


def _buttons(chat: Chat) -> tuple[tuple[str, str], ...]:
    """The Yes / No buttons when `chat` is its session's current idle warning, the
    1 to 5 buttons when it is its open satisfaction survey.

    A chat row keeps no keyboard: the warning is the notice dated exactly the
    session's `idle_warned_at` while the session carries a nonce (see idle.py), the
    survey the notice dated exactly `csat_asked_at` while it carries one (csat.py).
    """
    from conversations.services.csat import chat_is_survey, csat_survey_buttons  # imports notices

    session = chat.session
    if chat_is_survey(chat):
        return csat_survey_buttons(session=session, language_code=session.client.language_code)
    if not (
        chat.is_notice
        and session.idle_warning_nonce
        and session.status == Session.Status.ACTIVE
        and session.idle_warned_at == chat.created_at
    ):
        return ()
    from conversations.services.idle import idle_warning_buttons  # idle imports this module

    return idle_warning_buttons(session=session, language_code=session.client.language_code)


def _first_message_id(telegram_message_id: int) -> Coalesce:
    # A long reply keeps the id of its first part: that is where it starts in the chat.
    return Coalesce(F("telegram_message_id"), Value(telegram_message_id))


def delivery_progress(*, chat_id: str, parts_sent: int, telegram_message_id: int) -> None:
    """Record a part Telegram accepted, so a retry does not send it twice."""
    Chat.objects.filter(pk=chat_id, delivery_status=Status.SENDING).update(
        delivery_parts_sent=parts_sent,
        telegram_message_id=_first_message_id(telegram_message_id),
    )


def delivery_mark_sent(
    *, chat_id: str, telegram_message_id: int, telegram_file_id: str = ""
) -> None:
    fields = {
        "delivery_status": Status.SENT,
        "delivery_error": "",
        "next_attempt_at": None,
        "telegram_message_id": _first_message_id(telegram_message_id),
    }
    if telegram_file_id:
        fields["telegram_file_id"] = telegram_file_id
    if Chat.objects.filter(pk=chat_id, delivery_status=Status.SENDING).update(**fields):
        events.chats_changed([chat_id])
    _notify_due()  # the session's next reply may go now


@transaction.atomic
def delivery_mark_failed(*, chat_id: str, reason: str, client_unreachable: bool = False) -> None:
    """Give up on a reply Telegram refuses for good (blocked bot, bad request).

    `client_unreachable` (a 403): Telegram will refuse every send to the client, so
    the client is marked unreachable, which its ACTIVE session shows and which
    refuses new replies until the client writes again.
    """
    if client_unreachable:
        reason = unreachable_reason()
        _client_mark_unreachable(chat_id=chat_id)
    if Chat.objects.filter(pk=chat_id, delivery_status=Status.SENDING).update(
        delivery_status=Status.FAILED, delivery_error=reason[:255], next_attempt_at=None
    ):
        events.chats_changed([chat_id])
    _notify_due()


def _client_mark_unreachable(*, chat_id: str) -> None:
    client_id = Chat.objects.filter(pk=chat_id).values_list("session__client_id", flat=True)
    marked = Client.objects.filter(pk__in=client_id, unreachable_since__isnull=True).update(
        unreachable_since=timezone.now()
    )
    if marked:  # already marked: its session showed it then
        for session in Session.objects.filter(
            client_id__in=client_id, status=Session.Status.ACTIVE
        ).only("pk", "cs_id"):
            events.session_changed(session)


def delivery_retry_later(*, chat_id: str, reason: str, retry_after: float | None = None) -> None:
    """Put a reply back in the queue after a passing failure (429, 5xx, network)."""
    chat = Chat.objects.filter(pk=chat_id).only("delivery_attempts", "created_at").get()
    if timezone.now() - chat.created_at > timedelta(seconds=settings.DELIVERY_GIVE_UP_AFTER):
        delivery_mark_failed(
            chat_id=chat_id,
            reason=_("Gave up after %(n)d attempts: %(reason)s")
            % {"n": chat.delivery_attempts, "reason": reason},
        )
        return
    if retry_after is None:
        # Capped exponential backoff with jitter: 1 s, 2 s, 4 s … 5 min.
        retry_after = min(300, 2 ** max(0, chat.delivery_attempts - 1)) * random.uniform(0.8, 1.2)  # noqa: S311
    Chat.objects.filter(pk=chat_id, delivery_status=Status.SENDING).update(
        delivery_status=Status.PENDING,
        delivery_error=reason[:255],
        next_attempt_at=timezone.now() + timedelta(seconds=retry_after),
    )


def delivery_release(*, chat_ids: list[str]) -> None:
    """Hand back claims at shutdown, so the next worker sends them at once."""
    Chat.objects.filter(pk__in=chat_ids, delivery_status=Status.SENDING).update(
        delivery_status=Status.PENDING, next_attempt_at=timezone.now()
    )
