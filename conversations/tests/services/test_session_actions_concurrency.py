"""The console's session actions racing each other and the bot: MariaDB, real threads."""

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test import override_settings
from django.utils import timezone

from accounts.models import User
from conversations.models import Session
from conversations.services import (
    Sender,
    agent_presence_set,
    chat_record_incoming,
    session_assign,
    session_end,
    session_end_for_client,
    session_transfer,
)
from conversations.tests.console_helpers import go_online, make_session
from conversations.tests.services.test_concurrency import text

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]


def all_at_once(*calls: Callable[[], object]) -> list[object]:
    """Start `calls` together, each in its own thread and connection; return what each
    returned or raised, in order."""
    start = threading.Barrier(len(calls), timeout=10)

    def run(call: Callable[[], object]) -> object:
        try:
            # A lost lock wait fails the test in seconds rather than after MariaDB's 50.
            with connection.cursor() as cursor:
                cursor.execute("SET SESSION innodb_lock_wait_timeout = 5")
            start.wait()
            try:
                return call()
            except Exception as error:  # the caller judges what was raised
                return error
        finally:
            connections.close_all()  # each thread has its own connection

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [future.result() for future in [pool.submit(run, call) for call in calls]]


def refusal_code(outcome: object) -> str:
    """The code of a ValidationError outcome; anything else raised fails the test."""
    if isinstance(outcome, Exception) and not isinstance(outcome, ValidationError):
        raise AssertionError(f"unexpected {type(outcome).__name__}: {outcome}") from outcome
    assert isinstance(outcome, ValidationError), outcome
    return outcome.code


def agents(make_user, *names: str, online: bool = True) -> list[User]:
    made = [make_user(f"{name}@helpdesk.com") for name in names]
    if online:
        go_online(*made)
    return made


def loads() -> Counter:
    return Counter(
        Session.objects.filter(status=Session.Status.ACTIVE)
        .exclude(cs=None)
        .values_list("cs", flat=True)
    )


def open_sessions(first: int, count: int) -> list[Session]:
    """Clients write one after another: sessions open in this order, allocated or queued."""
    return [
        chat_record_incoming(incoming=text(str(n), 1)).session for n in range(first, first + count)
    ]


def test_two_admins_assigning_one_waiting_session_one_wins(make_user):
    cs1, cs2 = agents(make_user, "cs1", "cs2", online=False)  # admins assign online or not
    for _ in range(5):
        waiting = make_session(cs=None)
        User.objects.update(last_assigned_at=None)

        outcomes = all_at_once(
            partial(session_assign, session=waiting, agent=cs1),
            partial(session_assign, session=waiting, agent=cs2),
        )

        wins = [o for o in outcomes if isinstance(o, Session)]
        refusals = [refusal_code(o) for o in outcomes if not isinstance(o, Session)]
        assert len(wins) == 1
        assert refusals == ["assigned"]
        waiting.refresh_from_db()
        winner = wins[0].cs
        assert waiting.cs == winner
        assert waiting.status == Session.Status.ACTIVE
        stamped = set(User.objects.exclude(last_assigned_at=None).values_list("pk", flat=True))
        assert stamped == {winner.pk}


def end_in_console(session: Session) -> Session:
    return session_end(session=session)


def end_by_client(session: Session) -> Session | None:
    client = session.client
    return session_end_for_client(sender=Sender(telegram_id=client.telegram_id, name=client.name))


@pytest.mark.parametrize("end", [end_in_console, end_by_client], ids=["console", "client-/end"])
def test_a_transfer_racing_an_end_never_leaves_the_session_active(make_user, end):
    cs1, cs2 = agents(make_user, "cs1", "cs2")
    for _ in range(10):
        session = make_session(cs=cs1)

        transferred, ended = all_at_once(
            partial(session_transfer, session=session, to_agent=cs2), partial(end, session)
        )

        assert isinstance(ended, Session), f"ending raised {ended!r}"
        session.refresh_from_db()
        assert session.status == Session.Status.ENDED
        if isinstance(transferred, Session):  # it came first
            assert session.cs == cs2
        else:
            assert refusal_code(transferred) == "ended"
            assert session.cs == cs1


@override_settings(MAX_ACTIVE_SESSIONS_PER_CS=2)
def test_two_transfers_of_one_session_leave_it_with_one_target(make_user):
    source, target1, target2 = agents(make_user, "cs1", "cs2", "cs3")
    make_session(cs=source)  # the source is full; each target has a place left
    make_session(cs=target1)
    make_session(cs=target2)
    for _ in range(5):
        session = make_session(cs=source)

        outcomes = all_at_once(
            partial(session_transfer, session=session, to_agent=target1),
            partial(session_transfer, session=session, to_agent=target2),
        )

        done = [o for o in outcomes if isinstance(o, Session)]
        for refused in (o for o in outcomes if not isinstance(o, Session)):
            refusal_code(refused)  # a refusal, never another error
        assert done, outcomes
        session.refresh_from_db()
        assert session.status == Session.Status.ACTIVE
        assert session.cs in {s.cs for s in done}
        assert max(loads().values()) <= 2
        if len(done) == 2:  # one after the other: the later one decides
            owner = User.objects.get(pk=session.cs_id)
            other = User.objects.get(pk=({target1.pk, target2.pk} - {owner.pk}).pop())
            assert owner.last_assigned_at > other.last_assigned_at
        session_end(session=session)


def waiting_in_order() -> list[Session]:
    return list(
        Session.objects.filter(status=Session.Status.ACTIVE, cs=None).order_by("created_at", "id")
    )


@override_settings(MAX_ACTIVE_SESSIONS_PER_CS=1)
def test_a_transfer_to_a_full_agent_while_clients_arrive_serves_the_oldest_waiting(make_user):
    # The cap governs automatic allocation only: an explicit transfer may go to any
    # online agent (the console offers them all), so the target may end above the cap.
    cs1, cs2 = agents(make_user, "cs1", "cs2")
    given, kept, *queue = open_sessions(1, 4)
    assert (given.cs, kept.cs, queue[0].cs, queue[1].cs) == (cs1, cs2, None, None)

    outcomes = all_at_once(
        partial(session_transfer, session=given, to_agent=cs2),
        *[partial(chat_record_incoming, incoming=text(str(n), 1)) for n in range(10, 14)],
    )

    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    given.refresh_from_db()
    assert given.cs == cs2
    assert loads() == {cs2.pk: 2, cs1.pk: 1}  # the transfer only; the queue adds nothing
    assert Session.objects.get(pk=queue[0].pk).cs == cs1  # the freed place: oldest first
    assert waiting_in_order()[0] == queue[1]  # no arrival jumped the queue
    assert len(waiting_in_order()) == 5


@pytest.mark.parametrize(
    ("queued", "ending"),
    [(5, 4), (2, 5)],
    ids=["more-waiting-than-freed", "more-freed-than-waiting"],
)
@override_settings(MAX_ACTIVE_SESSIONS_PER_CS=2)
def test_ends_and_arrivals_at_once_fill_every_place_oldest_first(make_user, queued, ending):
    team = agents(make_user, "cs1", "cs2", "cs3")  # 6 places
    served = open_sessions(1, 6)
    queue = open_sessions(100, queued)
    assert sorted(loads().values()) == [2, 2, 2]
    assert waiting_in_order() == queue

    outcomes = all_at_once(
        *[partial(session_end, session=s) for s in served[:ending]],
        *[partial(chat_record_incoming, incoming=text(str(n), 1)) for n in range(200, 206)],
    )

    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert not errors, errors  # e.g. no deadlock (MariaDB 1213) escapes
    assert Session.objects.filter(status=Session.Status.ENDED).count() == ending
    assert loads() == {agent.pk: 2 for agent in team}  # every place taken, none beyond
    # Oldest first: the sessions that wait are exactly the newest ones.
    active = list(Session.objects.filter(status=Session.Status.ACTIVE).order_by("created_at", "id"))
    assert len(active) == 6 - ending + queued + 6
    assert [s.cs_id is None for s in active] == [False] * 6 + [True] * (len(active) - 6)


def test_a_transfer_to_an_agent_going_offline_lands_only_while_they_were_online(make_user):
    source, target = agents(make_user, "cs1", "cs2")

    def go_offline() -> tuple[list[Session], datetime]:
        pulled = agent_presence_set(agent=target, online=False)
        return pulled, timezone.now()  # taken after the commit

    for _ in range(6):
        agent_presence_set(agent=target, online=True)
        session = make_session(cs=source)

        transferred, went_offline = all_at_once(
            partial(session_transfer, session=session, to_agent=target), go_offline
        )

        assert isinstance(went_offline, tuple), f"going offline raised {went_offline!r}"
        pulled, offline_committed_at = went_offline
        assert pulled == []
        target.refresh_from_db()
        assert not target.status_online
        session.refresh_from_db()
        if isinstance(transferred, Session):
            # Both lock the agent rows first, so the transfer ran, stamp and all,
            # before the offline call could even start.
            assert session.cs == target
            assert target.last_assigned_at < offline_committed_at
        else:
            assert refusal_code(transferred) == "offline"
            assert session.cs == source
