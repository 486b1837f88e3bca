"""Reads of conversations for the bot, the console and the API."""

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

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


SESSIONS_PER_PAGE = 50
CHATS_PER_PAGE = 50
LIST_ORDERS = ("activity", "waiting")


def _unread_client_chats() -> QuerySet[Chat]:
    """The client's unread messages of the outer session (the spec's idx_chats_unread)."""
    return Chat.objects.filter(
        session=OuterRef("pk"), sender_type=Chat.SenderType.CLIENT, is_read=False
    )


def session_rows() -> QuerySet[Session]:
    """Sessions as the list shows them: each with its unread count and last message,
    computed by correlated subqueries rather than one query per row."""
    last_chat = Chat.objects.filter(session=OuterRef("pk")).order_by("-created_at", "-id")
    unread_count = (
        _unread_client_chats().order_by().values("session").annotate(n=Count("pk")).values("n")
    )
    return Session.objects.select_related("client", "cs").annotate(
        unread_count=Coalesce(Subquery(unread_count), 0),
        last_message=Subquery(last_chat.values("message")[:1]),
        last_message_type=Subquery(last_chat.values("message_type")[:1]),
        last_message_at=Subquery(last_chat.values("created_at")[:1]),
        oldest_unread_at=Subquery(
            _unread_client_chats().order_by("created_at", "id").values("created_at")[:1]
        ),
    )


def session_list_for_agent(
    *,
    user: User,
    status: str | None = None,
    cs_id: str | None = None,
    q: str | None = None,
    order: str = "activity",
) -> QuerySet[Session]:
    """Return the console's session list as one query, whatever its length.

    A CS sees only its own ACTIVE sessions; an ADMIN sees all, filtered by agent,
    status and a client search.
    """
    sessions = session_rows()
    if not user.is_admin:
        sessions = sessions.filter(cs=user, status=Session.Status.ACTIVE)
    else:
        if status in Session.Status.values:
            sessions = sessions.filter(status=status)
        if cs_id:
            sessions = sessions.filter(cs_id=cs_id)
        if q := (q or "").strip():
            sessions = sessions.filter(
                Q(client__name__icontains=q)
                | Q(client__username__icontains=q.removeprefix("@"))
                | Q(client__telegram_id=q)
            )
    if order == "waiting":
        return sessions.order_by(
            F("oldest_unread_at").asc(nulls_last=True), F("last_activity_at").desc(), "id"
        )
    # Through idx_sessions_activity / idx_sessions_status_activity: the page's rows
    # are found without computing the others' subqueries.
    return sessions.order_by("-last_activity_at", "-id")


def session_waiting_queue() -> QuerySet[Session]:
    """ACTIVE sessions no agent has yet, next to be assigned first."""
    return (
        Session.objects.select_related("client")
        .filter(status=Session.Status.ACTIVE, cs__isnull=True)
        .order_by("created_at", "id")
    )


def chat_page_for_session(
    *, session: Session, before: str | None = None, limit: int = CHATS_PER_PAGE
) -> tuple[list[Chat], bool]:
    """Return up to `limit` chats before chat `before` (or the latest), oldest first,
    and whether older ones exist. Two queries at most, whatever the session's length."""
    chats = Chat.objects.filter(session=session)
    if before:
        older_than = Chat.objects.filter(session=session, pk=before).values("created_at")
        # (created_at, id) is the total order: equal timestamps are common in a burst.
        chats = chats.filter(
            Q(created_at__lt=Subquery(older_than))
            | Q(created_at=Subquery(older_than), id__lt=before)
        )
    page = list(chats.order_by("-created_at", "-id")[: limit + 1])
    has_older = len(page) > limit
    return page[:limit][::-1], has_older


def session_history_for_client(*, user: User, session: Session) -> QuerySet[Session]:
    """The client's other sessions that `user` may open, newest first."""
    sessions = Session.objects.filter(client_id=session.client_id).exclude(pk=session.pk)
    if not user.is_admin:
        sessions = sessions.filter(cs=user)
    return sessions.order_by("-created_at")


def agent_list_for_transfer(*, session: Session) -> QuerySet[User]:
    """Online, active CS agents other than the session's own."""
    return (
        User.objects.filter(role=User.Role.CS, status_online=True, is_active=True)
        .exclude(pk=session.cs_id)
        .order_by("name")
    )


def agent_list() -> QuerySet[User]:
    """Every active CS agent, for an ADMIN's filters and assignments."""
    return User.objects.filter(role=User.Role.CS, is_active=True).order_by("name")
