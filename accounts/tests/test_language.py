"""Each agent chooses the console language; "" follows the browser."""

from datetime import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import User
from accounts.services import user_language, user_language_set
from conversations.tests.console_helpers import make_session

pytestmark = pytest.mark.django_db

URL = "/account/language/"
MINE_ID, MINE_EN = "Sesi aktif saya", "My active sessions"


@pytest.fixture(autouse=True)
def reset_language():
    yield
    translation.deactivate()  # requests activate a language; keep it out of later tests


@pytest.fixture
def agent_client(client, cs_user):
    client.force_login(cs_user)
    return client


def page(client, path: str = "/console/", **headers) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def stored(user: User) -> str:
    return User.objects.get(pk=user.pk).language


class TestChoosing:
    def test_indonesian_stays_on_across_pages_whatever_the_browser_says(
        self, agent_client, cs_user
    ):
        session = make_session(cs=cs_user)

        response = agent_client.post(URL, {"language": "id", "next": "/console/?order=oldest"})

        assert response.status_code == 302
        assert response.url == "/console/?order=oldest"
        assert stored(cs_user) == "id"
        assert MINE_ID in page(agent_client, accept_language="en")
        detail = page(agent_client, f"/console/sessions/{session.pk}/", accept_language="en")
        assert "Akhiri sesi" in detail  # End session
        assert '<html lang="id">' in detail

    def test_browser_default_hands_the_choice_back_to_accept_language(self, agent_client, cs_user):
        user_language_set(user=cs_user, language="id")

        agent_client.post(URL, {"language": "", "next": "/console/"})

        assert stored(cs_user) == ""
        assert MINE_EN in page(agent_client, accept_language="en")
        assert MINE_ID in page(agent_client, accept_language="id")

    @pytest.mark.parametrize("language", ["fr", "xx<script>", "id-XX"])
    def test_an_unknown_language_is_refused_and_nothing_changes(
        self, agent_client, cs_user, language
    ):
        user_language_set(user=cs_user, language="id")

        response = agent_client.post(URL, {"language": language, "next": "/console/"})

        assert response.status_code == 400
        assert response["Content-Type"].startswith("text/plain")
        assert "Bahasa tidak dikenal" in response.content.decode()  # in the user's language
        assert stored(cs_user) == "id"

    @pytest.mark.parametrize(
        "target", ["https://evil.example/", "//evil.example/console/", "javascript:alert(1)"]
    )
    def test_next_to_another_site_is_not_followed(self, agent_client, cs_user, target):
        response = agent_client.post(URL, {"language": "id", "next": target})

        assert response.status_code == 302
        assert response.url == "/console/"
        assert stored(cs_user) == "id"

    def test_anonymous_users_are_sent_to_log_in(self, client, cs_user):
        response = client.post(URL, {"language": "id"})

        assert response.status_code == 302
        assert response.url.startswith("/login/?next=")
        assert stored(cs_user) == ""

    def test_only_post_with_a_csrf_token_changes_it(self, cs_user):
        browser = HttpClient(enforce_csrf_checks=True)
        browser.force_login(cs_user)

        assert browser.get(URL + "?language=id").status_code == 405
        assert browser.post(URL, {"language": "id"}).status_code == 403
        assert stored(cs_user) == ""

    def test_one_agents_choice_does_not_change_anothers_console(
        self, agent_client, cs_user, make_user
    ):
        other = make_user("cs2@helpdesk.com")
        other_client = HttpClient()
        other_client.force_login(other)

        agent_client.post(URL, {"language": "id"})

        assert MINE_ID in page(agent_client)
        assert MINE_EN in page(other_client)
        assert stored(other) == ""


class TestTopBar:
    def test_the_form_shows_the_current_choice_and_returns_to_this_page(
        self, agent_client, cs_user
    ):
        body = page(agent_client, "/console/?order=oldest")

        assert f'action="{URL}"' in body
        assert '<option value="" selected>Browser default</option>' in body
        assert 'value="/console/?order=oldest"' in body

        user_language_set(user=cs_user, language="id")
        body = page(agent_client)

        assert '<option value="id" lang="id" selected>Bahasa Indonesia</option>' in body
        assert "Bawaan peramban" in body
        assert ">Ubah</button>" in body

    def test_anonymous_pages_follow_the_browser(self, client):
        assert "Masuk" in page(client, "/login/", accept_language="id")
        assert "Log in" in page(client, "/login/", accept_language="en")


class TestMiddleware:
    def test_responses_say_their_language_and_that_they_depend_on_the_cookie(
        self, agent_client, cs_user
    ):
        user_language_set(user=cs_user, language="id")

        response = agent_client.get("/console/", headers={"accept-language": "en"})

        assert response["Content-Language"] == "id"
        assert "Cookie" in response["Vary"]

    def test_a_chosen_language_costs_no_extra_query(self, agent_client, cs_user):
        def queries() -> int:
            with CaptureQueriesContext(connection) as captured:
                page(agent_client)
            return len(captured)

        browser_default = queries()
        user_language_set(user=cs_user, language="id")

        assert queries() == browser_default


class TestServices:
    def test_user_language_for_websockets(self, cs_user, settings):
        settings.LANGUAGE_CODE = "en"

        assert user_language(AnonymousUser()) == "en"
        assert user_language(cs_user) == "en"
        assert user_language(cs_user, accept_language="fr, id;q=0.8, en;q=0.5") == "id"
        assert user_language(cs_user, accept_language="fr") == "en"
        cs_user.language = "id"
        assert user_language(cs_user, accept_language="en") == "id"

    def test_user_language_set_validates(self, cs_user):
        with pytest.raises(ValidationError):
            user_language_set(user=cs_user, language="de")
        user_language_set(user=cs_user, language="id")
        user_language_set(user=cs_user, language="")

        assert stored(cs_user) == ""

    def test_rows_inserted_without_the_column_get_browser_default(self):
        """The Node/Prisma app inserts users knowing nothing of `language`."""
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO users (id, name, email, password_hash, role, status_online,"
                " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    "cnodeuser000000000000001",
                    "Node",
                    "node@x.com",
                    "!",
                    "CS",
                    False,
                    datetime(2024, 1, 1, 12, 0),
                ],
            )

        assert User.objects.get(email="node@x.com").language == ""
