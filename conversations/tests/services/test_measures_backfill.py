"""backfill_measures: sessions the Node version wrote (an agent, chats, no assignment,
no measures) get the measures reports read, exactly once; everything else is left alone."""

import io
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import connection

from conversations.models import Chat, Client, Session, SessionAssignment
from conversations.services.measures import BackfillResult, measures_backfill

pytestmark = pytest.mark.django_db


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 5, 1, hour, minute, tzinfo=UTC)


def node_session(pk: str, client: Client, cs_id, created: str, *, ended: str | None = None):
    """A session row as the Node version inserted it: only the spec's columns."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO sessions (id, client_id, cs_id, status, created_at, ended_at) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            [pk, client.pk, cs_id, "ENDED" if ended else "ACTIVE", created, ended],
        )


def node_chat(pk: str, session_id: str, sender: str, created: str) -> None:
    """A chat row as the Node version inserted it (no notice flag: the default)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO chats (id, session_id, sender_type, message_type, message, file_url, "
            "is_read, created_at, telegram_file_id, local_file) "
            "VALUES (%s, %s, %s, 'TEXT', 'hi', NULL, 1, %s, '', '')",
            [pk, session_id, sender, created],
        )


def assignments() -> list[tuple]:
    return sorted(
        SessionAssignment.objects.values_list(
            "session_id", "agent_id", "assigned_at", "first_reply_at"
        )
    )


def first_assigned() -> dict[str, datetime | None]:
    return dict(Session.objects.values_list("pk", "first_assigned_at"))


@pytest.fixture
def node_era(make_user):
    """Node-era rows, plus one session this version assigned (with its assignment)."""
    cs1, cs2 = make_user("cs1@helpdesk.com"), make_user("cs2@helpdesk.com")
    clients = [Client.objects.create(telegram_id=str(n), name=f"Client {n}") for n in range(1, 7)]
    # Answered: the client wrote, the agent answered twice.
    node_session("s1", clients[0], cs1.pk, "2024-05-01 09:00:00", ended="2024-05-01 09:30:00")
    node_chat("c11", "s1", "CLIENT", "2024-05-01 09:01:00")
    node_chat("c12", "s1", "CS", "2024-05-01 09:03:00")
    node_chat("c13", "s1", "CS", "2024-05-01 09:10:00")
    # Never answered.
    node_session("s2", clients[1], cs2.pk, "2024-05-01 10:00:00", ended="2024-05-01 10:20:00")
    node_chat("c21", "s2", "CLIENT", "2024-05-01 10:00:00")
    # Nobody took it: no agent, so no assignment and no queue wait.
    node_session("s3", clients[2], None, "2024-05-01 10:30:00", ended="2024-05-01 11:00:00")
    node_chat("c31", "s3", "CLIENT", "2024-05-01 10:30:00")
    # Still ACTIVE across the upgrade: the desk's notice (this version's) is not a reply.
    node_session("s4", clients[3], cs1.pk, "2024-05-01 11:00:00")
    node_chat("c41", "s4", "CLIENT", "2024-05-01 11:00:00")
    Chat.objects.create(
        id="c42", session_id="s4", sender_type="CS", is_notice=True, created_at=at(11, 1)
    )
    node_chat("c43", "s4", "CS", "2024-05-01 11:05:00")
    # Its first assignment already dated (later than its creation): replies before it
    # belong to nobody's first response.
    node_session("s5", clients[4], cs2.pk, "2024-05-01 12:00:00", ended="2024-05-01 13:00:00")
    Session.objects.filter(pk="s5").update(first_assigned_at=at(12, 30))
    node_chat("c51", "s5", "CS", "2024-05-01 12:10:00")
    node_chat("c52", "s5", "CS", "2024-05-01 12:40:00")
    # This version's: assigned at 14:05, not answered yet, though an agent's message
    # (before the assignment) is there. The backfill must not touch it.
    node_session("s6", clients[5], cs1.pk, "2024-05-01 14:00:00")
    Session.objects.filter(pk="s6").update(first_assigned_at=at(14, 5))
    SessionAssignment.objects.create(session_id="s6", agent=cs1, assigned_at=at(14, 5))
    node_chat("c61", "s6", "CS", "2024-05-01 14:10:00")
    return cs1, cs2


class TestMeasuresBackfill:
    def test_it_fills_exactly_the_node_sessions_measures(self, node_era):
        cs1, cs2 = node_era

        result = measures_backfill(batch_size=2)

        assert result == BackfillResult(sessions=4, first_assigned=3, first_replies=3)
        assert assignments() == [
            ("s1", cs1.pk, at(9), at(9, 3)),
            ("s2", cs2.pk, at(10), None),
            ("s4", cs1.pk, at(11), at(11, 5)),
            ("s5", cs2.pk, at(12, 30), at(12, 40)),
            ("s6", cs1.pk, at(14, 5), None),
        ]
        assert first_assigned() == {
            "s1": at(9),
            "s2": at(10),
            "s3": None,
            "s4": at(11),
            "s5": at(12, 30),
            "s6": at(14, 5),
        }

    def test_a_second_run_changes_nothing(self, node_era):
        measures_backfill(batch_size=2)
        before = (assignments(), first_assigned(), list(SessionAssignment.objects.values("id")))

        result = measures_backfill(batch_size=2)

        assert result == BackfillResult(sessions=0, first_assigned=0, first_replies=0)
        assert (
            assignments(),
            first_assigned(),
            list(SessionAssignment.objects.values("id")),
        ) == before

    def test_a_session_with_an_assignment_or_without_agent_is_untouched(self, node_era):
        measures_backfill()

        assert SessionAssignment.objects.filter(session_id="s6").count() == 1
        assert SessionAssignment.objects.get(session_id="s6").first_reply_at is None
        assert not SessionAssignment.objects.filter(session_id="s3").exists()
        assert Session.objects.get(pk="s3").first_assigned_at is None

    def test_the_command_says_how_many_it_filled(self, node_era):
        output = io.StringIO()

        call_command("backfill_measures", "--batch-size", "3", stdout=output)
        call_command("backfill_measures", stdout=output)

        assert output.getvalue().splitlines() == [
            "filled 4 session(s): 3 first assignment(s) dated at creation, "
            "3 first reply(ies) found.",
            "filled 0 session(s): 0 first assignment(s) dated at creation, "
            "0 first reply(ies) found.",
        ]

    def test_setup_db_fills_a_node_database_it_migrates(self, node_era, settings):
        settings.DEBUG = False
        output = io.StringIO()

        call_command("setup_db", verbosity=0, stdout=output)

        assert SessionAssignment.objects.count() == 5
        assert output.getvalue().splitlines()[-1] == (
            "backfill_measures: filled 4 session(s) written before the reports' measures "
            "were stored."
        )
