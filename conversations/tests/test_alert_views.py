"""POST /console/alerts/: the agent's sound and desktop-notification switches."""

import pytest
from django.test import Client

from accounts.models import User
from accounts.services import user_alerts_set

pytestmark = pytest.mark.django_db

URL = "/console/alerts/"


def _switches(user: User) -> tuple[bool, bool]:
    user.refresh_from_db()
    return user.notify_sound, user.notify_desktop


@pytest.fixture
def cs2(make_user):
    return make_user("cs2@helpdesk.com", name="CS Two")


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_both_are_on_for_a_new_agent(cs_user):
    assert _switches(cs_user) == (True, True)


def test_a_script_switches_sound_off_and_desktop_stays(cs_user):
    response = _signed_in(cs_user).post(URL, {"sound": "0"}, headers={"X-Requested-With": "fetch"})

    assert response.status_code == 204
    assert _switches(cs_user) == (False, True)


def test_htmx_switches_desktop_off_then_on_again(cs_user):
    client = _signed_in(cs_user)

    assert client.post(URL, {"desktop": "0"}, headers={"HX-Request": "true"}).status_code == 204
    assert _switches(cs_user) == (True, False)
    assert client.post(URL, {"desktop": "1"}, headers={"HX-Request": "true"}).status_code == 204
    assert _switches(cs_user) == (True, True)


def test_the_plain_form_posts_both_and_goes_back(cs_user):
    # An unticked box posts only its hidden "0"; a ticked one "0" then "1" (the last wins).
    response = _signed_in(cs_user).post(
        URL, {"sound": ["0"], "desktop": ["0", "1"], "next": "/console/sessions/abc/"}
    )

    assert response.status_code == 302
    assert response.url == "/console/sessions/abc/"
    assert _switches(cs_user) == (False, True)


def test_a_foreign_next_goes_to_the_console_instead(cs_user):
    response = _signed_in(cs_user).post(URL, {"sound": "0", "next": "https://evil.example/"})

    assert response.url == "/console/"


def test_a_value_that_is_no_switch_is_refused_and_nothing_changes(cs_user):
    response = _signed_in(cs_user).post(URL, {"sound": "0", "desktop": "maybe"})

    assert response.status_code == 400
    assert _switches(cs_user) == (True, True)


def test_the_page_carries_the_stored_switches(cs_user):
    user_alerts_set(user=cs_user, sound=False)

    body = _signed_in(cs_user).get("/console/").content.decode()

    assert 'data-notify-sound="0"' in body
    assert 'data-notify-desktop="1"' in body


class TestAuthorization:
    def test_anonymous_is_sent_to_log_in_and_nothing_changes(self, client, cs_user):
        response = client.post(URL, {"sound": "0"})

        assert response.status_code == 302
        assert response.url.startswith("/login/")
        assert _switches(cs_user) == (True, True)

    def test_a_get_changes_nothing(self, cs_user):
        assert _signed_in(cs_user).get(URL, {"sound": "0"}).status_code == 405
        assert _switches(cs_user) == (True, True)

    def test_an_agent_changes_only_their_own_row(self, cs_user, cs2):
        _signed_in(cs_user).post(
            URL, {"sound": "0", "desktop": "0"}, headers={"HX-Request": "true"}
        )

        assert _switches(cs_user) == (False, False)
        assert _switches(cs2) == (True, True)

    def test_another_agent_cannot_name_someone_elses_row(self, cs_user, cs2):
        # There is no user field to aim at: extra fields are ignored, the poster's row changes.
        _signed_in(cs2).post(URL, {"sound": "0", "user": cs_user.pk, "user_id": cs_user.pk})

        assert _switches(cs_user) == (True, True)
        assert _switches(cs2) == (False, True)

    def test_an_admin_changes_their_own_row_only(self, admin_user, cs_user):
        response = _signed_in(admin_user).post(
            URL, {"desktop": "0"}, headers={"HX-Request": "true"}
        )

        assert response.status_code == 204
        assert _switches(admin_user) == (True, False)
        assert _switches(cs_user) == (True, True)

    def test_csrf_is_required(self, cs_user):
        client = Client(enforce_csrf_checks=True)
        client.force_login(cs_user)

        assert client.post(URL, {"sound": "0"}).status_code == 403
        assert _switches(cs_user) == (True, True)


def test_the_service_writes_only_what_it_is_given(cs_user, django_assert_num_queries):
    with django_assert_num_queries(0):
        user_alerts_set(user=cs_user)
    other_tab = User.objects.get(pk=cs_user.pk)
    user_alerts_set(user=other_tab, desktop=False)  # another tab flips desktop

    user_alerts_set(user=cs_user, sound=False)  # this tab's stale copy flips sound

    assert _switches(cs_user) == (False, False)
