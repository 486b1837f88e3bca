"""Reads of conversations for the bot, the console and the API."""

from functools import cached_property

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.models import User
from conversations.models import Chat, Client, Label, Session


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


def session_rows() -> QuerySet[Session]:
    """Sessions as the list shows them: each with its unread count and last message,
    computed by correlated subqueries rather than one query per row.

    Subqueries per row: order and slice by the stored, indexed keys first (see
    `session_list_page`), and annotate only the rows shown.
    """
    # The preview is the conversation's last real message: never the desk's notice.
    last_chat = Chat.objects.filter(session=OuterRef("pk"), is_notice=False).order_by(
        "-created_at", "-id"
    )
    unread_count = (
        Chat.objects.filter(
            session=OuterRef("pk"), sender_type=Chat.SenderType.CLIENT, is_read=False
        )  # the spec's idx_chats_unread
        .order_by()
        .values("session")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Session.objects.select_related("client", "cs").annotate(
        unread_count=Coalesce(Subquery(unread_count), 0),
        last_message=Subquery(last_chat.values("message")[:1]),
        last_message_type=Subquery(last_chat.values("message_type")[:1]),
        last_message_at=Subquery(last_chat.values("created_at")[:1]),
    )


def session_list_for_agent(
    *,
    user: User,
    status: str | None = None,
    cs_id: str | None = None,
    q: str | None = None,
    label_id: str | None = None,
) -> QuerySet[Session]:
    """The sessions `user`'s list holds, unordered and without the rows' annotations.

    A CS sees only its own ACTIVE sessions; an ADMIN sees all, filtered by agent,
    status and a client search. Both may keep the clients with one label.
    """
    sessions = Session.objects.all()
    if label_id:
        # A client holds a label once (client_labels' unique pair): no duplicate rows.
        sessions = sessions.filter(client__labels__id=label_id)
    if not user.is_admin:
        return sessions.filter(cs=user, status=Session.Status.ACTIVE)
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
    return sessions


def session_list_page(
    *, user: User, number: str | int | None = None, order: str = "activity", **filters
) -> Page:
    """One page of the console's list, in a constant number of queries at any size.

    "activity": newest activity first. "waiting": sessions with unread client
    messages first, the longest waiting first, then the rest by newest activity.
    Ids are paged through the stored keys' indexes; only the page's rows are then
    annotated (`session_rows`).
    """
    sessions = session_list_for_agent(user=user, **filters)
    if order == "waiting":
        ids = _WaitingFirstIds(sessions)
    else:
        ids = sessions.order_by("-last_activity_at", "-id").values_list("pk", flat=True)
    page = Paginator(ids, SESSIONS_PER_PAGE).get_page(number)
    rows = session_rows().in_bulk(list(page.object_list))
    page.object_list = [rows[pk] for pk in page.object_list if pk in rows]
    return page


class _WaitingFirstIds:
    """Ids of the sessions with unread client messages (longest waiting first), then
    of the others (newest activity first): a Paginator's object list for an order
    that no single index serves, each part paged through its own index."""

    def __init__(self, sessions: QuerySet[Session]) -> None:
        self.sessions = sessions
        waiting = Q(unread_since__isnull=False)
        self.parts = [
            sessions.filter(waiting).order_by("unread_since", "id"),
            sessions.exclude(waiting).order_by("-last_activity_at", "-id"),
        ]

    @cached_property
    def sizes(self) -> list[int]:
        counts = self.sessions.aggregate(
            all=Count("pk"), waiting=Count("pk", filter=Q(unread_since__isnull=False))
        )
        return [counts["waiting"], counts["all"] - counts["waiting"]]

    def count(self) -> int:
        return sum(self.sizes)

    def __getitem__(self, window: slice) -> list[str]:
        start, stop, ids = window.start or 0, window.stop, []
        for part, size in zip(self.parts, self.sizes, strict=True):
            if start < size and stop > 0:
                ids += part.values_list("pk", flat=True)[max(start, 0) : min(stop, size)]
            start, stop = start - size, stop - size
        return ids


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
    and whether older ones exist. Two queries at most, whatever the session's length,
    and a third when some of them answer another message (see `reply_target_id`)."""
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
    page = page[:limit][::-1]
    chat_reply_targets_attach(chats=page)
    return page, has_older


def chat_page_around(
    *, session: Session, chat_id: str, limit: int = CHATS_PER_PAGE
) -> tuple[list[Chat], bool] | None:
    """The page of the session's history around chat `chat_id` (a search result), oldest
    first, with whether older ones exist; None when the chat is not this session's.
    Two queries (and `chat_reply_targets_attach`'s), whatever the session's length."""
    chats = Chat.objects.filter(session=session)
    at = Chat.objects.filter(session=session, pk=chat_id).values("created_at")
    older = chats.filter(
        Q(created_at__lt=Subquery(at)) | Q(created_at=Subquery(at), id__lte=chat_id)
    ).order_by("-created_at", "-id")
    newer = chats.filter(
        Q(created_at__gt=Subquery(at)) | Q(created_at=Subquery(at), id__gt=chat_id)
    ).order_by("created_at", "id")
    before = list(older[: limit // 2 + 1])
    if not before or before[0].pk != chat_id:
        return None
    has_older = len(before) > limit // 2
    page = before[: limit // 2][::-1] + list(newer[: limit - limit // 2])
    chat_reply_targets_attach(chats=page)
    return page, has_older


def chat_reply_targets_attach(*, chats: list[Chat]) -> None:
    """Set `reply_target_id` on each chat: the chat of its session it answers, or None.

    One query, and only when some chat is a reply. A private chat numbers the client's
    and the bot's messages in one sequence, so a message id names one chat of the
    session (the unique key's index serves the lookup).
    """
    wanted = {(c.session_id, c.reply_to_message_id) for c in chats if c.reply_to_message_id}
    targets = {}
    if wanted:
        targets = {
            (session_id, message_id): pk
            for session_id, message_id, pk in Chat.objects.filter(
                session_id__in={session_id for session_id, _ in wanted},
                sender_type__in=Chat.SenderType.values,
                telegram_message_id__in={message_id for _, message_id in wanted},
            ).values_list("session_id", "telegram_message_id", "pk")
        }
    for chat in chats:
        chat.reply_target_id = targets.get((chat.session_id, chat.reply_to_message_id))


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


def agent_loads() -> QuerySet[User]:
    """Every active CS agent with `status_online` and `active_sessions` (its number of
    ACTIVE sessions), for the admins' load panel: one query, whatever the agents."""
    # A correlated count per agent over (status, cs): a join with every session ever
    # held took a second at 100,000 sessions.
    active = (
        Session.objects.filter(cs=OuterRef("pk"), status=Session.Status.ACTIVE)
        .order_by()
        .values("cs")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        User.objects.filter(role=User.Role.CS, is_active=True)
        .annotate(active_sessions=Coalesce(Subquery(active), 0))
        .order_by("name", "id")
    )


def agent_active_session_count(*, agent: User) -> int:
    """The agent's ACTIVE sessions: its load, against MAX_ACTIVE_SESSIONS_PER_CS."""
    return Session.objects.filter(cs=agent, status=Session.Status.ACTIVE).count()


def client_session_count(*, client_id: str) -> int:
    """Every session the client ever had, whoever served it: the client pane's count."""
    return Session.objects.filter(client_id=client_id).count()


def client_get_for_agent(*, user: User, client_id: str) -> Client:
    """Return the client if `user` may see it: any ADMIN; a CS that holds or held one
    of its sessions (the rule of `session_get_for_agent`, per client).

    Raises Client.DoesNotExist alike whether it is missing or another agent's.
    """
    clients = Client.objects.prefetch_related("labels")
    if not user.is_admin:
        clients = clients.filter(Exists(Session.objects.filter(client=OuterRef("pk"), cs=user)))
    return clients.get(pk=client_id)


def label_list() -> QuerySet[Label]:
    """Every label, by name: the choices of the profile form and the list's filter."""
    return Label.objects.order_by("name", "id")
