import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("email", ["cs1@helpdesk.com", "CS1@HelpDesk.com", "admin@helpdesk.com"])
def test_seeded_accounts_log_in_to_the_console(client, email):
    call_command("seed", verbosity=0)
    password = "admin123" if email.startswith("admin") else "cs123"

    response = client.post("/login/", {"username": email, "password": password}, follow=True)

    assert response.redirect_chain[-1][0] == "/console/"
    assert response.status_code == 200


def test_a_wrong_password_shows_an_error(client, cs_user):
    response = client.post("/login/", {"username": cs_user.email, "password": "nope"})

    assert response.status_code == 200
    assert b"correct email and password" in response.content
    assert "_auth_user_id" not in client.session


def test_root_redirects_to_the_console(client):
    assert client.get("/").url == "/console/"


@pytest.mark.parametrize("path", ["/console/", "/console/sessions/abc/"])
def test_anonymous_users_are_sent_to_log_in(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.url == f"/login/?next={path}"


def test_logout_needs_a_post_with_csrf(cs_user):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(cs_user)

    assert browser.get("/logout/").status_code == 405
    assert browser.post("/logout/").status_code == 403  # no CSRF token
    page = browser.get("/console/")
    token = page.context["csrf_token"]
    response = browser.post("/logout/", {"csrfmiddlewaretoken": str(token)})
    assert response.url == "/login/"
    assert browser.get("/console/").status_code == 302


def test_the_login_page_has_a_viewport_and_no_cdn(client):
    body = client.get("/login/").content.decode()

    assert '<meta name="viewport"' in body
    assert "/static/console/console.css" in body
    assert "https://" not in body
