import bcrypt
import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.test import RequestFactory

from accounts.models import User

pytestmark = pytest.mark.django_db


def log_in(email: str, password: str):
    """authenticate() as the login view calls it: axes refuses a call without the request."""
    return authenticate(RequestFactory().post("/login/"), email=email, password=password)


def node_bcrypt_hash(password: str, prefix: bytes) -> str:
    """Hash the way the original Node version's bcryptjs (cost 12) stored it."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(12, prefix=prefix)).decode()


class TestEmailLogin:
    def test_it_stores_email_lower_case(self, make_user):
        user = make_user("Agent.Smith@Example.COM")
        user.refresh_from_db()
        assert user.email == "agent.smith@example.com"

    def test_it_logs_in_whatever_the_email_case(self, make_user):
        make_user("agent@example.com", password="right-password-9")
        assert log_in("AGENT@Example.com", "right-password-9") is not None

    def test_it_finds_mixed_case_emails_written_by_the_node_version(self, make_user):
        user = make_user("legacy@example.com", password="right-password-9")
        User.objects.filter(pk=user.pk).update(email="Legacy@Example.com")  # bypasses save()
        assert log_in("legacy@example.com", "right-password-9") == user

    def test_it_refuses_the_same_email_in_another_case(self, make_user):
        make_user("agent@example.com")
        with pytest.raises(ValidationError):
            make_user("AGENT@example.com")
        with pytest.raises(IntegrityError):
            User(email="Agent@Example.com", name="Twin").save()

    def test_it_rejects_a_wrong_password(self, make_user):
        make_user("agent@example.com", password="right-password-9")
        assert log_in("agent@example.com", "wrong") is None

    def test_an_inactive_user_cannot_log_in(self, make_user):
        user = make_user("agent@example.com", password="right-password-9")
        user.is_active = False
        user.save()
        assert log_in("agent@example.com", "right-password-9") is None


class TestPasswords:
    def test_new_passwords_are_hashed_with_argon2(self, make_user):
        user = make_user("agent@example.com", password="right-password-9")
        user.refresh_from_db()
        assert user.password.startswith("argon2$")
        assert "right-password-9" not in user.password

    @pytest.mark.parametrize("prefix", [b"2a", b"2b"])
    def test_a_node_bcrypt_hash_logs_in_and_is_upgraded(self, make_user, prefix):
        user = make_user("legacy@example.com")
        legacy_hash = node_bcrypt_hash("cs123", prefix)
        assert legacy_hash.startswith(f"${prefix.decode()}$12$")
        User.objects.filter(pk=user.pk).update(password=legacy_hash)

        assert log_in("legacy@example.com", "cs123") == user

        user.refresh_from_db()
        assert user.password.startswith("argon2$")
        assert log_in("legacy@example.com", "cs123") == user

    def test_a_wrong_password_leaves_a_node_hash_untouched(self, make_user):
        user = make_user("legacy@example.com")
        legacy_hash = node_bcrypt_hash("cs123", b"2b")
        User.objects.filter(pk=user.pk).update(password=legacy_hash)

        assert log_in("legacy@example.com", "cs124") is None

        user.refresh_from_db()
        assert user.password == legacy_hash


class TestRoles:
    def test_only_active_admins_may_use_the_django_admin(self, make_user):
        admin = make_user("boss@example.com", role=User.Role.ADMIN)
        agent = make_user("agent@example.com")
        assert admin.is_staff and admin.has_perm("conversations.delete_chat")
        assert not agent.is_staff and not agent.has_perm("conversations.view_chat")
        admin.is_active = False
        assert not admin.is_staff

    def test_createsuperuser_makes_an_admin(self):
        user = User.objects.create_superuser("root@example.com", "Root", "pw-secret-1")
        assert user.role == User.Role.ADMIN
        assert user.id.startswith("c") and len(user.id) == 25
