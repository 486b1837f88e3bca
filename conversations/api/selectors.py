"""Reads the REST API needs beyond conversations.selectors."""

from django.db.models import QuerySet

from accounts.models import User
from conversations.models import Session
from conversations.selectors import session_list_for_agent, session_rows


def session_list_for_api(*, user: User, status: str | None = None) -> QuerySet[Session]:
    """The console's list, except that a CS also sees its ENDED sessions when it asks.

    An ADMIN gets `session_list_for_agent` as is; the console shows a CS only its ACTIVE
    sessions, but an API client may want its history, so a CS gets its own sessions
    in any status (filtered by `status`), in the same rows and order.
    """
    if user.is_admin:
        return session_list_for_agent(user=user, status=status)
    sessions = session_rows().filter(cs=user)
    if status:
        sessions = sessions.filter(status=status)
    return sessions.order_by("-last_activity_at", "-id")
