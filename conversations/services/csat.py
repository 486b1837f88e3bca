"""Satisfaction surveys: "How did we do?" (1 to 5) in Telegram when a session ends.

A session the agent answered asks its client at its end (`csat_survey_store`, called
by `session_end` in its transaction). The question is a notice like any other
(durable, delivered by the worker, after the `ended` notice its caller stores: it is
dated a microsecond after the end); its five buttons are derived when it is claimed
(`csat_survey_buttons`), because a chat row stores no keyboard. The survey carries a
fresh random nonce in `sessions.csat_nonce` while it is open; a press counts only
when it names a session of the presser that still carries that nonce, so a forged
payload, a second press, a replayed update or an old survey's buttons (a newer
survey closes the client's older ones) change nothing. Everything is in the
database: a press after a restart of the bot works as before.

A rating opens a window of CSAT_COMMENT_WINDOW for one comment: the client's next
text, written while it has no ACTIVE session, is stored with the rating (and as the
client's message in the ended session, so a redelivered update is recognised as
stored) instead of opening a session (`CommentCatcher`, used by the ingest).
"""

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from conversations.bot_texts import bot_text
from conversations.models import Chat, Client, CsatRating, Session
from conversations.services.notices import notice_build, notices_store

CALLBACK_PREFIX = "csat"
RATINGS = ("1", "2", "3", "4", "5")


def csat_survey_store(*, session: Session) -> Chat | None:
    """Ask the client of a just-ended session to rate it, if the survey is due.

    Due when CSAT_ENABLED, the session has an agent who replied in it (a notice is
    no reply), and the client can hear it: it has not blocked the bot and the desk
    has not blocked it. Call inside `session_end`'s transaction, holding the
    session's lock, after it is marked ENDED; returns the stored question.
    """
    from conversations.services.blocking import client_is_blocked  # blocking imports sessions

    if not settings.CSAT_ENABLED or session.cs_id is None or session.csat_asked_at is not None:
        return None
    client = Client.objects.filter(pk=session.client_id).first()
    if client is None or client.unreachable_since is not None or client_is_blocked(client):
        return None
    replied = Chat.objects.filter(
        session_id=session.pk, sender_type=Chat.SenderType.CS, is_notice=False
    ).exists()
    if not replied:
        return None
    # The callers build `ended` before the end and store it after: a microsecond
    # later, the survey is sent after it (the worker goes by created_at, then id).
    asked_at = timezone.now() + timedelta(microseconds=1)
    # One open survey per client: an older, unrated one's buttons stop counting.
    Session.objects.filter(client_id=session.client_id).exclude(pk=session.pk).exclude(
        csat_nonce=""
    ).update(csat_nonce="")
    session.csat_asked_at, session.csat_nonce = asked_at, secrets.token_urlsafe(12)
    session.save(update_fields=["csat_asked_at", "csat_nonce"])
    # Dated exactly `csat_asked_at`: that is how the claim recognises the survey.
    (question,) = notices_store(
        chats=[
            notice_build(
                session=session,
                key="csat_question",
                language_code=client.language_code,
                at=asked_at,
            )
        ]
    )
    return question


def csat_callback_data(*, session_id: str, nonce: str, rating: str) -> str:
    """The button's payload: `csat:<session id>:<nonce>:<1-5>` (49 bytes, ≤ 64)."""
    return f"{CALLBACK_PREFIX}:{session_id}:{nonce}:{rating}"


def csat_survey_buttons(*, session: Session, language_code: str) -> tuple[tuple[str, str], ...]:
    """The (label, callback data) pairs of the session's open survey: 1 to 5, one row."""
    return tuple(
        (
            bot_text("csat_button", language_code, rating=rating),
            csat_callback_data(session_id=session.pk, nonce=session.csat_nonce, rating=rating),
        )
        for rating in RATINGS
    )


def chat_is_survey(chat: Chat) -> bool:
    """Whether `chat` is its session's open survey (the notice dated `csat_asked_at`)."""
    session = chat.session
    return bool(chat.is_notice and session.csat_nonce and session.csat_asked_at == chat.created_at)


@dataclass(frozen=True)
class CsatAnswer:
    """What became of a press on a survey's button, and what the bot shows for it."""

    accepted: bool
    language_code: str = ""
    # The toast answering the press ("" for none).
    notice: str = ""
    # The message to edit: into `edit_text` (which drops the keyboard), or, with no
    # text, only its keyboard removed. None: leave the message alone.
    edit_message_id: int | None = None
    edit_text: str = ""


def _thanks(language: str, rating: str) -> str:
    """The thank-you, inviting the one comment unless CSAT_COMMENT_WINDOW is 0 (off)."""
    if settings.CSAT_COMMENT_WINDOW <= 0:
        return bot_text("csat_thanks_no_comment", language, rating=rating)
    minutes = max(1, math.ceil(settings.CSAT_COMMENT_WINDOW / 60))
    return bot_text("csat_thanks", language, rating=rating, minutes=minutes)


def csat_answer(*, data: str, telegram_id: str, message_id: int | None = None) -> CsatAnswer:
    """Store the rating a press gives, if the press is genuine and the survey open.

    `data` is untrusted: anything but `csat:<id>:<nonce>:<1-5>` naming a session of
    this Telegram user that still carries the nonce changes nothing and is told
    politely ("already rated" when it was, else "closed"); on such a session's own
    survey message the stale keyboard is removed. Accepted, the rating is stored
    once (the nonce is cleared in the same conditional UPDATE, and the rating's
    unique session refuses a second row) with the session's agent, and the survey
    message becomes a thank-you that invites one comment.
    """
    client = Client.objects.filter(telegram_id=str(telegram_id)).only("pk", "language_code").first()
    language = client.language_code if client else ""
    parts = data.split(":")
    if client is None or len(parts) != 4 or parts[0] != CALLBACK_PREFIX or parts[3] not in RATINGS:
        return _refused(language, rated=False)
    _, session_id, nonce, rating = parts
    session = (
        Session.objects.filter(pk=session_id, client=client)
        .only("pk", "cs_id", "csat_asked_at")
        .first()
    )
    if session is None:  # not this user's session (or none): nothing to say about it
        return _refused(language, rated=False)
    if nonce and _rate(session, nonce=nonce, rating=int(rating)):
        return CsatAnswer(
            accepted=True,
            language_code=language,
            edit_message_id=message_id,
            edit_text=_thanks(language, rating),
        )
    stale_survey = (
        message_id is not None
        and session.csat_asked_at is not None
        and Chat.objects.filter(
            session=session,
            session__csat_nonce="",  # closed: an open survey keeps its buttons
            is_notice=True,
            created_at=session.csat_asked_at,
            telegram_message_id=message_id,
        ).exists()
    )
    return _refused(
        language,
        rated=CsatRating.objects.filter(session=session).exists(),
        message_id=message_id if stale_survey else None,
    )


def _refused(language: str, *, rated: bool, message_id: int | None = None) -> CsatAnswer:
    return CsatAnswer(
        accepted=False,
        language_code=language,
        notice=bot_text("csat_already_rated" if rated else "csat_closed", language),
        edit_message_id=message_id,
    )


@transaction.atomic
def _rate(session: Session, *, nonce: str, rating: int) -> bool:
    """Claim the open survey and store its rating; False when it is not open."""
    if session.cs_id is not None:
        # The desk's lock order, agents before sessions (`session_end` holds them so
        # when it stores a survey); the rating's insert then reads the agent's row.
        list(User.objects.select_for_update().filter(pk=session.cs_id).values_list("pk"))
    claimed = Session.objects.filter(
        pk=session.pk, status=Session.Status.ENDED, csat_nonce=nonce
    ).update(csat_nonce="")
    if not claimed:
        return False
    try:
        with transaction.atomic():  # a savepoint: the refused insert leaves the rest usable
            CsatRating.objects.create(session_id=session.pk, agent_id=session.cs_id, rating=rating)
    except IntegrityError:
        return False  # rated already (the nonce was cleared meanwhile some other way)
    return True


def csat_comment_notice(*, rating: CsatRating, chat: Chat, language_code: str) -> Chat:
    """The short thank-you for a comment, in the ended session, after the comment."""
    at = max(timezone.now(), chat.created_at) + timedelta(microseconds=1)
    return notice_build(
        session=rating.session, key="csat_comment_thanks", language_code=language_code, at=at
    )


class CommentCatcher:
    """The ingest's view of comments: which message becomes a rating's comment.

    Asked only where a message would open a session (the client has none ACTIVE).
    The ratings awaiting a comment of the batch's clients without an ACTIVE session
    are read once per batch, when first needed (one query: those clients' sessions
    by index, then their ratings by the unique session). A rating takes one comment:
    once caught, the client's later messages, in this batch or another, open a session.
    """

    def __init__(self, *, clients: list[Client]) -> None:
        self._clients = clients
        self._open: dict[str, CsatRating] | None = None
        self.caught: list[CsatRating] = []

    def _read(self, now: datetime) -> dict[str, CsatRating]:
        since = now - timedelta(seconds=settings.CSAT_COMMENT_WINDOW)
        awaiting = (
            CsatRating.objects.select_related("session")
            .filter(session__client__in=self._clients, comment="", created_at__gte=since)
            .order_by("created_at")
        )
        return {rating.session.client_id: rating for rating in awaiting}  # the newest wins

    def rating_for(self, client: Client, *, text: str, now: datetime) -> CsatRating | None:
        """The rating `text` comments on, if it is a text while one awaits a comment."""
        if not text.strip() or not self._clients:
            return None
        if self._open is None:
            self._open = self._read(now)
        rating = self._open.pop(client.pk, None)  # one comment per rating
        if rating is not None:
            rating.comment = text
            self.caught.append(rating)
        return rating

    def save(self) -> None:
        """Store the caught comments (the caller holds the clients' locks)."""
        for rating in self.caught:
            CsatRating.objects.filter(pk=rating.pk, comment="").update(comment=rating.comment)
