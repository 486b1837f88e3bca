"""Session lifecycle and the spec's least-workload allocation, with its waiting queue.

Lock order, everywhere, to stay deadlock-free: client rows → agent rows → session
rows, each by id. Rows are locked by key (a locking scan waits on every row it
passes) and before an insert names them: a foreign key check takes a shared lock,
and upgrading it deadlocks with a writer queued in between. bench/contention.py
runs every writer at once and counts deadlocks.
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from conversations import events
from conversations.models import Chat, Client, Session
from conversations.services.activity import session_unread_recount
from conversations.services.clients import Sender, clients_create_missing, clients_lock
from conversations.services.csat import csat_survey_store
from conversations.services.measures import assignments_record
from conversations.services.notices import client_notify_locked, notice_build, notices_store

NEVER_ASSIGNED = datetime(1970, 1, 1, tzinfo=UTC)


class Allocator:
    """The spec's least-workload choice among online agents, locked for this transaction."""

    def __init__(self) -> None:
        # Lock every CS row, online or not, in id order: allocations and presence
        # changes then queue on the same locks in the same order, so they serialise
        # without deadlocks and the workloads read next cannot go stale before commit.
        # By key: a locking scan for the role would wait on every user row it passes,
        # an admin's too, which an insert naming the admin (a block event) holds.
        agent_ids = list(User.objects.filter(role=User.Role.CS).values_list("id", flat=True))
        self.staff = {
            agent.id: agent
            for agent in User.objects.select_for_update()
            .filter(pk__in=agent_ids, role=User.Role.CS)
            .order_by("id")
        }
        self.loads = dict(
            Session.objects.filter(status=Session.Status.ACTIVE, cs_id__in=list(self.staff))
            .values_list("cs")
            .annotate(active=Count("id"))
        )
        self.assigned_agents: set[User] = set()

    @property
    def agents(self) -> list[User]:
        """The agents who may take sessions now."""
        return [a for a in self.staff.values() if a.status_online and a.is_active]

    def assign(self, session: Session) -> bool:
        """Give `session` (unsaved, or saved by the caller) to the least busy agent."""
        cap = settings.MAX_ACTIVE_SESSIONS_PER_CS
        available = [a for a in self.agents if not cap or self.loads.get(a.id, 0) < cap]
        if not available:
            return False
        agent = min(
            available,
            key=lambda a: (self.loads.get(a.id, 0), a.last_assigned_at or NEVER_ASSIGNED, a.id),
        )
        session.cs = agent
        agent.last_assigned_at = timezone.now()
        session.first_assigned_at = session.first_assigned_at or agent.last_assigned_at
        self.loads[agent.id] = self.loads.get(agent.id, 0) + 1
        self.assigned_agents.add(agent)
        return True

    def save(self) -> None:
        if self.assigned_agents:
            User.objects.bulk_update(self.assigned_agents, ["last_assigned_at"])


@transaction.atomic
def session_end(*, session: Session, survey: bool = True) -> Session:
    """End an ACTIVE session and hand the freed capacity to the waiting queue.

    With `survey`, the client is asked to rate it when that is due (see
    `csat_survey_store`); a caller that stores an `ended` notice builds it before
    this call, so the survey is dated after it.
    """
    # The module's lock order: the client (ending it updates the session's row, and
    # that checks the client's), the agents, then the session.
    list(Client.objects.select_for_update().filter(pk=session.client_id).values_list("pk"))
    allocator = Allocator()
    session = Session.objects.select_for_update().get(pk=session.pk)
    if session.status == Session.Status.ENDED:
        return session
    session.status = Session.Status.ENDED
    session.ended_at = timezone.now()
    session.save(update_fields=["status", "ended_at"])
    if survey:
        csat_survey_store(session=session)
    events.session_changed(session)
    if session.cs_id is None:
        events.queue_changed()
    else:
        if session.cs_id in allocator.loads:
            allocator.loads[session.cs_id] -= 1
        queue_drain(allocator)
    return session


def session_end_for_client(*, sender: Sender) -> Session | None:
    """End the client's ACTIVE session, if it has one (the client's /end), and say so.

    The `ended` notice goes into the session it ends, in the same transaction;
    with nothing to end, `nothing_to_end` goes where `client_notify` puts notices.
    """
    clients_create_missing(senders={sender.telegram_id: sender})
    with transaction.atomic():
        # The client row first, as when its messages are recorded; session_end then
        # takes the agents and the session.
        client = clients_lock(senders={sender.telegram_id: sender})[sender.telegram_id]
        session = Session.objects.filter(client=client, status=Session.Status.ACTIVE).first()
        if session is None:
            client_notify_locked(client=client, key="nothing_to_end")
            return None
        # Built (and dated) before the end, inserted after it: inserting touches the
        # session row, which session_end may lock only after the agents'.
        notice = notice_build(session=session, key="ended", language_code=client.language_code)
        session = session_end(session=session)
        notices_store(chats=[notice])
        return session


@transaction.atomic
def queue_drain(allocator: Allocator | None = None) -> list[Session]:
    """Assign waiting sessions, oldest first, while any online agent has capacity.

    Called when an agent comes online, ends a session or gains capacity.
    """
    allocator = allocator or Allocator()
    if not allocator.agents:
        return []
    assigned = []
    # Locked by key, like the agents: a locking read through a status index would
    # wait on the entry of every ACTIVE session a chat's insert is updating.
    waiting = Session.objects.filter(status=Session.Status.ACTIVE, cs__isnull=True)
    waiting_ids = list(waiting.values_list("id", flat=True))
    locked = Session.objects.select_for_update().filter(
        pk__in=waiting_ids, status=Session.Status.ACTIVE, cs__isnull=True
    )
    for session in locked.order_by("created_at", "id"):
        if not allocator.assign(session):
            break
        assigned.append(session)
    Session.objects.bulk_update(assigned, ["cs", "first_assigned_at"])
    assignments_record(sessions=assigned)
    allocator.save()
    for session in assigned:
        events.session_changed(session)
    if assigned:
        events.queue_changed()
        _tell_clients_who_answers(assigned)
    return assigned


@transaction.atomic
def agent_presence_set(*, agent: User, online: bool, from_console: bool = False) -> list[Session]:
    """Set an agent online or offline; coming online pulls waiting sessions from the queue.

    Going offline keeps the agent's sessions: clients are not reshuffled mid-conversation.
    Online `from_console` lasts while the agent's console is open (see
    `agent_presence_sweep`); online from elsewhere (a command, the API) lasts until
    changed, until a console opens.
    """
    allocator = Allocator()  # locks first, like every allocation
    fields = {"status_online": online}
    if online:
        fields["console_seen_at"] = timezone.now() if from_console else None
    User.objects.filter(pk=agent.pk).update(**fields)
    agent.status_online = online
    if agent.id in allocator.staff:
        allocator.staff[agent.id].status_online = online
    events.presence_changed(agent.pk, online=online)
    return queue_drain(allocator) if online else []


def agent_console_seen(*, agent: User) -> None:
    """Note that the agent's console is open (or just closed): the grace period starts anew."""
    User.objects.filter(pk=agent.pk).update(console_seen_at=timezone.now())


@transaction.atomic
def agent_presence_sweep() -> list[User]:
    """Take offline the agents whose consoles have all been closed for the grace period.

    Run when a console closes (after the grace period) and periodically by the
    delivery worker, which also covers a web process that died with consoles open.
    """
    grace = settings.CONSOLE_PRESENCE_GRACE
    if not grace:
        return []
    cutoff = timezone.now() - timedelta(seconds=grace)
    stale = User.objects.filter(role=User.Role.CS, status_online=True, console_seen_at__lt=cutoff)
    if not stale.exists():  # the common case, without taking the allocation locks
        return []
    allocator = Allocator()  # re-read under the locks: a console may have reconnected
    gone = [
        agent
        for agent in allocator.staff.values()
        if agent.status_online and agent.console_seen_at and agent.console_seen_at < cutoff
    ]
    User.objects.filter(pk__in=[agent.pk for agent in gone]).update(status_online=False)
    for agent in gone:
        agent.status_online = False
        events.presence_changed(agent.pk, online=False)
    return gone


@transaction.atomic
def session_assign(*, session: Session, agent: User) -> Session:
    """Give a waiting session to a CS chosen by an ADMIN, online or not."""
    allocator = Allocator()  # agents first, then the session: the module's lock order
    session = Session.objects.select_for_update().get(pk=session.pk)
    if session.status != Session.Status.ACTIVE:
        raise ValidationError(_("This session has ended."), code="ended")
    if session.cs_id is not None:
        # Two admins picking the same waiting session: the second must not override.
        raise ValidationError(_("This session already has an agent."), code="assigned")
    target = allocator.staff.get(agent.pk)
    if target is None or not target.is_active:
        raise ValidationError(_("Sessions can only go to an active CS agent."), code="not_cs")
    session.cs = target
    session.save(update_fields=["cs"])
    assignments_record(sessions=[session])
    User.objects.filter(pk=target.pk).update(last_assigned_at=timezone.now())
    events.session_changed(session)
    events.queue_changed()
    _tell_clients_who_answers([session])
    return session


@transaction.atomic
def session_transfer(*, session: Session, to_agent: User) -> Session:
    """Hand an ACTIVE session to another online CS; the freed capacity serves the queue."""
    allocator = Allocator()  # agents first, then the session: the module's lock order
    session = Session.objects.select_for_update().get(pk=session.pk)
    if session.status != Session.Status.ACTIVE:
        raise ValidationError(_("This session has ended."), code="ended")
    target = allocator.staff.get(to_agent.pk)
    if target is None or not target.is_active:
        raise ValidationError(_("Sessions can only go to an active CS agent."), code="not_cs")
    if not target.status_online:
        raise ValidationError(_("%(name)s is offline.") % {"name": target.name}, code="offline")
    if target.pk == session.cs_id:
        raise ValidationError(_("The session is already theirs."), code="same_agent")
    previous = session.cs_id
    session.cs = target
    session.save(update_fields=["cs"])
    assignments_record(sessions=[session])
    User.objects.filter(pk=target.pk).update(last_assigned_at=timezone.now())
    # Keep the allocator's loads true to this transaction before the queue reads them.
    allocator.loads[target.pk] = allocator.loads.get(target.pk, 0) + 1
    if previous in allocator.loads:
        allocator.loads[previous] -= 1
    events.session_changed(session, previous_agent_id=previous)
    _tell_clients_who_answers([session], key="transferred")
    queue_drain(allocator)
    return session


def _tell_clients_who_answers(sessions: list[Session], *, key: str = "assigned") -> None:
    """Tell each client which agent answers now: after waiting in the queue, or a transfer."""
    languages = dict(
        Client.objects.filter(pk__in={s.client_id for s in sessions}).values_list(
            "id", "language_code"
        )
    )
    notices_store(
        chats=[
            notice_build(
                session=session,
                key=key,
                language_code=languages.get(session.client_id, ""),
                name=session.cs.name,
            )
            for session in sessions
        ]
    )


@transaction.atomic(savepoint=False)  # no savepoint's queries on a page that reads
def chat_mark_read(*, session: Session) -> int:
    """Mark the client's messages in `session` read; return how many changed.

    One UPDATE on the spec's (session, sender_type, is_read) index, and one to re-date
    the session's `unread_since` when anything changed: both or neither, so the
    session's unread key never disagrees with its chats.
    """
    marked = Chat.objects.filter(
        session=session, sender_type=Chat.SenderType.CLIENT, is_read=False
    ).update(is_read=True)
    if marked:
        session_unread_recount(session_ids=[session.pk])
        events.session_changed(session)  # the unread badge, in every open tab
    return marked
