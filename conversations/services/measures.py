"""The moments reports measure, stored when they happen (see conversations/reports.py).

Every assignment of a session to an agent (allocation, an admin's choice, a
transfer) is a row of `session_assignments`; that agent's first real reply after it
closes the row's first response. The session's first assignment is also kept on the
session (`first_assigned_at`: the queue wait). Callers hold the session's lock.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Exists, F, Min, OuterRef
from django.utils import timezone

from conversations.models import Chat, Session, SessionAssignment


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


@dataclass(frozen=True)
class BackfillResult:
    """What `measures_backfill` filled."""

    sessions: int  # sessions given their assignment
    first_assigned: int  # of them, whose `first_assigned_at` was empty (set to created_at)
    first_replies: int  # of them, whose assignment found a first reply


def measures_backfill(*, batch_size: int = 1000, using: str = DEFAULT_DB_ALIAS) -> BackfillResult:
    """Give every session that has an agent but no assignment (written by the Node
    version, or before assignments were recorded) its assignment, queue wait and first
    reply, so reports count it like a session of today.

    The Node version assigned a session when it opened it (it had no queue): the first
    assignment is the creation. It kept neither transfers nor which agent wrote a message:
    the one assignment goes to the session's agent, and its first reply is the first agent
    message that is not a notice from then on. A session with an assignment is never
    touched, so a second run changes nothing. Sessions are walked in id order, a
    transaction per `batch_size` of them, with constant memory; the live desk waits for
    at most one batch's locks.
    """
    sessions = first_assigned = first_replies = 0
    after = ""
    while True:
        with transaction.atomic(using=using):
            filled = _backfill_batch(after=after, size=batch_size, using=using)
        if filled is None:
            return BackfillResult(sessions, first_assigned, first_replies)
        after = filled[0]
        sessions, first_assigned, first_replies = (
            sessions + filled[1],
            first_assigned + filled[2],
            first_replies + filled[3],
        )


def _backfill_batch(*, after: str, size: int, using: str) -> tuple[str, int, int, int] | None:
    """Fill the next `size` sessions (by id, after `after`) missing their assignment;
    return the last id and the counts, or None when none is left."""
    # Locked like every writer of assignments does, so the allocator or a transfer
    # running now cannot give one of these sessions a second, concurrent first row.
    rows = list(
        Session.objects.using(using)
        .select_for_update()
        .filter(pk__gt=after, cs__isnull=False)
        .filter(~Exists(SessionAssignment.objects.filter(session_id=OuterRef("pk"))))
        .order_by("pk")
        .values_list("pk", "cs_id", "created_at", "first_assigned_at")[:size]
    )
    if not rows:
        return None
    ids = [pk for pk, _cs, _created, _first in rows]
    undated = [pk for pk, _cs, _created, first in rows if first is None]
    if undated:
        Session.objects.using(using).filter(pk__in=undated).update(
            first_assigned_at=F("created_at")
        )
    replies = dict(
        Chat.objects.using(using)
        .filter(
            session_id__in=ids,
            sender_type=Chat.SenderType.CS,
            is_notice=False,
            created_at__gte=F("session__first_assigned_at"),
        )
        .values("session_id")
        .annotate(first=Min("created_at"))
        .values_list("session_id", "first")
    )
    SessionAssignment.objects.using(using).bulk_create(
        SessionAssignment(
            session_id=pk,
            agent_id=cs_id,
            assigned_at=first or created,
            first_reply_at=replies.get(pk),
        )
        for pk, cs_id, created, first in rows
    )
    return ids[-1], len(rows), len(undated), len(replies)
