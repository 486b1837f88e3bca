"""Canned responses: the rules of a valid one, how it reads for a session (in the
client's language, variables filled in), its use count, the ranked search, the
console's suggestions and its page for personal ones, and the Django admin."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from conversations.models import CannedResponse
from conversations.services.canned import (
    canned_create,
    canned_render,
    canned_search,
    canned_update,
    canned_use,
)
from conversations.tests.console_helpers import make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def cs2(make_user):
    return make_user("cs2@helpdesk.com", name="CS Two")


@pytest.fixture
def session(cs_user):
    return make_session(cs=cs_user, name="Rina Wati Putri")


def shared(shortcut="refund", **fields) -> CannedResponse:
    values = {"title": "Refund policy", "text_en": "Hello {client_name}.", **fields}
    return canned_create(shortcut=shortcut, owner=None, **values)


class TestValidation:
    @pytest.mark.parametrize("shortcut", ["re fund", "réfund", "a/b", "a.b", "x" * 33, ""])
    def test_a_shortcut_is_lowercase_letters_digits_dash_underscore(self, shortcut):
        with pytest.raises(ValidationError) as error:
            shared(shortcut=shortcut)

        assert "shortcut" in error.value.message_dict
        assert not CannedResponse.objects.exists()

    def test_a_shortcut_typed_with_its_slash_or_capitals_is_kept_clean(self, cs_user):
        canned = canned_create(
            shortcut=" /Thanks-2_u ", title=" Thank  you ", text_en="Thanks!", owner=cs_user
        )

        assert canned.shortcut == "thanks-2_u"
        assert canned.title == "Thank you"

    @pytest.mark.parametrize(
        "text",
        ["Hi {name}", "Hi {client_name!r}", "Hi {client_name:>10}", "Hi {0}", "Hi {}", "Hi {x.y}"],
    )
    def test_an_unknown_variable_is_refused_when_saving(self, cs_user, text):
        with pytest.raises(ValidationError) as error:
            canned_create(shortcut="hi", title="Hi", text_en=text, owner=cs_user)

        (message,) = error.value.message_dict["text_en"]
        assert message.startswith("Unknown variable {")
        assert "{client_name}, {client_first_name}, {agent_name}" in message

    @pytest.mark.parametrize("text", ["Hi {client_name", "Hi client_name}", "a { b", "}"])
    def test_a_malformed_brace_is_refused_in_either_language(self, cs_user, text):
        with pytest.raises(ValidationError) as error:
            canned_create(shortcut="hi", title="Hi", text_en="Hello", text_id=text, owner=cs_user)

        assert "A brace is not closed or not opened" in error.value.message_dict["text_id"][0]

    def test_the_message_is_translated(self, cs_user):
        with translation.override("id"), pytest.raises(ValidationError) as error:
            canned_create(shortcut="hi", title="Hi", text_en="Hi {nama}", owner=cs_user)

        assert "Variabel" in error.value.message_dict["text_en"][0]

    def test_double_braces_write_a_brace(self, cs_user, session):
        canned = canned_create(
            shortcut="json",
            title="Braces",
            text_en="Use {{x}} for {client_first_name}",
            owner=cs_user,
        )

        assert canned_render(canned=canned, session=session, agent=cs_user) == "Use {x} for Rina"

    def test_title_and_english_text_are_needed(self, cs_user):
        with pytest.raises(ValidationError) as error:
            canned_create(shortcut="hi", title=" ", text_en="  ", owner=cs_user)

        assert set(error.value.message_dict) == {"title", "text_en"}

    def test_a_shortcut_is_unique_in_what_one_agent_sees(self, cs_user, cs2):
        shared("refund")
        canned_create(shortcut="mine", title="Mine", text_en="Mine", owner=cs_user)

        # Another agent may use the same personal shortcut; nobody may repeat a shared one.
        canned_create(shortcut="mine", title="Also mine", text_en="Mine too", owner=cs2)
        for owner in (cs_user, None):
            with pytest.raises(ValidationError) as error:
                canned_create(shortcut="refund", title="R", text_en="R", owner=owner)
            assert error.value.message_dict["shortcut"] == [
                "The shortcut /refund is already taken."
            ]
        with pytest.raises(ValidationError):
            canned_create(shortcut="mine", title="Again", text_en="Again", owner=cs_user)
        # A shared one may not take a shortcut an agent already has: that agent would see two.
        with pytest.raises(ValidationError):
            shared("mine")
        assert CannedResponse.objects.count() == 3

    def test_an_update_checks_the_same_and_keeps_its_own_shortcut(self, cs_user):
        canned = canned_create(shortcut="hi", title="Hi", text_en="Hi", owner=cs_user)
        canned_create(shortcut="bye", title="Bye", text_en="Bye", owner=cs_user)

        canned_update(canned=canned, title="Hello there")
        with pytest.raises(ValidationError):
            canned_update(canned=canned, shortcut="bye")
        with pytest.raises(ValidationError):
            canned_update(canned=canned, text_en="Hi {client}")

        canned.refresh_from_db()
        assert (canned.shortcut, canned.title, canned.text_en) == ("hi", "Hello there", "Hi")


class TestRendering:
    @pytest.fixture
    def greeting(self):
        return shared(
            "hello",
            title="Greeting",
            text_en="Hi {client_first_name} ({client_name}), {agent_name} here.",
            text_id="Halo {client_first_name}, saya {agent_name}.",
        )

    @pytest.mark.parametrize(
        ("language", "expected"),
        [
            ("en", "Hi Rina (Rina Wati Putri), CS One here."),
            ("en-GB", "Hi Rina (Rina Wati Putri), CS One here."),
            ("", "Hi Rina (Rina Wati Putri), CS One here."),
            ("id", "Halo Rina, saya CS One."),
            ("id-ID", "Halo Rina, saya CS One."),
        ],
    )
    def test_the_clients_telegram_language_picks_the_text(
        self, greeting, session, cs_user, language, expected
    ):
        session.client.language_code = language
        session.client.save()

        assert canned_render(canned=greeting, session=session, agent=cs_user) == expected

    def test_an_indonesian_client_gets_english_when_there_is_no_indonesian(self, session, cs_user):
        canned = shared("ship", title="Shipping", text_en="Ships today, {client_first_name}.")
        session.client.language_code = "id"
        session.client.save()

        assert canned_render(canned=canned, session=session, agent=cs_user) == "Ships today, Rina."

    def test_a_text_stored_unchecked_still_renders_what_it_can(self, session, cs_user):
        canned = shared("odd", text_en="ok")
        CannedResponse.objects.filter(pk=canned.pk).update(text_en="{client_name} {oops} {")
        canned.refresh_from_db()

        assert canned_render(canned=canned, session=session, agent=cs_user) == (
            "{client_name} {oops} {"
        )
        CannedResponse.objects.filter(pk=canned.pk).update(text_en="{client_name} {oops}")
        canned.refresh_from_db()
        assert canned_render(canned=canned, session=session, agent=cs_user) == (
            "Rina Wati Putri {oops}"
        )


class TestUses:
    def test_each_use_counts(self):
        canned = shared()

        canned_use(canned=canned)
        canned_use(canned=canned)

        canned.refresh_from_db()
        assert canned.uses == 2

    @pytest.mark.django_db(transaction=True)
    def test_uses_at_the_same_time_all_count(self):
        canned = shared()
        stale = CannedResponse.objects.get(pk=canned.pk)

        def use():
            try:
                canned_use(canned=stale)
            finally:
                connection.close()

        threads = [threading.Thread(target=use) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        canned.refresh_from_db()
        assert canned.uses == 4


class TestSearch:
    @pytest.fixture
    def library(self, cs_user, cs2):
        shared("refund", title="Money back", text_en="Your refund is on its way.")
        shared("ship", title="Refunds and shipping", text_en="Shipping takes 3 days.")
        shared("late", title="Late order", text_en="Sorry, a refund follows.")
        canned_create(shortcut="ref-mine", title="Mine", text_en="Mine.", owner=cs_user)
        canned_create(shortcut="ref-other", title="Other", text_en="Other.", owner=cs2)

    def test_shortcut_prefix_first_then_title_then_text(self, library, cs_user):
        found = [c.shortcut for c in canned_search(agent=cs_user, query="ref")]

        assert found == ["ref-mine", "refund", "ship", "late"]

    def test_an_agent_sees_shared_and_its_own_only(self, library, cs2, admin_user):
        assert "ref-mine" not in [c.shortcut for c in canned_search(agent=cs2, query="")]
        # An ADMIN sees the shared ones and its own, not an agent's personal ones.
        assert [c.shortcut for c in canned_search(agent=admin_user)] == ["late", "refund", "ship"]

    def test_one_query_whatever_the_number(self, cs_user):
        for n in range(30):
            shared(f"r{n}", title=f"Reply {n}", text_en="Text")
        with CaptureQueriesContext(connection) as queries:
            found = list(canned_search(agent=cs_user, query="r1"))

        assert len(found) == 11
        assert len(queries) == 1


# Console -----------------------------------------------------------------------------


def suggest(http, session, q):
    return http.get(reverse("console:canned"), {"session": session.pk, "q": q})


class TestConsoleSuggestions:
    def test_the_sessions_cs_gets_rendered_matches(self, client, cs_user, session):
        shared("refund", text_en="Hi {client_first_name}, your refund is done.")
        canned_create(shortcut="refmine", title="Mine", text_en="From {agent_name}", owner=cs_user)
        client.force_login(cs_user)

        response = suggest(client, session, "ref")

        assert response.status_code == 200
        assert response.json()["results"] == [
            {
                "id": CannedResponse.objects.get(shortcut="refmine").pk,
                "shortcut": "refmine",
                "title": "Mine",
                "personal": True,
                "rendered": "From CS One",
            },
            {
                "id": CannedResponse.objects.get(shortcut="refund").pk,
                "shortcut": "refund",
                "title": "Refund policy",
                "personal": False,
                "rendered": "Hi Rina, your refund is done.",
            },
        ]

    def test_another_cs_gets_404_and_an_admin_sees_any_session(
        self, client, cs2, admin_user, session
    ):
        shared("refund")
        client.force_login(cs2)
        assert suggest(client, session, "ref").status_code == 404
        client.force_login(admin_user)
        response = suggest(client, session, "ref")
        assert response.status_code == 200
        assert response.json()["results"][0]["rendered"] == "Hello Rina Wati Putri."

    def test_anonymous_is_sent_to_sign_in(self, client, session):
        response = suggest(client, session, "ref")

        assert response.status_code == 302
        assert "/login/" in response["Location"]

    def test_a_use_counts_for_one_the_agent_sees_only(self, client, cs_user, cs2, admin_user):
        public = shared("refund")
        mine = canned_create(shortcut="mine", title="Mine", text_en="Mine", owner=cs_user)

        client.force_login(cs2)
        assert client.post(reverse("console:canned_use", args=[mine.pk])).status_code == 404
        assert client.post(reverse("console:canned_use", args=[public.pk])).status_code == 204
        client.force_login(admin_user)
        assert client.post(reverse("console:canned_use", args=[mine.pk])).status_code == 404
        client.force_login(cs_user)
        assert client.post(reverse("console:canned_use", args=[mine.pk])).status_code == 204
        assert client.get(reverse("console:canned_use", args=[mine.pk])).status_code == 405
        client.logout()
        assert client.post(reverse("console:canned_use", args=[mine.pk])).status_code == 302

        assert CannedResponse.objects.get(pk=mine.pk).uses == 1
        assert CannedResponse.objects.get(pk=public.pk).uses == 1

    def test_the_workspace_loads_the_script(self, client, cs_user, session):
        client.force_login(cs_user)

        page = client.get(reverse("console:session", args=[session.pk]))

        assert "console/canned.js" in page.text


class TestConsoleManage:
    url = "/console/canned/manage/"

    def test_an_agent_creates_edits_and_deletes_its_own(self, client, cs_user):
        client.force_login(cs_user)

        created = client.post(
            self.url, {"shortcut": "Hi", "title": "Hello", "text_en": "Hello {client_name}"}
        )
        canned = CannedResponse.objects.get()
        edited = client.post(
            self.url,
            {"id": canned.pk, "shortcut": "hi", "title": "Hi!", "text_en": "Hi", "text_id": "Hai"},
        )
        page = client.get(self.url)
        form = client.get(self.url, {"edit": canned.pk})
        deleted = client.post(self.url, {"id": canned.pk, "action": "delete"})

        assert created.status_code == edited.status_code == deleted.status_code == 302
        assert canned.owner == cs_user
        assert "/hi" in page.text and "Hi!" in page.text
        assert 'value="Hi!"' in form.text
        assert not CannedResponse.objects.exists()

    def test_errors_come_back_on_the_form_translated(self, client, cs_user):
        cs_user.language = "id"
        cs_user.save()
        client.force_login(cs_user)

        response = client.post(self.url, {"shortcut": "hi", "title": "Hi", "text_en": "Hi {nama}"})

        assert response.status_code == 400
        assert "Variabel" in response.text
        assert not CannedResponse.objects.exists()

    def test_nobody_edits_another_agents_or_a_shared_one_here(
        self, client, cs_user, cs2, admin_user
    ):
        mine = canned_create(shortcut="mine", title="Mine", text_en="Mine", owner=cs_user)
        public = shared("refund")
        body = {"shortcut": "x", "title": "X", "text_en": "X"}

        for user in (cs2, admin_user):
            client.force_login(user)
            assert client.get(self.url, {"edit": mine.pk}).status_code == 404
            assert client.post(self.url, {"id": mine.pk, **body}).status_code == 404
            assert client.post(self.url, {"id": mine.pk, "action": "delete"}).status_code == 404
            assert "/mine" not in client.get(self.url).text
        client.force_login(cs_user)
        assert client.post(self.url, {"id": public.pk, **body}).status_code == 404
        assert client.post(self.url, {"id": public.pk, "action": "delete"}).status_code == 404
        client.logout()
        assert client.get(self.url).status_code == 302

        assert set(CannedResponse.objects.values_list("shortcut", flat=True)) == {"mine", "refund"}


class TestAdmin:
    url = "/admin/conversations/cannedresponse/"

    def test_an_admin_adds_a_shared_one_and_bad_variables_are_refused(self, client, admin_user):
        client.force_login(admin_user)
        body = {
            "shortcut": "refund",
            "title": "Refund",
            "text_en": "Hi {client_nam}",
            "text_id": "",
        }

        refused = client.post(self.url + "add/", body)
        added = client.post(self.url + "add/", {**body, "text_en": "Hi {client_name}"})
        listed = client.get(self.url)

        assert refused.status_code == 200
        assert "Unknown variable {client_nam}" in refused.text
        assert added.status_code == 302
        canned = CannedResponse.objects.get()
        assert canned.owner is None and canned.text_en == "Hi {client_name}"
        assert "refund" in listed.text and "shared" in listed.text

    def test_a_cs_has_no_admin(self, client, cs_user):
        client.force_login(cs_user)

        assert client.get(self.url).status_code in (302, 403)
