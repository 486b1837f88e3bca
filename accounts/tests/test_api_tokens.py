"""The token lifecycle as an API client sees it: login, refresh, rotation, reuse, logout,
expiry, purge, password change and deactivation."""

import hashlib
import threading
from datetime import timedelta

import jwt
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import RefreshToken, User
from accounts.tokens import refresh_token_rotate, token_hash

pytestmark = pytest.mark.django_db
PASSWORD = "pw-secret-1"  # make_user's password


@pytest.fixture(autouse=True)
def fresh_throttles():
    # DRF's login throttle counts in the cache, which outlives a test.
    cache.clear()


def post(client: Client, path: str, body: dict, **extra):
    return client.post(path, body, content_type="application/json", **extra)


def login(client: Client, email: str, password: str = PASSWORD, **extra):
    return post(client, "/api/auth/login/", {"email": email, "password": password}, **extra)


def refresh(client: Client, token: str):
    return post(client, "/api/auth/refresh/", {"refresh": token})


def me(client: Client, access: str):
    return client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {access}")


def test_login_returns_a_token_pair_and_the_user(client, cs_user):
    response = login(client, "CS1@helpdesk.com")

    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {
        "id": cs_user.id,
        "name": "CS One",
        "email": "cs1@helpdesk.com",
        "role": "CS",
    }
    assert me(client, body["access"]).json()["email"] == "cs1@helpdesk.com"
    cs_user.refresh_from_db()
    assert cs_user.last_login is not None


def test_access_tokens_last_15_minutes_and_refresh_tokens_7_days(client, cs_user):
    body = login(client, cs_user.email).json()

    access = jwt.decode(body["access"], options={"verify_signature": False})
    refresh_claims = jwt.decode(body["refresh"], options={"verify_signature": False})

    assert access["exp"] - access["iat"] == 15 * 60
    assert access["user_id"] == cs_user.id
    assert refresh_claims["exp"] - refresh_claims["iat"] == 7 * 24 * 3600
    row = RefreshToken.objects.get(user=cs_user)
    assert abs(row.expires_at.timestamp() - refresh_claims["exp"]) < 1


def test_the_table_holds_only_hashes_of_the_tokens(client, cs_user):
    first = login(client, cs_user.email).json()["refresh"]
    second = refresh(client, first).json()["refresh"]

    stored = set(RefreshToken.objects.values_list("token", flat=True))

    assert stored == {
        hashlib.sha256(first.encode()).hexdigest(),
        hashlib.sha256(second.encode()).hexdigest(),
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM refresh_tokens")
        dump = repr(cursor.fetchall())
    assert first not in dump
    assert second not in dump


@pytest.mark.parametrize(
    ("email", "password"),
    [("cs1@helpdesk.com", "wrong"), ("nobody@helpdesk.com", PASSWORD)],
)
def test_wrong_credentials_are_401_with_a_message(client, cs_user, email, password):
    response = login(client, email, password)

    assert response.status_code == 401
    assert response.json() == {"detail": "Wrong email or password.", "code": "invalid_credentials"}
    assert not RefreshToken.objects.exists()


def test_a_malformed_login_is_400_naming_the_field(client):
    response = post(client, "/api/auth/login/", {"email": "not-an-email"})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"email", "password"}
    assert body["detail"]


def test_a_disabled_account_cannot_log_in(client, cs_user):
    cs_user.is_active = False
    cs_user.save()

    assert login(client, cs_user.email).status_code == 401


def test_refresh_rotates_and_the_old_token_stops_working(client, cs_user):
    first = login(client, cs_user.email).json()["refresh"]

    response = refresh(client, first)

    assert response.status_code == 200
    pair = response.json()
    assert set(pair) == {"access", "refresh"}
    assert pair["refresh"] != first
    assert me(client, pair["access"]).status_code == 200
    again = refresh(client, first)
    assert again.status_code == 401
    assert again.json()["code"] == "token_reused"


def test_reusing_a_rotated_token_revokes_the_whole_login_chain(client, cs_user):
    first = login(client, cs_user.email).json()["refresh"]
    second = refresh(client, first).json()["refresh"]
    third = refresh(client, second).json()["refresh"]
    other_login = login(client, cs_user.email).json()["refresh"]

    assert refresh(client, first).status_code == 401  # a thief replays an old token

    # The legitimate holder's newest token is dead too; another login is not touched.
    response = refresh(client, third)
    assert response.status_code == 401
    assert response.json()["code"] == "token_reused"
    assert refresh(client, other_login).status_code == 200


def test_logout_revokes_the_refresh_token(client, cs_user):
    token = login(client, cs_user.email).json()["refresh"]

    response = post(client, "/api/auth/logout/", {"refresh": token})

    assert response.status_code == 204
    assert refresh(client, token).status_code == 401
    # Logging out twice is reuse too: still 401, nothing left to revoke.
    assert post(client, "/api/auth/logout/", {"refresh": token}).status_code == 401


def test_logout_ends_that_logins_access_tokens_too(client, cs_user):
    pair = login(client, cs_user.email).json()
    rotated = refresh(client, pair["refresh"]).json()
    other = login(client, cs_user.email).json()

    assert post(client, "/api/auth/logout/", {"refresh": rotated["refresh"]}).status_code == 204

    # Both access tokens of the chain (before and after rotation) die with it.
    for access in (pair["access"], rotated["access"]):
        response = me(client, access)
        assert response.status_code == 401
        assert response.json()["code"] == "token_revoked"
    assert me(client, other["access"]).status_code == 200  # another login goes on


def test_detected_reuse_ends_the_chains_access_tokens_too(client, cs_user):
    first = login(client, cs_user.email).json()
    second = refresh(client, first["refresh"]).json()

    assert refresh(client, first["refresh"]).status_code == 401  # a thief replays it

    assert me(client, second["access"]).status_code == 401
    assert me(client, first["access"]).status_code == 401


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_malformed_refresh_tokens_are_refused(client, token):
    response = refresh(client, token)

    assert response.status_code in (400, 401)
    assert response.json()["detail"]


def test_an_access_token_is_not_a_refresh_token(client, cs_user):
    access = login(client, cs_user.email).json()["access"]

    assert refresh(client, access).status_code == 401


def test_an_expired_refresh_token_is_refused(client, cs_user):
    token = login(client, cs_user.email).json()["refresh"]
    RefreshToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = refresh(client, token)

    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"


def test_an_expired_access_token_is_401(client, cs_user):
    token = AccessToken.for_user(cs_user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=1))

    response = me(client, str(token))

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_changing_the_password_revokes_refresh_and_access_tokens(client, cs_user):
    pair = login(client, cs_user.email).json()

    user = User.objects.get(pk=cs_user.pk)
    user.set_password("a-new-secret-2")
    user.save()

    assert refresh(client, pair["refresh"]).status_code == 401
    assert me(client, pair["access"]).status_code == 401
    assert RefreshToken.objects.filter(revoked_at__isnull=True).count() == 0


def test_the_changepassword_command_revokes_tokens(client, cs_user, monkeypatch):
    token = login(client, cs_user.email).json()["refresh"]
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "a-new-secret-2")

    call_command("changepassword", cs_user.email, stdout=None)

    assert refresh(client, token).status_code == 401


def test_the_admin_password_form_revokes_tokens(client, admin_user, cs_user):
    token = login(client, cs_user.email).json()["refresh"]
    admin = Client()
    admin.force_login(admin_user)

    response = admin.post(
        f"/admin/accounts/user/{cs_user.pk}/password/",
        {"password1": "a-new-secret-2", "password2": "a-new-secret-2"},
    )

    assert response.status_code == 302
    assert refresh(client, token).status_code == 401


def test_an_ordinary_save_keeps_the_tokens(client, cs_user):
    token = login(client, cs_user.email).json()["refresh"]
    cs_user.name = "Renamed"
    cs_user.save()

    assert refresh(client, token).status_code == 200


def test_deactivating_a_user_revokes_its_tokens(client, cs_user):
    pair = login(client, cs_user.email).json()

    cs_user.is_active = False
    cs_user.save(update_fields=["is_active"])

    assert refresh(client, pair["refresh"]).status_code == 401
    assert me(client, pair["access"]).status_code == 401


def test_purge_removes_expired_and_revoked_rows_only(client, cs_user):
    live = login(client, cs_user.email).json()["refresh"]
    rotated = login(client, cs_user.email).json()["refresh"]
    refresh(client, rotated)  # revokes `rotated`, adds its successor
    expired = login(client, cs_user.email).json()["refresh"]
    RefreshToken.objects.filter(token=token_hash(expired)).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    call_command("purge_refresh_tokens", stdout=None)

    remaining = set(RefreshToken.objects.values_list("token", flat=True))
    assert token_hash(live) in remaining
    assert token_hash(rotated) not in remaining
    assert token_hash(expired) not in remaining
    assert len(remaining) == 2
    assert refresh(client, live).status_code == 200


def test_purge_can_keep_recently_revoked_rows(client, cs_user):
    token = login(client, cs_user.email).json()["refresh"]
    refresh(client, token)

    call_command("purge_refresh_tokens", "--older-than", "1", stdout=None)

    assert RefreshToken.objects.filter(token=token_hash(token)).exists()
    # Still recognised as reuse rather than as an unknown token.
    assert refresh(client, token).json()["code"] == "token_reused"


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_refreshes_of_one_token_let_one_win_and_revoke_the_chain(client, cs_user):
    token = login(client, cs_user.email).json()["refresh"]
    results: list[str] = []
    barrier = threading.Barrier(2)

    def use() -> None:
        barrier.wait()
        try:
            refresh_token_rotate(raw=token)
            results.append("ok")
        except Exception as error:
            results.append(getattr(error, "code", repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == ["ok", "token_reused"]
    # The winner's new token went with the chain.
    assert not RefreshToken.objects.filter(revoked_at__isnull=True).exists()
