"""The spec's db:* scripts as manage.py commands: seed, setup_db, reset_db."""

import builtins
import io
import uuid

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import RequestFactory

from accounts.models import User
from conversations.management.database import database_create_if_missing
from conversations.models import Chat, Client, Session


def log_in(email: str, password: str):
    """authenticate() as the login view calls it: axes refuses a call without the request."""
    return authenticate(RequestFactory().post("/login/"), email=email, password=password)


def table_counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "clients": Client.objects.count(),
        "sessions": Session.objects.count(),
        "chats": Chat.objects.count(),
    }


@pytest.mark.django_db
class TestSeed:
    def test_it_creates_the_specs_default_accounts_and_sample_data(self):
        call_command("seed", verbosity=0)

        for email, password in [
            ("admin@helpdesk.com", "admin123"),
            ("cs1@helpdesk.com", "cs123"),
            ("cs2@helpdesk.com", "cs123"),
            ("cs3@helpdesk.com", "cs123"),
        ]:
            assert log_in(email, password) is not None, email
        assert User.objects.get(email="admin@helpdesk.com").role == User.Role.ADMIN
        assert set(User.objects.filter(role=User.Role.CS).values_list("email", flat=True)) == {
            "cs1@helpdesk.com",
            "cs2@helpdesk.com",
            "cs3@helpdesk.com",
        }
        assert set(Client.objects.values_list("name", flat=True)) == {
            "John Doe",
            "Jane Smith",
            "Bob Wilson",
        }
        session = Session.objects.get()
        assert session.status == Session.Status.ACTIVE
        assert session.client.name == "John Doe"
        assert session.cs.email == "cs1@helpdesk.com"
        texts = list(session.chats.values_list("sender_type", "message_type"))
        assert len(texts) >= 2
        assert {sender for sender, _ in texts} == {"CLIENT", "CS"}
        assert {kind for _, kind in texts} == {"TEXT"}

    def test_the_sample_session_is_measured_as_reports_read_it(self):
        call_command("seed", verbosity=0)

        session = Session.objects.get()
        (assignment,) = session.assignments.all()
        first_reply = session.chats.filter(sender_type="CS").earliest("created_at")
        assert session.first_assigned_at == session.created_at == assignment.assigned_at
        assert assignment.agent == session.cs
        assert assignment.first_reply_at == first_reply.created_at

    def test_running_it_twice_creates_no_duplicates(self):
        call_command("seed", verbosity=0)
        first = table_counts()
        call_command("seed", verbosity=0)
        assert table_counts() == first

    def test_it_keeps_a_password_changed_since(self):
        call_command("seed", verbosity=0)
        admin = User.objects.get(email="admin@helpdesk.com")
        admin.set_password("a-much-better-one-7")
        admin.save()

        call_command("seed", verbosity=0)

        assert log_in("admin@helpdesk.com", "a-much-better-one-7")
        assert log_in("admin@helpdesk.com", "admin123") is None


@pytest.mark.django_db
class TestSetupDb:
    def test_with_debug_off_it_seeds_nothing_and_says_how_to_make_an_admin(self, settings):
        settings.DEBUG = False
        output = io.StringIO()

        call_command("setup_db", verbosity=0, stdout=output)

        assert table_counts() == {"users": 0, "clients": 0, "sessions": 0, "chats": 0}
        assert output.getvalue().strip().splitlines() == [
            "DEBUG is off: no sample accounts or data. Create the first admin with "
            "`python manage.py createadmin --email you@example.com`."
        ]

    def test_with_debug_on_it_seeds_the_sample_accounts_and_data(self, settings):
        settings.DEBUG = True

        call_command("setup_db", verbosity=0, stdout=io.StringIO())

        assert table_counts() == {"users": 4, "clients": 3, "sessions": 1, "chats": 3}
        assert log_in("admin@helpdesk.com", "admin123") is not None

    def test_seed_run_explicitly_seeds_with_debug_off_too(self, settings):
        settings.DEBUG = False

        call_command("seed", verbosity=0, stdout=io.StringIO())

        assert table_counts() == {"users": 4, "clients": 3, "sessions": 1, "chats": 3}
        assert log_in("cs1@helpdesk.com", "cs123") is not None


@pytest.mark.django_db
class TestResetDbRefuses:
    @pytest.fixture(autouse=True)
    def data(self, settings):
        settings.DEBUG = True
        call_command("seed", verbosity=0)
        return table_counts()

    def test_it_does_nothing_when_the_answer_is_not_yes(self, monkeypatch, data):
        monkeypatch.setattr(builtins, "input", lambda prompt: "no")
        with pytest.raises(CommandError, match="cancelled"):
            call_command("reset_db")
        assert table_counts() == data

    def test_it_does_nothing_without_a_terminal_to_ask(self, monkeypatch, data):
        def no_terminal(prompt):
            raise EOFError

        monkeypatch.setattr(builtins, "input", no_terminal)
        with pytest.raises(CommandError, match="cancelled"):
            call_command("reset_db")
        assert table_counts() == data

    def test_it_refuses_with_debug_off_unless_forced(self, settings, data):
        settings.DEBUG = False
        with pytest.raises(CommandError, match="--force"):
            call_command("reset_db", interactive=False)
        assert table_counts() == data


@pytest.mark.django_db(transaction=True)
def test_reset_db_wipes_and_reseeds(settings, monkeypatch):
    settings.DEBUG = True
    call_command("seed", verbosity=0)
    Client.objects.create(telegram_id="999", name="Extra")
    monkeypatch.setattr(builtins, "input", lambda prompt: "yes")

    call_command("reset_db", verbosity=0)

    assert not Client.objects.filter(telegram_id="999").exists()
    assert table_counts() == {"users": 4, "clients": 3, "sessions": 1, "chats": 3}


@pytest.mark.django_db(transaction=True)
def test_reset_db_skip_seed_leaves_an_empty_migrated_database(settings):
    settings.DEBUG = True
    call_command("seed", verbosity=0)

    call_command("reset_db", interactive=False, skip_seed=True, verbosity=0)

    assert table_counts() == {"users": 0, "clients": 0, "sessions": 0, "chats": 0}


@pytest.mark.mariadb
@pytest.mark.django_db
def test_setup_db_creates_a_missing_mariadb_database_in_utf8mb4():
    from django.db.backends.mysql.base import DatabaseWrapper

    name = f"helpdesk_probe_{uuid.uuid4().hex[:8]}"
    probe = DatabaseWrapper({**connection.settings_dict, "NAME": name})
    try:
        assert database_create_if_missing(probe) is True
        assert database_create_if_missing(probe) is False
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT default_character_set_name, default_collation_name "
                "FROM information_schema.schemata WHERE schema_name = %s",
                [name],
            )
            assert cursor.fetchone() == ("utf8mb4", "utf8mb4_unicode_ci")
    finally:
        probe.close()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
