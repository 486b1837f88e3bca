"""API logins count towards django-axes' limits like the console's, and a lockout is JSON."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client

pytestmark = pytest.mark.django_db

LIMIT = 3
RIGHT = "pw-secret-1"  # make_user's password


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    cache.clear()


def api_login(client, email, password, *, address="127.0.0.1", **headers):
    return client.post(
        "/api/auth/login/",
        {"email": email, "password": password},
        content_type="application/json",
        REMOTE_ADDR=address,
        **headers,
    )


def assert_locked_out(response):
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "Too many failed login attempts; try again in 15 minutes.",
        "code": "throttled",
    }
    assert response["Retry-After"] == "900"


def test_an_account_at_the_limit_is_refused_even_with_the_right_password(client, cs_user):
    for _ in range(LIMIT - 1):
        assert api_login(client, cs_user.email, "wrong").status_code == 401
    assert_locked_out(api_login(client, cs_user.email, "wrong"))

    # Per account: from another address, with the right password, in any case.
    assert_locked_out(api_login(Client(), "CS1@HelpDesk.com", RIGHT, address="10.0.0.9"))


def test_one_address_trying_many_accounts_is_locked_out(client, make_user):
    emails = [make_user(f"agent{i}@helpdesk.com").email for i in range(LIMIT)]
    for email in emails[:-1]:
        assert api_login(client, email, "wrong").status_code == 401
    assert_locked_out(api_login(client, emails[-1], "wrong"))

    fresh = make_user("fresh@helpdesk.com")
    assert_locked_out(api_login(client, fresh.email, RIGHT))
    assert api_login(Client(), fresh.email, RIGHT, address="10.0.0.9").status_code == 200


def test_console_and_api_failures_share_one_count(client, cs_user):
    for _ in range(LIMIT - 1):
        client.post("/login/", {"username": cs_user.email, "password": "wrong"})

    assert_locked_out(api_login(client, cs_user.email, "wrong"))


def test_a_successful_login_forgives_the_accounts_failures(client, cs_user):
    for _ in range(LIMIT - 1):
        api_login(client, cs_user.email, "wrong")
    assert api_login(client, cs_user.email, RIGHT).status_code == 200

    for _ in range(LIMIT - 1):
        assert api_login(client, cs_user.email, "wrong").status_code == 401


def test_the_login_endpoint_is_rate_limited_per_address(client, cs_user, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"login": "2/minute"},
    }
    assert api_login(client, cs_user.email, RIGHT).status_code == 200
    assert api_login(client, cs_user.email, RIGHT).status_code == 200

    # A forged X-Forwarded-For does not make another address.
    response = api_login(client, cs_user.email, RIGHT, HTTP_X_FORWARDED_FOR="198.51.100.7")

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
