from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from conversations.models import Chat, Session
from conversations.selectors import queue_position
from conversations.services import (
    IncomingMessage,
    agent_presence_set,
    chat_record_incoming,
    chat_record_incoming_many,
    queue_drain,
    session_end,
)

pytestmark = pytest.mark.django_db


def message_from(telegram_id: str, message_id: int = 1) -> IncomingMessage:
    return IncomingMessage(
        telegram_id=telegram_id,
        name=f"Client {telegram_id}",
        username=None,
        telegram_message_id=message_id,
        message_type=Chat.MessageType.TEXT,
        text="hi",
    )


def open_session(telegram_id: str) -> Session:
    return chat_record_incoming(incoming=message_from(telegram_id)).session


@pytest.fixture
def agents(make_user):
    made = [make_user(f"cs{n}@helpdesk.com") for n in (1, 2, 3)]
    User.objects.filter(pk__in=[a.pk for a in made]).update(status_online=True)
    return made


class TestLeastWorkload:
    def test_new_sessions_go_to_the_agent_with_fewest_active_sessions(self, agents):
        cs1, cs2, cs3 = agents
        for n in range(6):
            open_session(f"{n}")
        assert sorted(Session.objects.values_list("cs", flat=True)) == sorted(
            [cs1.id, cs2.id, cs3.id] * 2
        )

    def test_ended_sessions_do_not_count(self, agents):
        sessions = [open_session(f"{n}") for n in range(3)]
        busy = sessions[0].cs
        for session in sessions[1:]:
            session_end(session=session)

        fourth = open_session("99")

        assert fourth.cs != busy

    def test_ties_go_to_the_agent_assigned_least_recently(self, agents):
        cs1, cs2, cs3 = agents
        now = timezone.now()
        User.objects.filter(pk=cs1.pk).update(last_assigned_at=now - timedelta(minutes=1))
        User.objects.filter(pk=cs2.pk).update(last_assigned_at=now - timedelta(minutes=9))
        User.objects.filter(pk=cs3.pk).update(last_assigned_at=now - timedelta(minutes=5))

        assert [open_session(f"{n}").cs for n in range(3)] == [cs2, cs3, cs1]

    def test_offline_agents_and_admins_get_nothing(self, agents, make_user):
        cs1, cs2, cs3 = agents
        User.objects.filter(pk__in=[cs1.pk, cs2.pk]).update(status_online=False)
        admin = make_user("boss@helpdesk.com", role=User.Role.ADMIN)
        User.objects.filter(pk=admin.pk).update(status_online=True)

        assert {open_session(f"{n}").cs for n in range(3)} == {cs3}


class TestQueue:
    def test_sessions_wait_when_no_agent_is_online(self, make_user):
        first, second = open_session("1"), open_session("2")
        assert (first.cs, second.cs) == (None, None)
        assert (queue_position(session=first), queue_position(session=second)) == (1, 2)

    def test_sessions_wait_when_every_agent_is_at_the_cap(self, agents, settings):
        settings.MAX_ACTIVE_SESSIONS_PER_CS = 1
        assigned = [open_session(f"{n}") for n in range(3)]
        waiting = open_session("waiting")

        assert all(s.cs for s in assigned)
        assert waiting.cs is None

    def test_an_agent_coming_online_takes_the_oldest_waiting_sessions(self, make_user, settings):
        settings.MAX_ACTIVE_SESSIONS_PER_CS = 2
        oldest, middle, newest = open_session("1"), open_session("2"), open_session("3")
        agent = make_user("cs1@helpdesk.com")
        User.objects.filter(pk=agent.pk).update(status_online=True)

        assigned = queue_drain()

        assert assigned == [oldest, middle]
        newest.refresh_from_db()
        assert newest.cs is None
        assert queue_position(session=newest) == 1

    def test_ending_a_session_hands_its_place_to_the_oldest_waiting(self, agents, settings):
        settings.MAX_ACTIVE_SESSIONS_PER_CS = 1
        assigned = [open_session(f"{n}") for n in range(3)]
        first_waiting, second_waiting = open_session("w1"), open_session("w2")

        session_end(session=assigned[1])

        first_waiting.refresh_from_db()
        second_waiting.refresh_from_db()
        assert first_waiting.cs == assigned[1].cs
        assert second_waiting.cs is None


class TestPresence:
    def test_coming_online_pulls_waiting_sessions(self, make_user):
        waiting = open_session("1")
        agent = make_user("cs1@helpdesk.com")

        assigned = agent_presence_set(agent=agent, online=True)

        waiting.refresh_from_db()
        assert assigned == [waiting]
        assert waiting.cs == agent
        agent.refresh_from_db()
        assert agent.status_online

    def test_going_offline_keeps_the_agents_sessions(self, agents):
        session = open_session("1")
        agent_presence_set(agent=session.cs, online=False)

        session.refresh_from_db()
        assert session.cs is not None
        assert open_session("2").cs != session.cs

    def test_the_presence_command_sets_an_agent_online(self, make_user):
        waiting = open_session("1")
        make_user("cs9@helpdesk.com")
        out = StringIO()

        call_command("presence", "CS9@helpdesk.com", "--online", stdout=out)

        waiting.refresh_from_db()
        assert waiting.cs.email == "cs9@helpdesk.com"
        assert "1 waiting session(s) assigned" in out.getvalue()


class TestManyAtOnce:
    def test_a_batch_keeps_order_dedupes_and_spreads_new_sessions(self, agents):
        batch = [message_from(str(n % 6), message_id=n) for n in range(12)]
        batch.append(message_from("0", message_id=0))  # the same message again

        results = chat_record_incoming_many(incomings=batch)

        assert [r.created for r in results] == [True] * 12 + [False]
        assert results[-1].chat == results[0].chat
        assert [r.session_opened for r in results[:12]] == [True] * 6 + [False] * 6
        loads = Counter(Session.objects.values_list("cs", flat=True))
        assert sorted(loads.values()) == [2, 2, 2]
        for client in range(6):
            ids = Chat.objects.filter(
                session__client__telegram_id=str(client), sender_type=Chat.SenderType.CLIENT
            ).order_by("created_at", "id")
            assert list(ids.values_list("telegram_message_id", flat=True)) == [client, client + 6]
