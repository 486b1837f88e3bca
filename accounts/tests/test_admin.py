"""The admin's user and refresh-token pages, as an ADMIN (and a CS agent) would use them."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import RefreshToken, User

pytestmark = pytest.mark.django_db

# Fixed ceiling for any changelist page, whatever its size.
MAX_CHANGELIST_QUERIES = 8


def add_users(count: int, *, start: int = 0) -> list[User]:
    # bulk_create skips hashing: a password is not needed to be listed.
    return User.objects.bulk_create(
        User(email=f"agent{i}@example.com", name=f"Agent {i:02d}", password="!")
        for i in range(start, start + count)
    )


def add_tokens(count: int, *, start: int = 0) -> list[RefreshToken]:
    # One user per token, so a per-row user lookup would show as N queries.
    expires_at = timezone.now() + timedelta(days=7)
    return RefreshToken.objects.bulk_create(
        RefreshToken(user=user, token=f"hash-{user.pk}", expires_at=expires_at)
        for user in add_users(count, start=start)
    )


def changelist_queries(client, url: str, *, rows: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == rows
    return len(queries)


def result_emails(response) -> set[str]:
    return {user.email for user in response.context["cl"].result_list}


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


class TestChangelistQueries:
    def test_it_lists_users_in_constant_queries(self, admin_client, django_assert_max_num_queries):
        url = reverse("admin:accounts_user_changelist")
        add_users(1)  # plus the admin: 2 rows
        small = changelist_queries(admin_client, url, rows=2)
        add_users(28, start=1)
        large = changelist_queries(admin_client, url, rows=30)
        assert large == small
        with django_assert_max_num_queries(MAX_CHANGELIST_QUERIES):
            admin_client.get(url)

    def test_it_lists_refresh_tokens_in_constant_queries(
        self, admin_client, django_assert_max_num_queries
    ):
        url = reverse("admin:accounts_refreshtoken_changelist")
        add_tokens(2)
        small = changelist_queries(admin_client, url, rows=2)
        add_tokens(28, start=2)
        large = changelist_queries(admin_client, url, rows=30)
        assert large == small
        with django_assert_max_num_queries(MAX_CHANGELIST_QUERIES):
            admin_client.get(url)


class TestAdminAccess:
    def test_it_lets_an_admin_in(self, admin_client):
        assert admin_client.get(reverse("admin:index")).status_code == 200

    @pytest.mark.parametrize("url_name", ["admin:index", "admin:accounts_user_changelist"])
    def test_it_sends_a_cs_agent_to_the_login_page(self, client, cs_user, url_name):
        client.force_login(cs_user)
        response = client.get(reverse(url_name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


class TestUserList:
    def test_it_searches_users_by_email(self, admin_client, cs_user, make_user):
        make_user("other@helpdesk.com")
        url = reverse("admin:accounts_user_changelist")
        response = admin_client.get(url, {"q": "cs1@"})
        assert result_emails(response) == {"cs1@helpdesk.com"}

    def test_it_filters_users_by_role(self, admin_client, cs_user, admin_user):
        url = reverse("admin:accounts_user_changelist")
        assert result_emails(admin_client.get(url, {"role__exact": "CS"})) == {cs_user.email}
        assert result_emails(admin_client.get(url, {"role__exact": "ADMIN"})) == {admin_user.email}


class TestUserForms:
    def test_it_creates_a_user_with_a_password_and_a_lower_case_email(self, admin_client):
        response = admin_client.post(
            reverse("admin:accounts_user_add"),
            {
                "email": "New.Agent@Example.COM",
                "name": "New Agent",
                "role": "CS",
                "password1": "tricky-horse-42",
                "password2": "tricky-horse-42",
            },
        )
        assert response.status_code == 302
        user = User.objects.get(name="New Agent")
        assert user.email == "new.agent@example.com"
        assert user.role == User.Role.CS
        assert user.check_password("tricky-horse-42")

    def test_it_requires_a_password_to_create_a_user(self, admin_client):
        url = reverse("admin:accounts_user_add")
        assert b'name="usable_password"' not in admin_client.get(url).content
        response = admin_client.post(url, {"email": "a@example.com", "name": "A", "role": "CS"})
        assert response.status_code == 200
        assert "password1" in response.context["adminform"].form.errors
        assert not User.objects.filter(email="a@example.com").exists()

    def test_it_refuses_an_email_taken_in_another_case(self, admin_client, cs_user):
        response = admin_client.post(
            reverse("admin:accounts_user_add"),
            {
                "email": "CS1@Helpdesk.com",
                "name": "Twin",
                "role": "CS",
                "password1": "tricky-horse-42",
                "password2": "tricky-horse-42",
            },
        )
        assert response.status_code == 200
        assert "email" in response.context["adminform"].form.errors
        assert User.objects.filter(email__iexact="cs1@helpdesk.com").count() == 1

    def test_it_changes_a_password_from_the_link_on_the_change_page(self, admin_client, cs_user):
        change_page = admin_client.get(reverse("admin:accounts_user_change", args=[cs_user.pk]))
        assert b'href="../password/"' in change_page.content
        password_url = reverse("admin:auth_user_password_change", args=[cs_user.pk])
        response = admin_client.post(
            password_url, {"password1": "fresh-kettle-77", "password2": "fresh-kettle-77"}
        )
        assert response.status_code == 302
        cs_user.refresh_from_db()
        assert cs_user.check_password("fresh-kettle-77")

    def test_it_deletes_a_user_together_with_their_refresh_tokens(self, admin_client):
        (token,) = add_tokens(1)
        response = admin_client.post(
            reverse("admin:accounts_user_delete", args=[token.user_id]), {"post": "yes"}
        )
        assert response.status_code == 302
        assert not User.objects.filter(pk=token.user_id).exists()
        assert not RefreshToken.objects.filter(pk=token.pk).exists()


class TestRefreshTokens:
    def test_it_revokes_only_the_selected_live_tokens(self, admin_client):
        live, already_revoked, not_selected = add_tokens(3)
        earlier = timezone.now() - timedelta(days=1)
        RefreshToken.objects.filter(pk=already_revoked.pk).update(revoked_at=earlier)

        response = admin_client.post(
            reverse("admin:accounts_refreshtoken_changelist"),
            {"action": "revoke", "_selected_action": [live.pk, already_revoked.pk]},
        )

        assert response.status_code == 302
        for token in (live, already_revoked, not_selected):
            token.refresh_from_db()
        assert live.revoked_at is not None
        assert already_revoked.revoked_at == earlier
        assert not_selected.revoked_at is None
        assert [str(m) for m in get_messages(response.wsgi_request)] == ["1 refresh token revoked."]

    def test_it_cannot_add_refresh_tokens(self, admin_client):
        assert admin_client.get(reverse("admin:accounts_refreshtoken_add")).status_code == 403

    def test_it_shows_a_refresh_token_but_cannot_change_it(self, admin_client):
        (token,) = add_tokens(1)
        url = reverse("admin:accounts_refreshtoken_change", args=[token.pk])
        assert admin_client.get(url).status_code == 200
        response = admin_client.post(url, {"token": "forged", "expires_at": "2099-01-01"})
        assert response.status_code == 403
        token.refresh_from_db()
        assert token.token == f"hash-{token.user_id}"
