"""/api/search/: the search box over REST, with the console's rules of who sees what.
Transactional: InnoDB's FULLTEXT index sees only committed rows."""

import pytest
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from conversations.models import Session
from conversations.tests.console_helpers import add_chat, make_session

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cs2(make_user):
    return make_user("cs2@helpdesk.com", name="CS Two")


@pytest.fixture
def desk(cs_user, cs2):
    mine = make_session(cs=cs_user, name="Dewi Lestari", status=Session.Status.ENDED)
    theirs = make_session(cs=cs2, name="Eko Prasetyo")
    return {
        "mine": mine,
        "mine_chat": add_chat(mine, "Nomor resi #10234 <b>belum</b> dikirim 📦"),
        "theirs": theirs,
        "their_chat": add_chat(theirs, "Where is order #10234? 📦"),
    }


def search(user: User | None, q: str | None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {AccessToken.for_user(user)}"} if user else {}
    return Client().get("/api/search/", {} if q is None else {"q": q}, **headers)


def test_a_cs_finds_its_own_ended_sessions_messages(desk, cs_user):
    response = search(cs_user, "#10234")
    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {
                "session_id": desk["mine"].pk,
                "chat_id": desk["mine_chat"].pk,
                "snippet": "Nomor resi <mark>#10234</mark> &lt;b&gt;belum&lt;/b&gt; dikirim 📦",
            }
        ]
    }


def test_another_cs_finds_nothing_of_them(desk, cs2):
    for q in ("dikirim", "Dewi", "📦"):
        results = search(cs2, q).json()["results"]
        assert desk["mine"].pk not in {r["session_id"] for r in results}
    assert [r["chat_id"] for r in search(cs2, "📦").json()["results"]] == [desk["their_chat"].pk]


def test_an_admin_finds_all(desk, admin_user):
    results = search(admin_user, "#10234").json()["results"]
    assert {r["chat_id"] for r in results} == {desk["mine_chat"].pk, desk["their_chat"].pk}


def test_a_client_name_match_has_no_chat(desk, cs_user):
    (result,) = search(cs_user, "lestari").json()["results"]
    assert result == {
        "session_id": desk["mine"].pk,
        "chat_id": None,
        "snippet": f"Dewi <mark>Lestari</mark> · @client · {desk['mine'].client.telegram_id}",
    }


def test_anonymous_is_401(desk):
    assert search(None, "refund").status_code == 401


@pytest.mark.parametrize("q", [None, "", "   ", "x"])
def test_an_empty_or_too_short_query_is_a_clear_400(desk, cs_user, q):
    response = search(cs_user, q)
    assert response.status_code == 400
    assert "q" in str(response.json())


def test_the_schema_describes_it():
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/search/"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["q"]
    results = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert results == {"$ref": "#/components/schemas/SearchResponse"}
