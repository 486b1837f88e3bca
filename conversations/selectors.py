"""Reads of conversations for the bot, the console and the API."""

from conversations.models import Session


def queue_position(*, session: Session) -> int:
    """1 for the next session to be assigned; 0 when the session has an agent."""
    if session.cs_id is not None:
        return 0
    return Session.objects.filter(
        status=Session.Status.ACTIVE, cs__isnull=True, created_at__lte=session.created_at
    ).count()
