"""The labels and client-profile API: who may do what (a CS, another CS, an ADMIN,
anonymous, an expired token, for every method), what each answers, and the schema."""

from datetime import timedelta

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from conversations.models import Client, ClientBlockEvent, Label, Session
from conversations.tests.api_helpers import bearer, call
from conversations.tests.console_helpers import make_session

pytestmark = pytest.mark.django_db


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


def client_url(client: Client) -> str:
    return f"/api/clients/{client.pk}/"


class TestLabelsMatrix:
    """Reading: any agent. Creating, changing, deleting: an ADMIN only."""

    @pytest.mark.parametrize("role", ["cs", "cs2", "admin"])
    def test_every_agent_lists_and_reads_labels(self, role, cs_user, cs2, admin_user, vip, refund):
        user = {"cs": cs_user, "cs2": cs2, "admin": admin_user}[role]

        listed = call("get", "/api/labels/", user)
        one = call("get", f"/api/labels/{vip.pk}/", user)

        assert listed.status_code == 200
        assert [item["name"] for item in listed.json()] == ["Refund", "VIP"]
        assert listed.json()[1] == {"id": vip.pk, "name": "VIP", "color": "#ffd700"}
        assert one.status_code == 200 and one.json()["name"] == "VIP"

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("post", "/api/labels/", {"name": "Spam", "color": "#123456"}),
            ("patch", "/api/labels/{id}/", {"name": "Gold"}),
            ("delete", "/api/labels/{id}/", None),
        ],
    )
    def test_a_cs_may_not_change_labels(self, method, path, body, cs_user, vip):
        response = call(method, path.format(id=vip.pk), cs_user, body)

        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
        vip.refresh_from_db()
        assert vip.name == "VIP"
        assert Label.objects.count() == 1

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("get", "/api/labels/"),
            ("post", "/api/labels/"),
            ("get", "/api/labels/{id}/"),
            ("patch", "/api/labels/{id}/"),
            ("delete", "/api/labels/{id}/"),
        ],
    )
    @pytest.mark.parametrize("expired", [False, True])
    def test_anonymous_and_expired_tokens_are_401(self, method, path, expired, admin_user, vip):
        user = admin_user if expired else None

        response = call(method, path.format(id=vip.pk), user, {"name": "X"}, expired=expired)

        assert response.status_code == 401
        assert response.json()["code"] in ("not_authenticated", "token_not_valid")
        assert Label.objects.filter(name="VIP").exists()

    def test_an_admin_creates_renames_recolours_and_deletes(self, admin_user, session, vip):
        session.client.labels.add(vip)

        created = call("post", "/api/labels/", admin_user, {"name": "  Spam ", "color": "#ABCDEF"})
        renamed = call("patch", f"/api/labels/{vip.pk}/", admin_user, {"color": "#000000"})
        deleted = call("delete", f"/api/labels/{vip.pk}/", admin_user)

        assert created.status_code == 201
        assert created.json()["name"] == "Spam"
        assert created.json()["color"] == "#abcdef"
        assert renamed.status_code == 200 and renamed.json()["color"] == "#000000"
        assert deleted.status_code == 204
        assert not Label.objects.filter(pk=vip.pk).exists()
        assert list(session.client.labels.all()) == []

    @pytest.mark.parametrize("color", ["red", "#12345", "#1234567", "#gggggg", "123456"])
    def test_a_colour_is_rrggbb(self, admin_user, color):
        response = call("post", "/api/labels/", admin_user, {"name": "Spam", "color": color})

        assert response.status_code == 400
        assert "color" in response.json()["errors"]
        assert not Label.objects.exists()

    def test_names_are_unique_whatever_the_case(self, admin_user, vip, refund):
        again = call("post", "/api/labels/", admin_user, {"name": "vip", "color": "#123456"})
        renamed = call("patch", f"/api/labels/{refund.pk}/", admin_user, {"name": "VIP"})

        assert again.status_code == 400 and again.json()["code"] == "name"
        assert renamed.status_code == 400
        assert Label.objects.count() == 2

    def test_a_missing_label_is_404(self, admin_user):
        assert call("get", "/api/labels/nope/", admin_user).status_code == 404
        assert call("patch", "/api/labels/nope/", admin_user, {"name": "X"}).status_code == 404
        assert call("delete", "/api/labels/nope/", admin_user).status_code == 404


class TestClientMatrix:
    """A client: its CS (holding or having held a session), any ADMIN; another CS
    gets a 404 exactly like a missing client."""

    @pytest.mark.parametrize("role", ["cs", "admin"])
    def test_who_may_read_and_patch(self, role, cs_user, admin_user, session, vip):
        user = {"cs": cs_user, "admin": admin_user}[role]

        read = call("get", client_url(session.client), user)
        patched = call(
            "patch",
            client_url(session.client),
            user,
            {"labels": [vip.pk], "profile_note": "Likes tea"},
        )

        assert read.status_code == 200
        assert read.json()["name"] == "John Doe"
        assert read.json()["labels"] == []
        assert patched.status_code == 200
        assert patched.json()["labels"] == [{"id": vip.pk, "name": "VIP", "color": "#ffd700"}]
        assert patched.json()["profile_note"] == "Likes tea"

    @pytest.mark.parametrize("method", ["get", "patch"])
    def test_another_cs_gets_the_404_of_a_missing_client(self, method, cs2, session):
        theirs = call(method, client_url(session.client), cs2, {"profile_note": "x"})
        missing = call(method, "/api/clients/nope/", cs2, {"profile_note": "x"})

        assert theirs.status_code == missing.status_code == 404
        assert theirs.json() == missing.json()
        session.client.refresh_from_db()
        assert session.client.profile_note == ""

    @pytest.mark.parametrize("method", ["get", "patch"])
    @pytest.mark.parametrize("expired", [False, True])
    def test_anonymous_and_expired_tokens_are_401(self, method, expired, cs_user, session):
        user = cs_user if expired else None

        response = call(
            method, client_url(session.client), user, {"profile_note": "x"}, expired=expired
        )

        assert response.status_code == 401
        session.client.refresh_from_db()
        assert session.client.profile_note == ""

    def test_a_cs_keeps_the_clients_of_its_ended_sessions(self, cs_user):
        ended = make_session(cs=cs_user, status=Session.Status.ENDED)

        assert call("get", client_url(ended.client), cs_user).status_code == 200

    def test_after_a_transfer_the_client_follows_the_session(self, cs_user, cs2, session):
        Session.objects.filter(pk=session.pk).update(cs=cs2)

        assert call("get", client_url(session.client), cs_user).status_code == 404
        assert call("get", client_url(session.client), cs2).status_code == 200

    def test_an_unknown_label_is_refused_and_nothing_changes(self, cs_user, session, vip):
        session.client.labels.add(vip)

        response = call(
            "patch", client_url(session.client), cs_user, {"labels": ["nope"], "profile_note": "x"}
        )

        assert response.status_code == 400
        assert response.json()["code"] == "label"
        session.client.refresh_from_db()
        assert session.client.profile_note == ""
        assert list(session.client.labels.all()) == [vip]

    def test_patch_changes_only_what_it_sends(self, cs_user, session, vip):
        call(
            "patch", client_url(session.client), cs_user, {"labels": [vip.pk], "profile_note": "a"}
        )

        response = call("patch", client_url(session.client), cs_user, {"profile_note": "b"})

        assert response.json()["labels"][0]["id"] == vip.pk
        assert response.json()["profile_note"] == "b"

    def test_an_empty_list_takes_every_label_off(self, cs_user, session, vip):
        session.client.labels.add(vip)

        response = call("patch", client_url(session.client), cs_user, {"labels": []})

        assert response.json()["labels"] == []


class TestBlockingThroughPatch:
    def test_block_for_a_time_then_unblock_each_recorded(self, cs_user, session):
        until = timezone.now() + timedelta(days=1)

        blocked = call(
            "patch",
            client_url(session.client),
            cs_user,
            {"blocked": True, "block_reason": "abuse", "blocked_until": until.isoformat()},
        )
        unblocked = call("patch", client_url(session.client), cs_user, {"blocked": False})

        assert blocked.status_code == 200
        assert blocked.json()["blocked"] is True
        assert blocked.json()["block_reason"] == "abuse"
        assert blocked.json()["blocked_until"] is not None
        assert unblocked.json()["blocked"] is False
        events = ClientBlockEvent.objects.filter(client=session.client).order_by("created_at")
        assert [(e.action, e.by_id, e.reason) for e in events] == [
            ("BLOCK", cs_user.pk, "abuse"),
            ("UNBLOCK", cs_user.pk, ""),
        ]
        # Blocking ended the client's ACTIVE session.
        session.refresh_from_db()
        assert session.status == Session.Status.ENDED

    def test_unblocking_a_client_not_blocked_records_nothing(self, admin_user, session):
        response = call("patch", client_url(session.client), admin_user, {"blocked": False})

        assert response.status_code == 200
        assert not ClientBlockEvent.objects.exists()

    def test_a_reason_without_blocked_true_is_refused(self, cs_user, session):
        response = call("patch", client_url(session.client), cs_user, {"block_reason": "abuse"})

        assert response.status_code == 400
        assert "blocked" in response.json()["errors"]
        assert not ClientBlockEvent.objects.exists()

    def test_an_end_in_the_past_is_refused(self, cs_user, session):
        past = (timezone.now() - timedelta(hours=1)).isoformat()

        response = call(
            "patch", client_url(session.client), cs_user, {"blocked": True, "blocked_until": past}
        )

        assert response.status_code == 400
        assert "blocked_until" in response.json()["errors"]
        session.client.refresh_from_db()
        assert session.client.blocked is False

    def test_a_form_body_without_blocked_does_not_unblock(self, cs_user, session):
        session.client.blocked = True
        session.client.save(update_fields=["blocked"])

        response = HttpClient().patch(
            client_url(session.client),
            "profile_note=hello",
            content_type="application/x-www-form-urlencoded",
            **bearer(cs_user),
        )

        assert response.status_code == 200
        assert response.json()["blocked"] is True
        assert response.json()["profile_note"] == "hello"


class TestSchema:
    def test_the_schema_documents_labels_and_clients(self):
        schema = HttpClient().get("/api/schema/", {"format": "json"}).json()
        components = schema["components"]["schemas"]

        assert {"id", "name", "color"} == set(components["Label"]["properties"])
        profile = components["ClientProfile"]["properties"]
        assert {"labels", "profile_note", "blocked", "blocked_until", "block_reason"} <= set(
            profile
        )
        patch = components["PatchedClientProfileUpdateRequest"]["properties"]
        assert patch["labels"]["items"]["type"] == "string"
        assert patch["blocked_until"]["nullable"] is True
        label_post = schema["paths"]["/api/labels/"]["post"]["responses"]
        assert {"201", "400", "401", "403"} <= set(label_post)
        client_patch = schema["paths"]["/api/clients/{client_id}/"]["patch"]["responses"]
        assert {"200", "400", "401", "404"} <= set(client_patch)
