"""Sessions' last activity: the stored key the console's lists are ordered by."""

from datetime import datetime

from django.db.models import Case, DateTimeField, F, Value, When
from django.db.models.functions import Greatest

from conversations.models import Chat, Session


def chats_insert(*, chats: list[Chat]) -> list[Chat]:
    """Insert new chats and move their sessions' `last_activity_at` up to them.

    Every chat is inserted through here, so a session's stored activity never lags
    its messages. Two queries for any number of chats and sessions; call it inside
    the transaction that writes them (it takes the sessions' row locks).
    """
    chats = Chat.objects.bulk_create(chats)
    newest: dict[str, datetime] = {}
    for chat in chats:
        newest[chat.session_id] = max(newest.get(chat.session_id, chat.created_at), chat.created_at)
    if newest:
        # Greatest: a message dated earlier (a late redelivery) never moves it back.
        Session.objects.filter(pk__in=newest).update(
            last_activity_at=Greatest(
                F("last_activity_at"),
                Case(
                    *(When(pk=pk, then=Value(at)) for pk, at in newest.items()),
                    output_field=DateTimeField(),
                ),
            )
        )
    for chat in chats:
        if Chat.session.is_cached(chat):
            chat.session.last_activity_at = max(chat.session.last_activity_at, chat.created_at)
    return chats
