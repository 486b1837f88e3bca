"""The stored keys the console's lists are ordered by, kept true to the chats.

`sessions.last_activity_at` (newest message) and `sessions.unread_since` (oldest
unread client message) are indexed copies of what the chats say; computing them
per session on every page scanned every session. Every chat insert goes through
`chats_insert`, and every read mark through `chat_mark_read`, so they never lag.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Case, DateTimeField, F, Max, Min, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce, Greatest, Least

from conversations.models import Chat, Session


def chats_insert(*, chats: list[Chat]) -> list[Chat]:
    """Insert new chats and move their sessions' activity keys up to them.

    Two queries for any number of chats and sessions. Call it inside the
    transaction that writes the chats (it takes the sessions' row locks).
    """
    chats = Chat.objects.bulk_create(chats)
    newest: dict[str, datetime] = {}
    oldest_unread: dict[str, datetime] = {}
    for chat in chats:
        newest[chat.session_id] = max(newest.get(chat.session_id, chat.created_at), chat.created_at)
        if chat.sender_type == Chat.SenderType.CLIENT and not chat.is_read:
            at = oldest_unread.get(chat.session_id, chat.created_at)
            oldest_unread[chat.session_id] = min(at, chat.created_at)
    if not newest:
        return chats
    # Greatest: a late redelivery dated earlier never moves the activity back.
    changes = {"last_activity_at": Greatest(F("last_activity_at"), _per_session(newest))}
    if oldest_unread:
        since = _per_session(oldest_unread)
        changes["unread_since"] = Case(
            *(When(pk=pk, then=Coalesce(Least(F("unread_since"), since), since))
              for pk in oldest_unread),
            default=F("unread_since"),
        )  # fmt: skip
    Session.objects.filter(pk__in=newest).update(**changes)
    for chat in chats:
        if Chat.session.is_cached(chat):
            session = chat.session
            session.last_activity_at = max(session.last_activity_at, newest[session.pk])
            if session.pk in oldest_unread:
                at = oldest_unread[session.pk]
                session.unread_since = min(session.unread_since or at, at)
    return chats


def _per_session(values: dict[str, datetime]) -> Case:
    return Case(
        *(When(pk=pk, then=Value(at)) for pk, at in values.items()),
        output_field=DateTimeField(),
    )


def _chats_of_outer_session():
    return Chat.objects.filter(session=OuterRef("pk")).order_by().values("session")


def _oldest_unread() -> Subquery:
    unread = _chats_of_outer_session().filter(sender_type=Chat.SenderType.CLIENT, is_read=False)
    return Subquery(unread.annotate(at=Min("created_at")).values("at"))


def session_unread_recount(*, session_ids: Iterable[str]) -> None:
    """Re-date `unread_since` from the chats after messages were marked read.

    From the chats rather than NULL: a message arriving meanwhile keeps its place.
    """
    Session.objects.filter(pk__in=list(session_ids)).update(unread_since=_oldest_unread())


def sessions_recount_activity(*, session_ids: Iterable[str]) -> None:
    """Re-date both keys from the chats, after chats were written some other way
    (the Django admin edits and deletes them directly)."""
    newest = Subquery(_chats_of_outer_session().annotate(at=Max("created_at")).values("at"))
    Session.objects.filter(pk__in=list(session_ids)).update(
        last_activity_at=Greatest(F("created_at"), Coalesce(newest, F("created_at"))),
        unread_since=_oldest_unread(),
    )
