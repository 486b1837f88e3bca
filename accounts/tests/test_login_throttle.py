"""Failed logins are throttled per account and per address, with a page that says why."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.db.models import F
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

LIMIT = 3
COOLOFF = timedelta(minutes=15)
RIGHT = "pw-secret-1"  # make_user's password
LOCKED_TEXT = "Too many failed login attempts"


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = COOLOFF


def log_in(client, email, password, *, address="127.0.0.1", path="/login/"):
    return client.post(path, {"username": email, "password": password}, REMOTE_ADDR=address)


def assert_locked_out(response):
    assert response.status_code == 429
    body = response.content.decode()
    assert LOCKED_TEXT in body
    assert "try again in 15 minutes" in body


def assert_logged_in(response, client, where="/console/"):
    assert response.status_code == 302
    assert response.url == where
    assert "_auth_user_id" in client.session


def fail_until_locked(client, email, **where):
    for _ in range(LIMIT - 1):
        assert log_in(client, email, "wrong", **where).status_code == 200
    assert_locked_out(log_in(client, email, "wrong", **where))


def test_an_account_at_the_limit_refuses_even_the_right_password(client, cs_user):
    fail_until_locked(client, cs_user.email)

    response = log_in(client, cs_user.email, RIGHT)

    assert_locked_out(response)
    assert "_auth_user_id" not in client.session
    # Counted per account: the owner at another address is refused too.
    elsewhere = Client()
    assert_locked_out(log_in(elsewhere, cs_user.email, RIGHT, address="10.0.0.9"))
    assert "_auth_user_id" not in elsewhere.session


def test_many_accounts_tried_from_one_address_lock_that_address(client, make_user):
    tried = [make_user(f"agent{i}@helpdesk.com").email for i in range(LIMIT)]
    for email in tried[:-1]:
        assert log_in(client, email, "wrong").status_code == 200
    assert_locked_out(log_in(client, tried[-1], "wrong"))
    untouched = make_user("untouched@helpdesk.com")

    assert_locked_out(log_in(client, untouched.email, RIGHT))
    # The accounts themselves are below the limit: from another address they log in.
    elsewhere = Client()
    assert_logged_in(log_in(elsewhere, untouched.email, RIGHT, address="10.0.0.9"), elsewhere)


def test_the_emails_case_does_not_make_another_account(client, cs_user):
    spellings = ["CS1@helpdesk.com", "cs1@HELPDESK.COM", "Cs1@HelpDesk.Com"]
    assert len(spellings) == LIMIT
    # A new address each time, so only the account's count can lock it.
    for i, email in enumerate(spellings):
        log_in(Client(), email, "wrong", address=f"10.0.1.{i}")

    assert_locked_out(log_in(client, cs_user.email, RIGHT, address="10.0.2.1"))
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {cs_user.email}


def test_a_successful_login_before_the_limit_clears_the_count(client, cs_user):
    for _ in range(LIMIT - 1):
        log_in(client, cs_user.email, "wrong")
    assert_logged_in(log_in(client, cs_user.email, RIGHT), client)
    client.post("/logout/")

    for _ in range(LIMIT - 1):
        response = log_in(client, cs_user.email, "wrong")
        assert response.status_code == 200
    assert_logged_in(log_in(client, cs_user.email, RIGHT), client)


def test_logging_in_to_ones_own_account_does_not_clear_guesses_at_another(make_user):
    own = make_user("mallory@helpdesk.com")
    victim = make_user("victim@helpdesk.com")
    for _ in range(LIMIT - 1):
        log_in(Client(), victim.email, "guess", address="10.0.0.7")
    browser = Client()
    assert_logged_in(log_in(browser, own.email, RIGHT, address="10.0.0.7"), browser)

    assert_locked_out(log_in(Client(), victim.email, "guess", address="10.0.0.7"))
    assert_locked_out(log_in(Client(), victim.email, RIGHT, address="10.0.0.8"))


def test_after_the_cool_off_the_account_logs_in_again(client, cs_user):
    fail_until_locked(client, cs_user.email)
    # A minute before the cool-off ends: still locked, and retrying does not extend it.
    AccessAttempt.objects.update(attempt_time=timezone.now() - COOLOFF + timedelta(minutes=1))
    assert_locked_out(log_in(client, cs_user.email, RIGHT))

    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=2))

    assert_logged_in(log_in(client, cs_user.email, RIGHT), client)


def test_the_django_admin_login_is_throttled_too(client, admin_user):
    fail_until_locked(client, admin_user.email, path="/admin/login/")

    assert_locked_out(log_in(client, admin_user.email, RIGHT, path="/admin/login/"))
    assert_locked_out(log_in(client, admin_user.email, RIGHT))  # one count for both logins
    assert "_auth_user_id" not in client.session


def test_below_the_limit_a_wrong_password_gets_the_usual_message(client, cs_user, make_user):
    for _ in range(LIMIT - 1):
        response = log_in(client, cs_user.email, "wrong")

        assert response.status_code == 200
        body = response.content.decode()
        assert "enter a correct email and password" in body
        assert LOCKED_TEXT not in body
    # The address is below its limit too: a colleague at the same desk logs in.
    colleague = make_user("cs2@helpdesk.com")
    assert_logged_in(log_in(client, colleague.email, RIGHT), client)


def test_an_overlong_username_is_counted_without_an_error(client):
    response = log_in(client, "x" * 300 + "@helpdesk.com", "wrong", path="/admin/login/")

    assert response.status_code == 200
    assert len(AccessAttempt.objects.get().username) == 255
