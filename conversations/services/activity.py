"""The stored keys the console's lists are ordered by, kept true to the chats.

`sessions.last_activity_at` (newest message) and `sessions.unread_since` (oldest
unread client message) are indexed copies of what the chats say; computing them
per session on every page scanned every session. Every chat insert goes through
`chats_insert`, and every read mark through `chat_mark_read`, so they never lag.
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F, Max, Min, OuterRef, Subquery
from django.db.models.functions import Coalesce, Greatest

from conversations.models import Chat, Session


@transaction.atomic(savepoint=False)
def chats_insert(*, chats: list[Chat]) -> list[Chat]:
    """Insert new chats and move their sessions' activity keys up to them.

    Three queries for any number of chats and sessions, of a size that does not grow
    with them beyond the ids, in the caller's transaction if there is one.

    The sessions' rows are locked first, in key order: a chat's insert takes a shared
    lock on its session (the foreign key check), and upgrading that to update the
    session deadlocks with any writer of the session queued in between (a reply, a
    mark-read).
    """
    if not chats:
        return chats
    list(
        Session.objects.select_for_update()
        .filter(pk__in={chat.session_id for chat in chats})
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    chats = Chat.objects.bulk_create(chats)
    # From the chats just written, by index: a statement of constant size, where
    # values per session would cost the bot's CPU to compile on every batch.
    changes = {"last_activity_at": Greatest(F("last_activity_at"), _newest_chat())}
    unread = {c.pk for c in chats if c.sender_type == Chat.SenderType.CLIENT and not c.is_read}
    if unread:
        changes["unread_since"] = Coalesce(F("unread_since"), _oldest_unread())
    Session.objects.filter(pk__in={chat.session_id for chat in chats}).update(**changes)
    for chat in chats:
        if Chat.session.is_cached(chat):
            session = chat.session
            session.last_activity_at = max(session.last_activity_at, chat.created_at)
            if chat.pk in unread:
                session.unread_since = min(session.unread_since or chat.created_at, chat.created_at)
    return chats


def _chats_of_outer_session():
    return Chat.objects.filter(session=OuterRef("pk")).order_by().values("session")


def _newest_chat() -> Subquery:
    return Subquery(_chats_of_outer_session().annotate(at=Max("created_at")).values("at"))


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
    Session.objects.filter(pk__in=list(session_ids)).update(
        last_activity_at=Greatest(F("created_at"), Coalesce(_newest_chat(), F("created_at"))),
        unread_since=_oldest_unread(),
    )
