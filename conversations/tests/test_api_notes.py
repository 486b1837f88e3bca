"""/api/sessions/<id>/notes/: who may list and write (the assigned CS, another CS, a CS
mentioned in a note, an ADMIN, anonymous, an expired token), what each answers."""

import pytest

from accounts.models import User
from conversations.limits import REPLY_MAX_CHARS
from conversations.models import Chat, Mention, Note
from conversations.services.notes import note_add
from conversations.tests.api_helpers import call as api_call
from conversations.tests.console_helpers import make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def cs2(make_user):
    return make_user("cs2@helpdesk.com", name="CS Two")


@pytest.fixture
def cs3(make_user):
    return make_user("cs3@helpdesk.com", name="CS Three")


@pytest.fixture
def session(cs_user, cs2):
    session = make_session(cs=cs_user, name="Dewi Lestari")
    note_add(session=session, author=cs_user, text="@cs2 please double-check the refund")
    return session


def call(method: str, session, user: User | None, body=None, *, expired: bool = False):
    return api_call(method, f"/api/sessions/{session.pk}/notes/", user, body, expired=expired)


@pytest.mark.parametrize("role", ["assigned", "admin", "mentioned"])
def test_those_who_may_read_the_session_list_its_notes(role, session, cs_user, cs2, admin_user):
    user = {"assigned": cs_user, "admin": admin_user, "mentioned": cs2}[role]

    response = call("get", session, user)

    assert response.status_code == 200
    (note,) = response.json()
    assert note["text"] == "@cs2 please double-check the refund"
    assert note["author"] == {"id": cs_user.pk, "name": "CS One"}
    assert set(note) == {"id", "text", "author", "created_at"}


@pytest.mark.parametrize("role", ["assigned", "admin"])
def test_the_assigned_cs_and_an_admin_write_notes(role, session, cs_user, admin_user, cs3):
    user = {"assigned": cs_user, "admin": admin_user}[role]

    response = call("post", session, user, {"text": "Handover: @cs3 takes it tomorrow"})

    assert response.status_code == 201
    body = response.json()
    assert body["text"] == "Handover: @cs3 takes it tomorrow"
    assert body["author"]["id"] == user.pk
    assert Mention.objects.filter(note_id=body["id"], agent=cs3).exists()
    assert not Chat.objects.filter(session=session).exists()  # nothing for Telegram


def test_a_mentioned_cs_reads_but_may_not_write(session, cs2):
    response = call("post", session, cs2, {"text": "me too"})

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert Note.objects.count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_cs_gets_the_404_of_a_missing_session(method, session, cs3):
    response = call(method, session, cs3, {"text": "hello"})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert Note.objects.count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("expired", [False, True])
def test_anonymous_and_expired_tokens_are_401(method, expired, session, cs_user):
    response = call(method, session, cs_user if expired else None, {"text": "x"}, expired=expired)

    assert response.status_code == 401
    assert response.json()["code"] in ("not_authenticated", "token_not_valid")
    assert Note.objects.count() == 1


@pytest.mark.parametrize("text", ["", "   ", "x" * (REPLY_MAX_CHARS + 1)])
def test_an_empty_or_too_long_note_is_a_400(text, session, cs_user):
    response = call("post", session, cs_user, {"text": text})

    assert response.status_code == 400
    assert "text" in str(response.json())
    assert Note.objects.count() == 1
