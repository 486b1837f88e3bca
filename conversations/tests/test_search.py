"""Search (issue 14.4): what an agent finds, what it may never find, and opening a result
at its message. Transactional: InnoDB's FULLTEXT index sees only committed rows."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations import search
from conversations.models import Chat, Session
from conversations.search import search_for_agent
from conversations.tests.console_helpers import add_chat, make_session

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HX-Request": "true"}


@pytest.fixture
def cs2(make_user):
    return make_user("cs2@helpdesk.com", name="CS Two")


@pytest.fixture
def desk(cs_user, cs2):
    """CS One's active and ended sessions, and CS Two's session, all with messages."""
    mine = make_session(cs=cs_user, name="Budi Santoso", username="budis")
    ended = make_session(cs=cs_user, name="Siti Rahma", status=Session.Status.ENDED)
    theirs = make_session(cs=cs2, name="Agus Wijaya", username="agusw")
    chats = {
        "refund": add_chat(mine, "I want a refund for my blender please", minutes_ago=30),
        "order": add_chat(mine, "Pesanan #10234 belum sampai, kak", minutes_ago=20),
        "other_order": add_chat(mine, "Order 10234 without the hash", minutes_ago=19),
        "emoji": add_chat(mine, "Terima kasih 🙏", minutes_ago=10),
        "other_emoji": add_chat(mine, "Mantap 😊", minutes_ago=9),
        "ended": add_chat(ended, "Barang rusak, minta tukar garansi", minutes_ago=5),
        "their_chat": add_chat(theirs, "My refund of the garansi never came #10234 🙏"),
    }
    return {"mine": mine, "ended": ended, "theirs": theirs, **chats}


def chat_ids(results) -> set[str]:
    return {r.chat_id for r in results if r.chat_id}


class TestSelector:
    @pytest.fixture(autouse=True, params=["newest first", "through the index", "past its time"])
    def step(self, request, monkeypatch):
        """Every way MariaDB finds messages: among the newest (where a common word fills
        a page); with nothing counted as newest, through the FULLTEXT index (or for
        words it does not hold, the wider scan); and that scan again when the index's
        search runs out of time. SQLite scans either way."""
        if request.param != "newest first":
            monkeypatch.setattr(search, "RECENT_CHATS", 0)
            monkeypatch.setattr(search, "RECENT_SESSIONS", 0)
        if request.param == "past its time":
            monkeypatch.setattr(search, "_within_timeout", lambda chats, limit: None)

    @pytest.mark.parametrize(
        ("q", "expected"),
        [
            ("refund", {"refund"}),  # English
            ("REFUND", {"refund"}),  # any case
            ("pesanan", {"order"}),  # Indonesian
            ("tukar garansi", {"ended"}),  # every term, in an ended session
            ("#10234", {"order"}),  # the order number as typed, not any "10234"
            ("🙏", {"emoji"}),  # that emoji, not any emoji
            ("kak", {"order"}),  # three letters: the FULLTEXT index's shortest word
            ("sa", {"order", "ended"}),  # shorter than any word indexed: "sampai", "rusak"
        ],
    )
    def test_a_cs_finds_its_messages(self, desk, cs_user, q, expected):
        assert chat_ids(search_for_agent(user=cs_user, q=q)) == {desk[k].pk for k in expected}

    def test_another_agents_sessions_are_never_found_by_a_cs(self, desk, cs2):
        found = search_for_agent(user=cs2, q="refund") + search_for_agent(user=cs2, q="#10234")
        assert {r.session_id for r in found} == {desk["theirs"].pk}
        assert search_for_agent(user=cs2, q="Budi") == []

    def test_an_admin_finds_every_session(self, desk, admin_user):
        found = search_for_agent(user=admin_user, q="garansi")
        assert chat_ids(found) == {desk["ended"].pk, desk["their_chat"].pk}

    def test_newest_first(self, desk, admin_user):
        found = search_for_agent(user=admin_user, q="refund")
        assert [r.chat_id for r in found] == [desk["their_chat"].pk, desk["refund"].pk]

    def test_client_name_username_and_telegram_id_find_the_session(self, desk, cs_user):
        for q in ("budi", "@budis", desk["mine"].client.telegram_id):
            (result,) = search_for_agent(user=cs_user, q=q)
            assert result.session_id == desk["mine"].pk and result.chat_id is None
        assert "<mark>Budi</mark>" in search_for_agent(user=cs_user, q="budi")[0].snippet

    def test_notices_are_not_results(self, desk, cs_user):
        add_chat(desk["mine"], "Please wait, an agent answers soon: voucher", is_notice=True)
        assert search_for_agent(user=cs_user, q="voucher") == []

    def test_html_in_a_message_is_escaped_and_the_match_marked(self, desk, cs_user):
        add_chat(desk["mine"], '<img src=x onerror="alert(1)"> my voucher <b>now</b>')
        (result,) = search_for_agent(user=cs_user, q="voucher")
        assert result.snippet == (
            "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; my <mark>voucher</mark> "
            "&lt;b&gt;now&lt;/b&gt;"
        )

    def test_a_long_message_shows_the_part_around_the_match(self, desk, cs_user):
        add_chat(desk["mine"], "x" * 300 + " kulkas " + "y" * 300)
        (result,) = search_for_agent(user=cs_user, q="kulkas")
        assert "<mark>kulkas</mark>" in result.snippet and len(result.snippet) < 160

    @pytest.mark.parametrize("q", ["", "  ", "a", "7"])
    def test_an_empty_or_one_letter_query_finds_nothing(self, desk, cs_user, q):
        assert search_for_agent(user=cs_user, q=q) == []


class TestConsoleSearch:
    def test_a_cs_sees_its_results_linked_at_the_message(self, desk, cs_user, client):
        client.force_login(cs_user)
        response = client.get("/console/search/", {"q": "#10234"}, headers=HTMX)
        html = response.content.decode()
        assert response.status_code == 200
        assert f'href="/console/sessions/{desk["mine"].pk}/?at={desk["order"].pk}"' in html
        assert 'hx-target="#work"' in html and "Budi Santoso" in html
        assert "Pesanan <mark>#10234</mark> belum" in html
        assert desk["theirs"].pk not in html

    def test_another_cs_finds_nothing_of_them(self, desk, cs2, client):
        client.force_login(cs2)
        html = client.get("/console/search/", {"q": "pesanan"}).content.decode()
        assert desk["mine"].pk not in html and "Nothing found" in html

    def test_an_admin_finds_all(self, desk, admin_user, client):
        client.force_login(admin_user)
        html = client.get("/console/search/", {"q": "refund"}).content.decode()
        assert desk["mine"].pk in html and desk["theirs"].pk in html

    def test_anonymous_is_sent_to_sign_in(self, desk, client):
        response = client.get("/console/search/", {"q": "refund"})
        assert response.status_code == 302 and response.url.startswith("/login/")

    def test_a_one_letter_query_asks_for_more(self, desk, cs_user, client):
        client.force_login(cs_user)
        html = client.get("/console/search/", {"q": "r"}).content.decode()
        assert "at least 2 characters" in html

    def test_the_list_pane_search_box_asks_the_search_view(self, desk, cs_user, client):
        client.force_login(cs_user)
        html = client.get("/console/").content.decode()
        box = re.search(r'<input type="search" id="session-search"[^>]*>', html).group()
        assert 'hx-get="/console/search/"' in box and 'hx-target="#search-results"' in box
        assert 'id="search-results"' in html


class TestOpenAtMessage:
    def fill(self, session: Session, count: int) -> list[Chat]:
        return [add_chat(session, f"message {n}", minutes_ago=count - n) for n in range(count)]

    def test_the_page_around_the_message_is_shown_and_focused(self, cs_user, client):
        session = make_session(cs=cs_user)
        chats = self.fill(session, 150)
        client.force_login(cs_user)
        html = client.get(
            f"/console/sessions/{session.pk}/", {"at": chats[40].pk}, headers=HTMX
        ).content.decode()
        shown = re.findall(r'id="chat-([^"]+)"', html)
        assert shown == [c.pk for c in chats[16:66]]  # 24 before it, it, 25 after
        assert f'data-focus-chat="{chats[40].pk}"' in html
        assert "Load older messages" in html and "Back to the latest messages" in html
        assert 'data-live="1"' not in html  # live messages go to the latest page only

    def test_another_sessions_chat_falls_back_to_the_latest(self, cs_user, client):
        session, other = make_session(cs=cs_user), make_session(cs=cs_user)
        chats = self.fill(session, 60)
        foreign = add_chat(other, "elsewhere")
        client.force_login(cs_user)
        html = client.get(
            f"/console/sessions/{session.pk}/", {"at": foreign.pk}, headers=HTMX
        ).content.decode()
        assert re.findall(r'id="chat-([^"]+)"', html) == [c.pk for c in chats[10:]]
        assert "data-focus-chat" not in html

    def test_another_cs_cannot_open_it(self, cs_user, cs2, client):
        session = make_session(cs=cs_user, status=Session.Status.ENDED)
        chat = add_chat(session, "secret")
        client.force_login(cs2)
        response = client.get(f"/console/sessions/{session.pk}/", {"at": chat.pk})
        assert response.status_code == 404

    def test_the_same_queries_for_a_short_or_a_long_history(self, cs_user, client):
        short, long = make_session(cs=cs_user), make_session(cs=cs_user)
        short_chats, long_chats = self.fill(short, 5), self.fill(long, 400)
        client.force_login(cs_user)
        counts = []
        for session, chat in ((short, short_chats[2]), (long, long_chats[200])):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(
                    f"/console/sessions/{session.pk}/", {"at": chat.pk}, headers=HTMX
                )
            assert f'data-focus-chat="{chat.pk}"' in response.content.decode()
            counts.append(len(queries))
        assert counts[0] == counts[1]
