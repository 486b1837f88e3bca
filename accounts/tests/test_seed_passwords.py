"""No known passwords in production: finding them, the deploy check, the first admin."""

import bcrypt
import pytest
from django.contrib.auth import authenticate
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.test import RequestFactory

from accounts.models import User
from accounts.selectors import SEED_PASSWORDS, users_with_seed_passwords

pytestmark = pytest.mark.django_db


def log_in(email: str, password: str):
    return authenticate(RequestFactory().post("/login/"), email=email, password=password)


def deploy_check_ids() -> set[str]:
    return {message.id for message in run_checks(include_deployment_checks=True)}


@pytest.fixture
def seeded(make_user):
    """The spec's sample accounts as `manage.py seed` leaves them."""
    admin = make_user("admin@helpdesk.com", role=User.Role.ADMIN, password="admin123")
    cs = make_user("cs1@helpdesk.com", password="cs123")
    return admin, cs


class TestUsersWithSeedPasswords:
    def test_it_finds_the_accounts_that_still_have_a_sample_password(self, seeded, make_user):
        make_user("agent@example.com", password="a-real-secret-42")

        assert [user.email for user in users_with_seed_passwords()] == [
            "admin@helpdesk.com",
            "cs1@helpdesk.com",
        ]

    def test_a_changed_password_clears_the_account(self, seeded):
        admin, cs = seeded
        admin.set_password("a-real-secret-42")
        admin.save()

        assert users_with_seed_passwords() == [cs]

    def test_it_finds_a_node_era_bcrypt_hash_of_a_sample_password(self, make_user):
        user = make_user("legacy@example.com")
        node_hash = bcrypt.hashpw(b"cs123", bcrypt.gensalt(4, prefix=b"2a")).decode()
        User.objects.filter(pk=user.pk).update(password=node_hash)

        assert users_with_seed_passwords() == [user]
        user.refresh_from_db()
        assert user.password == node_hash  # looked at, not upgraded or saved

    def test_an_inactive_account_cannot_log_in_so_it_is_left_out(self, seeded):
        admin, cs = seeded
        cs.is_active = False
        cs.save()

        assert users_with_seed_passwords() == [admin]

    def test_a_vetted_hash_is_not_verified_again_but_a_changed_one_is(self, make_user):
        agent = make_user("agent@example.com", password="a-real-secret-42")
        assert users_with_seed_passwords() == []
        agent.refresh_from_db()
        assert agent.password_vetted == agent.password  # the next start skips it

        # Proof that a vetted hash is trusted without a (slow) verification: a sample
        # password slipped in beside its own hash as "vetted" goes unseen...
        agent.set_password("cs123")
        User.objects.filter(pk=agent.pk).update(
            password=agent.password, password_vetted=agent.password
        )
        assert users_with_seed_passwords() == []
        # ...while any real change of password (a new hash) is verified afresh.
        agent.set_password("cs123")
        agent.save()
        assert users_with_seed_passwords() == [agent]

    def test_the_seed_uses_these_passwords(self):
        from conversations.seed import DEFAULT_ACCOUNTS

        assert {password for *_, password, _role in DEFAULT_ACCOUNTS} == set(SEED_PASSWORDS)


class TestDeployCheck:
    def test_check_deploy_fails_while_a_sample_password_logs_in(self, seeded, settings):
        settings.DEBUG = False

        assert "accounts.E001" in deploy_check_ids()
        with pytest.raises(SystemCheckError, match=r"accounts\.E001.*admin@helpdesk\.com"):
            call_command("check", deploy=True, tags=["security"])

    def test_it_passes_once_the_passwords_are_changed(self, seeded, settings):
        settings.DEBUG = False
        for user in seeded:
            user.set_password("a-real-secret-42")
            user.save()

        assert "accounts.E001" not in deploy_check_ids()

    def test_plain_check_and_debug_on_leave_it_alone(self, seeded, settings):
        settings.DEBUG = False
        assert "accounts.E001" not in {message.id for message in run_checks()}
        settings.DEBUG = True
        assert "accounts.E001" not in deploy_check_ids()


class TestCreateAdmin:
    @pytest.fixture(autouse=True)
    def no_password_in_environment(self, monkeypatch):
        monkeypatch.delenv("ADMIN_PASSWORD", raising=False)

    def test_it_takes_the_password_from_the_environment(self, monkeypatch, client):
        monkeypatch.setenv("ADMIN_PASSWORD", "Tall-Horse-Battery-7")

        call_command("createadmin", email="Boss@Example.com", name="Boss", interactive=False)

        admin = User.objects.get()
        assert (admin.email, admin.name, admin.role) == ("boss@example.com", "Boss", "ADMIN")
        response = client.post(
            "/admin/login/?next=/admin/",
            {"username": "boss@example.com", "password": "Tall-Horse-Battery-7"},
            follow=True,
        )
        assert response.redirect_chain[-1][0] == "/admin/"

    @pytest.mark.parametrize(
        ("password", "complaint"),
        [
            ("short", "too short"),
            ("password123", "too common"),
            *((seed, "sample password") for seed in SEED_PASSWORDS),
        ],
    )
    def test_the_password_validators_apply(self, monkeypatch, password, complaint):
        monkeypatch.setenv("ADMIN_PASSWORD", password)

        with pytest.raises(CommandError, match=complaint):
            call_command("createadmin", email="boss@example.com", interactive=False)
        assert not User.objects.exists()

    def test_without_the_variable_and_a_terminal_it_says_what_to_do(self):
        with pytest.raises(CommandError, match="set ADMIN_PASSWORD"):
            call_command("createadmin", email="boss@example.com", interactive=False)
        assert not User.objects.exists()

    def test_in_a_terminal_it_asks_until_a_good_password_is_given_twice(self, monkeypatch, capsys):
        class Terminal:
            def isatty(self):
                return True

        good = "Tall-Horse-Battery-7"
        answers = iter([good, "typo", "admin123", "admin123", good, good])
        monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))

        call_command("createadmin", email="boss@example.com", stdin=Terminal())

        assert log_in("boss@example.com", "Tall-Horse-Battery-7").role == User.Role.ADMIN
        errors = capsys.readouterr().err
        assert "differ" in errors and "sample password" in errors

    def test_an_existing_email_is_refused(self, make_user, monkeypatch):
        make_user("boss@example.com", password="a-real-secret-42")
        monkeypatch.setenv("ADMIN_PASSWORD", "Tall-Horse-Battery-7")

        with pytest.raises(CommandError, match="already exists"):
            call_command("createadmin", email="BOSS@example.com", interactive=False)
        assert User.objects.get().role == User.Role.CS
