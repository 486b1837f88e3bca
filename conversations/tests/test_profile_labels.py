"""Client profile and labels in the workspace: the service, the profile fragment and
its form (who may see and edit it), the list's label filter, and the admin."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from conversations.models import Client, Label, Session
from conversations.profile_views import chip_text_color
from conversations.services.profile import (
    PROFILE_NOTE_MAX_CHARS,
    client_profile_update,
    label_create,
    label_update,
    labels_from_ids,
)
from conversations.tests.console_helpers import make_session
from conversations.tests.test_console_sessions import LIST_QUERY_CEILING, populate

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def cs2(make_user):
    return make_user("cs2@helpdesk.com", name="CS Two")


@pytest.fixture
def vip():
    return Label.objects.create(name="VIP", color="#ffd700")


@pytest.fixture
def refund():
    return Label.objects.create(name="Refund", color="#8b0000")


@pytest.fixture
def session(cs_user):
    return make_session(cs=cs_user, name="John Doe")


def profile_url(client: Client) -> str:
    return reverse("console:client_profile", args=[client.pk])


class TestService:
    def test_it_sets_labels_and_note_and_none_leaves_them(self, cs_user, session, vip, refund):
        client = session.client

        client_profile_update(client=client, by=cs_user, labels=[vip, refund], profile_note=" tea ")
        client_profile_update(client=client, by=cs_user, profile_note="coffee")
        client_profile_update(client=client, by=cs_user, labels=[refund])

        client.refresh_from_db()
        assert client.profile_note == "coffee"
        assert list(client.labels.all()) == [refund]

    def test_a_note_over_the_limit_is_refused(self, cs_user, session):
        with pytest.raises(ValidationError):
            client_profile_update(
                client=session.client, by=cs_user, profile_note="x" * (PROFILE_NOTE_MAX_CHARS + 1)
            )

        session.client.refresh_from_db()
        assert session.client.profile_note == ""

    def test_unknown_label_ids_are_refused_in_one_query(self, vip, django_assert_num_queries):
        with django_assert_num_queries(1):
            assert labels_from_ids(ids=[vip.pk, vip.pk]) == [vip]
        with pytest.raises(ValidationError) as refused:
            labels_from_ids(ids=[vip.pk, "gone"])
        assert "gone" in str(refused.value)

    def test_label_names_are_unique_whatever_the_case_and_colours_rrggbb(self, vip, refund):
        with pytest.raises(ValidationError):
            label_create(name="vip", color="#000000")
        with pytest.raises(ValidationError):
            label_update(label=refund, name=" VIP ")
        with pytest.raises(ValidationError):
            label_create(name="Spam", color="#fff")
        assert label_create(name="Spam", color="#ABCDEF").color == "#abcdef"


def contrast(a: str, b: str) -> float:
    def lum(color):
        def ch(x):
            c = int(x, 16) / 255
            return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

        return 0.2126 * ch(color[1:3]) + 0.7152 * ch(color[3:5]) + 0.0722 * ch(color[5:7])

    hi, lo = sorted([lum(a), lum(b)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize(
    "color",
    ["#000000", "#ffffff", "#ffd700", "#8b0000", "#1f65c1", "#777777", "#00ff00", "#767676"],
)
def test_chip_text_meets_aa_on_any_colour(color):
    assert contrast(color, chip_text_color(color)) >= 4.5


class TestProfileFragment:
    def test_the_workspace_loads_the_profile_into_the_client_pane(self, client, cs_user, session):
        client.force_login(cs_user)

        body = client.get(f"/console/sessions/{session.pk}/", **HTMX).content.decode()

        assert f'hx-get="{profile_url(session.client)}"' in body
        assert 'hx-trigger="load"' in body

    def test_it_shows_the_labels_as_chips_and_the_note(self, client, cs_user, session, vip):
        session.client.labels.add(vip)
        session.client.profile_note = "Prefers <b>email</b>"
        session.client.save()
        client.force_login(cs_user)

        body = client.get(profile_url(session.client), **HTMX).content.decode()

        assert 'class="label-chip" style="background:#ffd700;color:#000000;' in body
        assert ">VIP</li>" in body
        assert "Prefers &lt;b&gt;email&lt;/b&gt;" in body
        assert f'name="labels" value="{vip.pk}" checked' in body

    def test_saving_answers_the_fresh_fragment(self, client, cs_user, session, vip, refund):
        client.force_login(cs_user)

        response = client.post(
            profile_url(session.client),
            {"labels": [refund.pk], "profile_note": "Called twice"},
            **HTMX,
        )

        assert response.status_code == 200
        body = response.content.decode()
        assert body.lstrip().startswith('<section class="client-profile" id="client-profile"')
        assert ">Refund</li>" in body and ">VIP</li>" not in body
        assert "Called twice" in body
        assert list(session.client.labels.all()) == [refund]

    def test_a_label_deleted_meanwhile_is_refused_with_the_choices_kept(
        self, client, cs_user, session, vip
    ):
        client.force_login(cs_user)

        response = client.post(
            profile_url(session.client),
            {"labels": [vip.pk, "deleted-id"], "profile_note": "kept text"},
            **HTMX,
        )

        assert response.status_code == 400
        body = response.content.decode()
        assert 'role="alert"' in body
        assert "kept text</textarea>" in body
        assert f'value="{vip.pk}" checked' in body
        session.client.refresh_from_db()
        assert session.client.profile_note == ""
        assert not session.client.labels.exists()

    def test_it_is_translated(self, client, cs_user, session):
        cs_user.language = "id"
        cs_user.save()
        client.force_login(cs_user)

        body = client.get(
            profile_url(session.client), HTTP_ACCEPT_LANGUAGE="id", **HTMX
        ).content.decode()

        assert "Simpan profil" in body


class TestProfileAuthorization:
    @pytest.mark.parametrize("method", ["get", "post"])
    def test_the_cs_of_the_session_and_an_admin_may(
        self, method, client, cs_user, admin_user, session
    ):
        for user in (cs_user, admin_user):
            client.force_login(user)
            response = getattr(client, method)(
                profile_url(session.client), {"profile_note": f"by {user.name}"}, **HTMX
            )
            assert response.status_code == 200

    def test_the_cs_of_an_ended_session_still_may(self, client, cs_user):
        ended = make_session(cs=cs_user, status=Session.Status.ENDED)
        client.force_login(cs_user)

        assert client.get(profile_url(ended.client), **HTMX).status_code == 200

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_another_cs_gets_the_404_of_a_missing_client(self, method, client, cs2, session):
        client.force_login(cs2)

        theirs = getattr(client, method)(profile_url(session.client), {"profile_note": "x"})
        missing = getattr(client, method)("/console/clients/nope/profile/", {"profile_note": "x"})

        assert theirs.status_code == missing.status_code == 404
        session.client.refresh_from_db()
        assert session.client.profile_note == ""

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_anonymous_goes_to_the_login(self, method, client, session):
        response = getattr(client, method)(profile_url(session.client), {"profile_note": "x"})

        assert response.status_code == 302
        assert response.url.startswith("/login/")
        session.client.refresh_from_db()
        assert session.client.profile_note == ""

    def test_posting_needs_the_csrf_token(self, cs_user, session):
        from django.test import Client as Browser

        browser = Browser(enforce_csrf_checks=True)
        browser.force_login(cs_user)

        response = browser.post(profile_url(session.client), {"profile_note": "x"})

        assert response.status_code == 403


class TestLabelFilter:
    def test_a_cs_filters_its_list_by_label(self, client, cs_user, vip):
        tagged = make_session(cs=cs_user, name="Tagged")
        make_session(cs=cs_user, name="Plain")
        tagged.client.labels.add(vip)
        client.force_login(cs_user)

        response = client.get("/console/", {"label": vip.pk})

        assert [s.pk for s in response.context["page"].object_list] == [tagged.pk]

    def test_an_admin_filters_every_agents_sessions_by_label(
        self, client, admin_user, cs_user, cs2, vip, refund
    ):
        mine = make_session(cs=cs_user)
        theirs = make_session(cs=cs2)
        other = make_session(cs=cs2)
        for s in (mine, theirs):
            s.client.labels.add(vip, refund)
        other.client.labels.add(refund)
        client.force_login(admin_user)

        response = client.get("/console/", {"label": vip.pk})

        assert {s.pk for s in response.context["page"].object_list} == {mine.pk, theirs.pk}

    def test_the_filter_offers_every_label_the_current_one_selected(
        self, client, cs_user, vip, refund
    ):
        client.force_login(cs_user)

        page = client.get("/console/", {"label": vip.pk}).content.decode()
        options = client.get(reverse("console:label_options"), {"label": vip.pk}).content.decode()

        assert f"{reverse('console:label_options')}?label={vip.pk}" in page
        assert re.findall(r'<option value="([^"]*)"', options) == ["", refund.pk, vip.pk]
        assert f'<option value="{vip.pk}" selected>VIP</option>' in options

    def test_a_list_filtered_by_label_takes_no_live_insertions(self, client, cs_user, vip):
        client.force_login(cs_user)

        plain = client.get("/console/")
        filtered = client.get("/console/", {"label": vip.pk})

        assert plain.context["live_insert"] is True
        assert filtered.context["live_insert"] is False
        assert 'data-insert=""' in filtered.content.decode()

    def test_the_options_need_a_login(self, client):
        response = client.get(reverse("console:label_options"))

        assert response.status_code == 302

    @pytest.mark.parametrize("count", [5, 500])
    @pytest.mark.parametrize("role", ["cs", "admin"])
    def test_constant_queries_with_a_label(
        self, client, cs_user, cs2, admin_user, vip, django_assert_max_num_queries, count, role
    ):
        populate(count, cs=cs_user, other=cs2)
        vip.clients.set(Client.objects.all())
        client.force_login(cs_user if role == "cs" else admin_user)

        with django_assert_max_num_queries(LIST_QUERY_CEILING):  # the list's own ceiling
            response = client.get("/console/", {"label": vip.pk, "order": "waiting"})

        shown = len(response.context["page"].object_list)
        assert shown == (min(count // 2, 50) if role == "cs" else 50 if count == 500 else count + 3)


class TestAdmin:
    @pytest.fixture
    def admin_client(self, client, admin_user):
        client.force_login(admin_user)
        return client

    def test_labels_list_their_clients_count(self, admin_client, vip, refund):
        for _ in range(3):
            make_session(cs=None).client.labels.add(vip)

        response = admin_client.get(reverse("admin:conversations_label_changelist"))

        rows = {label.name: label.client_count for label in response.context["cl"].result_list}
        assert rows == {"VIP": 3, "Refund": 0}

    def test_a_colour_must_be_rrggbb(self, admin_client):
        url = reverse("admin:conversations_label_add")

        refused = admin_client.post(url, {"name": "Spam", "color": "red"})
        saved = admin_client.post(url, {"name": "Spam", "color": "#AA00CC"})

        assert refused.status_code == 200 and not refused.context["adminform"].form.is_valid()
        assert saved.status_code == 302
        assert Label.objects.get(name="Spam").color == "#aa00cc"

    def test_the_client_page_shows_labels_note_and_block_state(self, admin_client, session, vip):
        session.client.labels.add(vip)
        Client.objects.filter(pk=session.client.pk).update(
            profile_note="Speaks Javanese", blocked=True, block_reason="spam links"
        )

        body = admin_client.get(
            reverse("admin:conversations_client_change", args=[session.client.pk])
        ).content.decode()

        assert "Speaks Javanese" in body
        assert "spam links" in body
        assert f'<option value="{vip.pk}" selected>VIP</option>' in body
