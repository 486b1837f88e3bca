"""Reads of conversations for the bot, the console and the API."""

from accounts.models import User
from conversations.models import Chat, Session


def queue_position(*, session: Session) -> int:
    """1 for the next session to be assigned; 0 when the session has an agent."""
    if session.cs_id is not None:
        return 0
    return Session.objects.filter(
        status=Session.Status.ACTIVE, cs__isnull=True, created_at__lte=session.created_at
    ).count()


def session_get_for_agent(*, user: User, session_id: str) -> Session:
    """Return the session if `user` may see it: its assigned CS, or any ADMIN.

    Raises Session.DoesNotExist alike whether it is missing or someone else's, so an
    agent cannot even learn that another agent's session exists.
    """
    sessions = Session.objects.select_related("client", "cs")
    if not user.is_admin:
        sessions = sessions.filter(cs=user)
    return sessions.get(pk=session_id)


def chat_get_for_agent(*, user: User, chat_id: str) -> Chat:
    """Return the chat if `user` may see its session (see `session_get_for_agent`)."""
    chats = Chat.objects.select_related("session__client")
    if not user.is_admin:
        chats = chats.filter(session__cs=user)
    return chats.get(pk=chat_id)
