"""The moments reports measure, stored when they happen (see conversations/reports.py).

Every assignment of a session to an agent (allocation, an admin's choice, a
transfer) is a row of `session_assignments`; that agent's first real reply after it
closes the row's first response. The session's first assignment is also kept on the
session (`first_assigned_at`: the queue wait). Callers hold the session's lock.
"""

from datetime import datetime

from django.utils import timezone

from conversations.models import Session, SessionAssignment


def assignments_record(*, sessions: list[Session], at: datetime | None = None) -> None:
    """Record that each of `sessions` (saved, with its new `cs`) was just assigned."""
    sessions = [session for session in sessions if session.cs_id is not None]
    if not sessions:
        return
    at = at or timezone.now()
    SessionAssignment.objects.bulk_create(
        SessionAssignment(session_id=session.pk, agent_id=session.cs_id, assigned_at=at)
        for session in sessions
    )
    first = [session for session in sessions if session.first_assigned_at is None]
    if first:  # the allocator dates the sessions it assigns; an admin's choice is dated here
        Session.objects.filter(
            pk__in=[session.pk for session in first], first_assigned_at__isnull=True
        ).update(first_assigned_at=at)
        for session in first:
            session.first_assigned_at = at


def first_reply_record(*, session_id: str, agent_id: int, at: datetime) -> None:
    """Close the session's current assignment's first response, if `agent_id` holds it
    and has not replied since it began. Notices and notes are not replies: only an
    agent's own message calls this."""
    current = (
        SessionAssignment.objects.filter(session_id=session_id)
        .order_by("-assigned_at", "-id")
        .values_list("pk", "agent_id", "first_reply_at")
        .first()
    )
    if current is None or current[1] != agent_id or current[2] is not None:
        return
    SessionAssignment.objects.filter(pk=current[0], first_reply_at__isnull=True).update(
        first_reply_at=at
    )
