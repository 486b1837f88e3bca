"""The REST API's account and session endpoints: who may do what, and what each answers."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from conversations.models import Chat, Session
from conversations.tests.console_helpers import add_chat, go_online, make_session
from helpdesk.api_errors import server_error

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def cs2(make_user):
    return make_user("cs2@helpdesk.com", name="CS Two")


@pytest.fixture
def session(cs_user):
    return make_session(cs=cs_user, name="John Doe")


def bearer(user: User | None) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {AccessToken.for_user(user)}"} if user else {}


def call(method: str, path: str, user: User | None, body: dict | None = None, **extra):
    client = Client()
    if method == "get":
        return client.get(path, body or {}, **bearer(user), **extra)
    return getattr(client, method)(
        path, body or {}, content_type="application/json", **bearer(user), **extra
    )


SESSION_ENDPOINTS = [
    ("get", ""),
    ("get", "chats/"),
    ("post", "chats/"),
    ("post", "read/"),
    ("post", "end/"),
    ("post", "transfer/"),
]


def session_url(session: Session, action: str = "") -> str:
    return f"/api/sessions/{session.pk}/{action}"


def body_for(action: str, *, to: User | None = None) -> dict:
    if action == "chats/":
        return {"message": "Hello from the API"}
    if action == "transfer/":
        return {"cs_id": to.pk if to else "x"}
    return {}


class TestAuthorizationMatrix:
    @pytest.mark.parametrize(
        ("method", "path"),
        [("get", "/api/me/"), ("patch", "/api/me/"), ("get", "/api/sessions/")]
        + [(m, f"/api/sessions/SID/{a}") for m, a in SESSION_ENDPOINTS],
    )
    def test_anonymous_gets_401_json(self, session, method, path):
        response = call(method, path.replace("SID", session.pk), None)

        assert response.status_code == 401
        assert response.json() == {
            "detail": "Authentication credentials were not provided.",
            "code": "not_authenticated",
        }

    @pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer ", "Basic abc", "Bearer a b"])
    def test_a_bad_token_gets_401(self, header):
        response = Client().get("/api/me/", HTTP_AUTHORIZATION=header)

        assert response.status_code == 401
        assert response.json()["detail"]

    @pytest.mark.parametrize(("method", "action"), SESSION_ENDPOINTS)
    def test_it_404s_for_another_cs(self, session, cs2, method, action):
        go_online(cs2)
        response = call(method, session_url(session, action), cs2, body_for(action, to=cs2))

        assert response.status_code == 404
        assert response.json() == {"detail": "No such session.", "code": "not_found"}
        session.refresh_from_db()
        assert session.status == Session.Status.ACTIVE
        assert session.cs_id != cs2.pk
        assert not Chat.objects.filter(session=session).exists()

    @pytest.mark.parametrize(("method", "action"), SESSION_ENDPOINTS)
    def test_it_404s_for_a_missing_session(self, cs_user, method, action):
        response = call(method, f"/api/sessions/nope/{action}", cs_user, body_for(action))

        assert response.status_code == 404

    @pytest.mark.parametrize(("method", "action"), SESSION_ENDPOINTS)
    def test_the_assigned_cs_may(self, session, cs_user, cs2, method, action):
        go_online(cs2)
        response = call(method, session_url(session, action), cs_user, body_for(action, to=cs2))

        assert response.status_code in (200, 201)

    @pytest.mark.parametrize(("method", "action"), SESSION_ENDPOINTS)
    def test_an_admin_may_on_any_session(self, session, admin_user, cs2, method, action):
        go_online(cs2)
        response = call(method, session_url(session, action), admin_user, body_for(action, to=cs2))

        assert response.status_code in (200, 201)


class TestMe:
    def test_it_shows_the_user(self, cs_user):
        response = call("get", "/api/me/", cs_user)

        assert response.status_code == 200
        body = response.json()
        assert body["id"] == cs_user.pk
        assert body["role"] == "CS"
        assert body["status_online"] is False

    def test_going_online_takes_a_waiting_session(self, cs_user):
        waiting = make_session(cs=None)

        response = call("patch", "/api/me/", cs_user, {"status_online": True})

        assert response.status_code == 200
        assert response.json()["status_online"] is True
        waiting.refresh_from_db()
        assert waiting.cs_id == cs_user.pk

    def test_going_offline(self, cs_user):
        go_online(cs_user)

        response = call("patch", "/api/me/", cs_user, {"status_online": False})

        assert response.json()["status_online"] is False
        cs_user.refresh_from_db()
        assert cs_user.status_online is False

    def test_an_admin_sees_and_sets_its_own_presence(self, admin_user):
        response = call("patch", "/api/me/", admin_user, {"status_online": True})

        assert response.status_code == 200
        assert response.json()["role"] == "ADMIN"
        assert call("get", "/api/me/", admin_user).json()["status_online"] is True

    def test_a_bad_value_is_400(self, cs_user):
        response = call("patch", "/api/me/", cs_user, {"status_online": "maybe"})

        assert response.status_code == 400
        assert "status_online" in response.json()["errors"]


class TestSessionList:
    def test_a_cs_sees_its_own_sessions_with_unread_counts(self, cs_user, cs2, session):
        add_chat(session, "first", minutes_ago=2)
        add_chat(session, "last", minutes_ago=1)
        make_session(cs=cs2)

        response = call("get", "/api/sessions/", cs_user)

        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 1
        row = body["results"][0]
        assert row["id"] == session.pk
        assert row["client_id"] == session.client_id
        assert row["cs_id"] == cs_user.pk
        assert row["status"] == "ACTIVE"
        assert row["unread_count"] == 2
        assert row["last_message"] == "last"
        assert row["client"]["name"] == "John Doe"

    def test_an_admin_sees_all_and_filters_by_status(self, admin_user, cs2, session):
        ended = make_session(cs=cs2, status=Session.Status.ENDED)

        everything = call("get", "/api/sessions/", admin_user).json()
        only_ended = call("get", "/api/sessions/", admin_user, {"status": "ENDED"}).json()

        assert {row["id"] for row in everything["results"]} == {session.pk, ended.pk}
        assert [row["id"] for row in only_ended["results"]] == [ended.pk]

    def test_a_cs_can_list_its_ended_sessions(self, cs_user, session):
        ended = make_session(cs=cs_user, status=Session.Status.ENDED)

        body = call("get", "/api/sessions/", cs_user, {"status": "ENDED"}).json()

        assert [row["id"] for row in body["results"]] == [ended.pk]

    def test_an_unknown_status_is_400(self, cs_user):
        response = call("get", "/api/sessions/", cs_user, {"status": "OPEN"})

        assert response.status_code == 400
        assert "status" in response.json()["errors"]

    def test_it_is_paginated(self, cs_user):
        for _ in range(3):
            make_session(cs=cs_user)

        first = call("get", "/api/sessions/", cs_user, {"page_size": 2}).json()
        second = Client().get(first["next"], **bearer(cs_user)).json()

        assert first["count"] == 3
        assert len(first["results"]) == 2
        assert len(second["results"]) == 1
        assert call("get", "/api/sessions/", cs_user, {"page": 9}).status_code == 404


class TestSessionDetail:
    def test_it_shows_the_spec_columns(self, cs_user, session):
        body = call("get", session_url(session), cs_user).json()

        assert body["id"] == session.pk
        assert body["client_id"] == session.client_id
        assert body["cs_id"] == cs_user.pk
        assert body["status"] == "ACTIVE"
        assert body["ended_at"] is None


class TestChats:
    def test_newest_first_with_a_cursor_for_older_ones(self, cs_user, session):
        for i in range(5):
            add_chat(session, f"message {i}", minutes_ago=10 - i)

        first = call("get", session_url(session, "chats/"), cs_user, {"page_size": 3}).json()
        older = Client().get(first["next"], **bearer(cs_user)).json()

        assert [c["message"] for c in first["results"]] == ["message 4", "message 3", "message 2"]
        assert [c["message"] for c in older["results"]] == ["message 1", "message 0"]
        assert older["next"] is None
        chat = first["results"][0]
        assert set(chat) >= {
            "id",
            "session_id",
            "sender_type",
            "message_type",
            "message",
            "file_url",
            "is_read",
            "created_at",
            "delivery_status",
        }
        assert chat["sender_type"] == "CLIENT"
        assert chat["session_id"] == session.pk

    def test_notices_are_marked_apart_from_the_agents_replies(self, cs_user, session):
        add_chat(session, "hi", minutes_ago=3)
        add_chat(session, "Hello, Budi here", sender="CS", minutes_ago=2)
        add_chat(session, "You are now talking with Sari.", sender="CS", is_notice=True)

        chats = call("get", session_url(session, "chats/"), cs_user).json()["results"]

        assert [(c["message"], c["is_notice"]) for c in chats] == [
            ("You are now talking with Sari.", True),
            ("Hello, Budi here", False),
            ("hi", False),
        ]
        # The list's preview is the last real message.
        listed = call("get", "/api/sessions/", cs_user).json()["results"][0]
        assert listed["last_message"] == "Hello, Budi here"

    def test_a_bad_cursor_is_404_json(self, cs_user, session):
        response = call("get", session_url(session, "chats/"), cs_user, {"cursor": "zzz"})

        assert response.status_code == 404
        assert response.json()["code"] == "not_found"

    def test_sending_text_stores_a_pending_reply(self, cs_user, session):
        response = call("post", session_url(session, "chats/"), cs_user, {"message": "Hi there"})

        assert response.status_code == 201
        body = response.json()
        assert body["sender_type"] == "CS"
        assert body["message"] == "Hi there"
        assert body["message_type"] == "TEXT"
        assert body["delivery_status"] == "PENDING"
        assert Chat.objects.get(pk=body["id"]).delivery_status == Chat.DeliveryStatus.PENDING

    def test_sending_a_file_with_a_caption(self, cs_user, session):
        upload = SimpleUploadedFile("photo.png", b"\x89PNG fake", content_type="image/png")

        response = Client().post(
            session_url(session, "chats/"),
            {"message": "see this", "file": upload},
            **bearer(cs_user),
        )

        assert response.status_code == 201
        body = response.json()
        assert body["message_type"] == "IMAGE"
        assert body["file_url"] == f"/files/{body['id']}/photo.png"
        assert body["message"] == "see this"

    def test_a_file_over_the_limit_is_413(self, cs_user, session, settings):
        settings.UPLOAD_MAX_BYTES = 10
        upload = SimpleUploadedFile("big.pdf", b"x" * 11, content_type="application/pdf")

        response = Client().post(
            session_url(session, "chats/"), {"file": upload}, **bearer(cs_user)
        )

        assert response.status_code == 413
        assert response.json()["code"] == "too_large"
        assert not Chat.objects.exists()

    def test_a_forbidden_file_type_is_400(self, cs_user, session):
        upload = SimpleUploadedFile("run.exe", b"MZ", content_type="application/x-msdownload")

        response = Client().post(
            session_url(session, "chats/"), {"file": upload}, **bearer(cs_user)
        )

        assert response.status_code == 400
        assert response.json()["code"] == "type_not_allowed"

    def test_an_empty_message_is_400(self, cs_user, session):
        response = call("post", session_url(session, "chats/"), cs_user, {"message": "  "})

        assert response.status_code == 400
        assert response.json() == {"detail": "Write a message or attach a file.", "code": "empty"}

    def test_a_reply_to_an_ended_session_is_400(self, cs_user, session):
        session.status = Session.Status.ENDED
        session.save()

        response = call("post", session_url(session, "chats/"), cs_user, {"message": "late"})

        assert response.status_code == 400
        assert response.json()["code"] == "ended"

    def test_a_body_that_is_not_json_is_400(self, cs_user, session):
        response = Client().post(
            session_url(session, "chats/"),
            "{not json",
            content_type="application/json",
            **bearer(cs_user),
        )

        assert response.status_code == 400
        assert response.json()["code"] == "parse_error"


class TestSessionActions:
    def test_mark_read(self, cs_user, session):
        add_chat(session, "one")
        add_chat(session, "two")

        response = call("post", session_url(session, "read/"), cs_user)

        assert response.json() == {"marked": 2}
        assert not Chat.objects.filter(is_read=False).exists()

    def test_end(self, cs_user, session):
        response = call("post", session_url(session, "end/"), cs_user)

        assert response.status_code == 200
        assert response.json()["status"] == "ENDED"
        assert response.json()["ended_at"]

    def test_transfer_to_an_online_cs(self, cs_user, cs2, session):
        go_online(cs2)

        response = call("post", session_url(session, "transfer/"), cs_user, {"cs_id": cs2.pk})

        assert response.status_code == 200
        assert response.json()["cs_id"] == cs2.pk
        # Given away: the former agent no longer sees it.
        assert call("get", session_url(session), cs_user).status_code == 404

    @pytest.mark.parametrize(
        ("target", "code"), [("offline", "offline"), ("self", "same_agent"), ("admin", "not_cs")]
    )
    def test_refused_transfers_are_400_with_a_reason(
        self, cs_user, cs2, admin_user, session, target, code
    ):
        go_online(cs_user)
        to = {"offline": cs2, "self": cs_user, "admin": admin_user}[target]

        response = call("post", session_url(session, "transfer/"), cs_user, {"cs_id": to.pk})

        assert response.status_code == 400
        assert response.json()["code"] == code

    def test_transfer_to_nobody_is_400_on_the_field(self, cs_user, session):
        response = call("post", session_url(session, "transfer/"), cs_user, {"cs_id": "nobody"})

        assert response.status_code == 400
        assert response.json()["errors"] == {"cs_id": ["No such agent."]}


class TestErrorsAreJson:
    def test_an_unknown_api_address_is_404_json(self, cs_user):
        response = call("get", "/api/nothing-here/", cs_user)

        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "Not found.", "code": "not_found"}

    def test_a_wrong_method_is_405_json(self, cs_user, session):
        response = call("delete", session_url(session), cs_user)

        assert response.status_code == 405
        assert response.json() == {
            "detail": 'Method "DELETE" not allowed.',
            "code": "method_not_allowed",
        }

    def test_the_console_keeps_its_html_404(self, client, cs_user):
        client.force_login(cs_user)

        response = client.get("/console/nothing-here/")

        assert response.status_code == 404
        assert response["Content-Type"].startswith("text/html")

    def test_a_server_error_under_api_is_json_and_html_elsewhere(self, rf):
        api = server_error(rf.get("/api/sessions/"))
        console = server_error(rf.get("/console/"))

        assert api.status_code == 500
        assert api["Content-Type"] == "application/json"
        assert (
            api.content
            == b'{"detail": "Something went wrong on our side.", "code": "server_error"}'
        )
        assert console.status_code == 500
        assert console["Content-Type"].startswith("text/html")
