"""Session lifecycle and the spec's least-workload allocation, with its waiting queue.

Lock order, everywhere, to stay deadlock-free: client rows (by id) → online agent
rows (by id) → waiting session rows.
"""

from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import User
from conversations.models import Session

NEVER_ASSIGNED = datetime(1970, 1, 1, tzinfo=UTC)


class Allocator:
    """The spec's least-workload choice among online agents, locked for this transaction."""

    def __init__(self) -> None:
        # Lock every CS row, online or not, in id order: allocations and presence
        # changes then queue on the same locks in the same order, so they serialise
        # without deadlocks and the workloads read next cannot go stale before commit.
        self.staff = {
            agent.id: agent
            for agent in User.objects.select_for_update().filter(role=User.Role.CS).order_by("id")
        }
        self.loads = dict(
            Session.objects.filter(status=Session.Status.ACTIVE, cs__role=User.Role.CS)
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
        self.loads[agent.id] = self.loads.get(agent.id, 0) + 1
        self.assigned_agents.add(agent)
        return True

    def save(self) -> None:
        if self.assigned_agents:
            User.objects.bulk_update(self.assigned_agents, ["last_assigned_at"])


@transaction.atomic
def session_end(*, session: Session) -> Session:
    """End an ACTIVE session and hand the freed capacity to the waiting queue."""
    session = Session.objects.select_for_update().get(pk=session.pk)
    if session.status == Session.Status.ENDED:
        return session
    session.status = Session.Status.ENDED
    session.ended_at = timezone.now()
    session.save(update_fields=["status", "ended_at"])
    if session.cs_id is not None:
        queue_drain()
    return session


@transaction.atomic
def session_end_for_client(*, telegram_id: str) -> Session | None:
    """End the client's ACTIVE session, if it has one (the client's /end)."""
    session = (
        Session.objects.select_for_update()
        .filter(client__telegram_id=telegram_id, status=Session.Status.ACTIVE)
        .first()
    )
    return session_end(session=session) if session else None


@transaction.atomic
def queue_drain(allocator: Allocator | None = None) -> list[Session]:
    """Assign waiting sessions, oldest first, while any online agent has capacity.

    Called when an agent comes online, ends a session or gains capacity.
    """
    allocator = allocator or Allocator()
    if not allocator.agents:
        return []
    assigned = []
    waiting = Session.objects.select_for_update().filter(
        status=Session.Status.ACTIVE, cs__isnull=True
    )
    for session in waiting.order_by("created_at", "id"):
        if not allocator.assign(session):
            break
        assigned.append(session)
    Session.objects.bulk_update(assigned, ["cs"])
    allocator.save()
    return assigned


@transaction.atomic
def agent_presence_set(*, agent: User, online: bool) -> list[Session]:
    """Set an agent online or offline; coming online pulls waiting sessions from the queue.

    Going offline keeps the agent's sessions: clients are not reshuffled mid-conversation.
    """
    allocator = Allocator()  # locks first, like every allocation
    User.objects.filter(pk=agent.pk).update(status_online=online)
    agent.status_online = online
    if agent.id in allocator.staff:
        allocator.staff[agent.id].status_online = online
    return queue_drain(allocator) if online else []
