"""The canned-responses API: who may do what (a CS, another CS, an ADMIN, anonymous, an
expired token, for every method), what each answers, `rendered` with `?session=`, and
the schema."""

import pytest
from django.test import Client as HttpClient

from conversations.models import CannedResponse
from conversations.services.canned import canned_create
from conversations.tests.api_helpers import bearer, call
from conversations.tests.console_helpers import make_session

pytestmark = pytest.mark.django_db

LIST = "/api/canned-responses/"


@pytest.fixture
def cs2(make_user):
    return make_user("cs2@helpdesk.com", name="CS Two")


@pytest.fixture
def session(cs_user):
    session = make_session(cs=cs_user, name="Budi Santoso")
    session.client.language_code = "id"
    session.client.save()
    return session


@pytest.fixture
def public():
    return canned_create(
        shortcut="refund",
        title="Refund",
        text_en="Hi {client_first_name}, refunded.",
        text_id="Halo {client_first_name}, dana sudah kembali.",
        owner=None,
    )


@pytest.fixture
def mine(cs_user):
    return canned_create(
        shortcut="ref-mine", title="Mine", text_en="{agent_name} here.", owner=cs_user
    )


def detail(canned: CannedResponse) -> str:
    return f"{LIST}{canned.pk}/"


NEW = {"shortcut": "thanks", "title": "Thanks", "text_en": "Thank you, {client_name}!"}


class TestReading:
    def test_an_agent_lists_the_shared_ones_and_its_own(self, cs_user, cs2, public, mine):
        own = call("get", LIST, cs_user)
        other = call("get", LIST, cs2)

        assert own.status_code == 200
        assert own.json() == [
            {
                "id": mine.pk,
                "shortcut": "ref-mine",
                "title": "Mine",
                "text_en": "{agent_name} here.",
                "text_id": "",
                "personal": True,
                "uses": 0,
            },
            {
                "id": public.pk,
                "shortcut": "refund",
                "title": "Refund",
                "text_en": "Hi {client_first_name}, refunded.",
                "text_id": "Halo {client_first_name}, dana sudah kembali.",
                "personal": False,
                "uses": 0,
            },
        ]
        assert [item["shortcut"] for item in other.json()] == ["refund"]

    def test_q_ranks_shortcut_then_title_then_text(self, cs_user, public, mine):
        canned_create(shortcut="zz", title="About a refund", text_en="x", owner=None)
        canned_create(shortcut="aa", title="Other", text_en="A refund follows", owner=None)

        response = call("get", f"{LIST}?q=ref", cs_user)

        assert [i["shortcut"] for i in response.json()] == ["ref-mine", "refund", "zz", "aa"]

    def test_with_a_session_each_item_is_rendered_in_the_clients_language(
        self, cs_user, session, public, mine
    ):
        listed = call("get", f"{LIST}?session={session.pk}", cs_user)
        one = call("get", f"{detail(public)}?session={session.pk}", cs_user)

        assert [i["rendered"] for i in listed.json()] == [
            "CS One here.",
            "Halo Budi, dana sudah kembali.",
        ]
        assert one.json()["rendered"] == "Halo Budi, dana sudah kembali."
        assert "rendered" not in call("get", LIST, cs_user).json()[0]

    def test_another_cs_session_is_404_an_admin_may_use_any(self, cs2, admin_user, session, public):
        assert call("get", f"{LIST}?session={session.pk}", cs2).status_code == 404
        assert call("get", f"{detail(public)}?session={session.pk}", cs2).status_code == 404
        assert call("get", f"{LIST}?session=nope", admin_user).status_code == 404
        response = call("get", f"{LIST}?session={session.pk}", admin_user)
        assert response.status_code == 200
        assert response.json()[0]["rendered"] == "Halo Budi, dana sudah kembali."

    def test_another_agents_personal_one_is_404_to_everyone(self, cs2, admin_user, mine):
        for user in (cs2, admin_user):
            for method in ("get", "patch", "put", "delete"):
                response = call(method, detail(mine), user, NEW)
                assert response.status_code == 404, (user, method)
                assert response.json()["code"] == "not_found"
        assert CannedResponse.objects.get(pk=mine.pk).title == "Mine"


class TestWriting:
    def test_a_cs_creates_edits_and_deletes_its_own(self, cs_user):
        created = call("post", LIST, cs_user, NEW)
        canned = CannedResponse.objects.get()
        patched = call("patch", detail(canned), cs_user, {"title": "Many thanks"})
        put = call("put", detail(canned), cs_user, {**NEW, "text_id": "Terima kasih!"})
        deleted = call("delete", detail(canned), cs_user)

        assert created.status_code == 201
        assert created.json()["personal"] is True
        assert canned.owner == cs_user
        assert patched.status_code == 200 and patched.json()["title"] == "Many thanks"
        assert put.status_code == 200 and put.json()["text_id"] == "Terima kasih!"
        assert deleted.status_code == 204
        assert not CannedResponse.objects.exists()

    def test_a_cs_may_not_write_shared_ones(self, cs_user, public):
        created = call("post", LIST, cs_user, {**NEW, "personal": False})
        patched = call("patch", detail(public), cs_user, {"title": "Mine now"})
        put = call("put", detail(public), cs_user, NEW)
        deleted = call("delete", detail(public), cs_user)

        for response in (created, patched, put, deleted):
            assert response.status_code == 403
            assert response.json()["code"] == "permission_denied"
        assert list(CannedResponse.objects.values_list("title", flat=True)) == ["Refund"]

    def test_an_admin_creates_edits_and_deletes_shared_ones(self, admin_user, cs_user):
        created = call("post", LIST, admin_user, {**NEW, "personal": False})
        canned = CannedResponse.objects.get()
        patched = call("patch", detail(canned), admin_user, {"text_id": "Terima kasih!"})
        seen_by_cs = call("get", LIST, cs_user)
        deleted = call("delete", detail(canned), admin_user)

        assert created.status_code == 201 and created.json()["personal"] is False
        assert canned.owner is None
        assert patched.status_code == 200
        assert [i["shortcut"] for i in seen_by_cs.json()] == ["thanks"]
        assert deleted.status_code == 204

    def test_personal_cannot_flip(self, cs_user, mine):
        response = call("patch", detail(mine), cs_user, {"personal": False})

        assert response.status_code == 400
        assert "personal" in response.json()["errors"]
        assert CannedResponse.objects.get(pk=mine.pk).owner == cs_user

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({**NEW, "text_en": "Hi {name}"}, "text_en"),
            ({**NEW, "text_id": "Halo {client_name"}, "text_id"),
            ({**NEW, "shortcut": "two words"}, "shortcut"),
            ({**NEW, "shortcut": "refund"}, "shortcut"),
        ],
    )
    def test_invalid_ones_are_400_by_field(self, cs_user, public, body, field):
        response = call("post", LIST, cs_user, body)

        assert response.status_code == 400
        assert response.json()["code"] == "invalid"
        assert field in response.json()["errors"]
        assert CannedResponse.objects.count() == 1

    def test_an_error_is_in_the_requests_language(self, cs_user):
        response = HttpClient().post(
            LIST,
            {**NEW, "text_en": "Hi {nama}"},
            content_type="application/json",
            HTTP_ACCEPT_LANGUAGE="id",
            **bearer(cs_user),
        )

        assert response.status_code == 400
        assert response.json()["errors"]["text_en"][0].startswith("Variabel {nama}")


class TestAuthentication:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("get", LIST),
            ("post", LIST),
            ("get", "{detail}"),
            ("put", "{detail}"),
            ("patch", "{detail}"),
            ("delete", "{detail}"),
        ],
    )
    @pytest.mark.parametrize("expired", [False, True])
    def test_anonymous_and_expired_tokens_are_401(self, method, path, expired, admin_user, public):
        user = admin_user if expired else None

        response = call(method, path.format(detail=detail(public)), user, NEW, expired=expired)

        assert response.status_code == 401
        assert response.json()["code"] in ("not_authenticated", "token_not_valid")
        assert CannedResponse.objects.get().title == "Refund"


def test_the_schema_documents_the_fields():
    schema = HttpClient().get("/api/schema/", {"format": "json"}).json()

    assert {"/api/canned-responses/", "/api/canned-responses/{canned_id}/"} <= set(schema["paths"])
    fields = schema["components"]["schemas"]["RenderedCannedResponse"]["properties"]
    assert {"id", "shortcut", "title", "text_en", "text_id", "personal", "uses", "rendered"} == set(
        fields
    )
    assert fields["personal"]["type"] == "boolean"
    listing = schema["paths"]["/api/canned-responses/"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"q", "session"}
    assert "403" in schema["paths"]["/api/canned-responses/"]["post"]["responses"]
