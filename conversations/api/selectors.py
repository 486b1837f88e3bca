"""Reads the REST API needs beyond conversations.selectors."""

from django.db.models import QuerySet

from accounts.models import User
from conversations.models import Session
from conversations.selectors import session_rows


def session_list_for_api(*, user: User, status: str | None = None) -> QuerySet[Session]:
    """The console's rows, newest activity first; a CS also sees its ENDED sessions.

    The console shows a CS only its ACTIVE sessions, but an API client may want its
    history, so a CS gets its own sessions in any status (filtered by `status`).
    """
    sessions = session_rows()
    if not user.is_admin:
        sessions = sessions.filter(cs=user)
    if status:
        sessions = sessions.filter(status=status)
    # Through the stored key's index: only the page's rows compute their subqueries.
    return sessions.order_by("-last_activity_at", "-id")
