"""The workspace's addresses and htmx fragments, as the browser's htmx asks for them."""

import pytest

from conversations.models import Chat, Session
from conversations.tests.console_helpers import add_chat, go_online, make_session

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
HISTORY_RESTORE = {"HX-Request": "true", "HX-History-Restore-Request": "true"}


@pytest.fixture
def cs2(make_user):
    return make_user("cs2@helpdesk.com", name="CS Two")


@pytest.fixture
def session(cs_user):
    session = make_session(cs=cs_user, name="Dana", username="dana")
    add_chat(session, "Where is my parcel?", telegram_message_id=11)
    return session


def url(session: Session, action: str = "") -> str:
    return f"/console/sessions/{session.pk}/{action + '/' if action else ''}"


class TestAddresses:
    def test_the_console_is_the_workspace_with_nothing_open(self, client, cs_user, session):
        client.force_login(cs_user)

        body = client.get("/console/").content.decode()

        assert 'id="session-list"' in body and f'id="session-{session.pk}"' in body
        assert 'id="conversation"' not in body
        assert "Choose a conversation from the list." in body
        assert 'data-pane="list"' in body

    def test_a_session_address_opens_it_beside_the_list_and_the_client(
        self, client, cs_user, session
    ):
        earlier = make_session(cs=cs_user, client=session.client, status=Session.Status.ENDED)
        client.force_login(cs_user)

        body = client.get(url(session)).content.decode()

        assert 'id="session-list"' in body and 'data-pane="conversation"' in body
        assert (
            f'<section class="conversation" id="conversation" data-session-id="{session.pk}"'
            in body
        )
        assert "Where is my parcel?" in body
        # The client pane: who, since when, how many sessions, the earlier ones a click away.
        assert f"<dd>{session.client.telegram_id}</dd>" in body and "<dd>@dana</dd>" in body
        assert "<dt>Sessions</dt><dd>2</dd>" in body
        assert f'hx-get="{url(earlier)}"' in body
        # Its row is marked as the open one.
        assert 'aria-current="page"' in body

    def test_htmx_gets_only_the_work_pane(self, client, cs_user, session):
        client.force_login(cs_user)

        body = client.get(url(session), headers=HTMX).content.decode()

        assert 'id="conversation"' in body and "Where is my parcel?" in body
        assert 'id="session-list"' not in body and "<html" not in body

    def test_back_and_forward_get_the_whole_page(self, client, cs_user, session):
        """htmx restores history from the page's [hx-history-elt], which it finds in the
        whole page; a fragment would restore nothing."""
        client.force_login(cs_user)

        body = client.get(url(session), headers=HISTORY_RESTORE).content.decode()

        assert "<html" in body and 'id="work" class="work" hx-history-elt' in body

    def test_opening_marks_the_clients_messages_read(self, client, cs_user, session):
        client.force_login(cs_user)

        client.get(url(session), headers=HTMX)

        assert not Chat.objects.filter(session=session, is_read=False).exists()


class TestAuthorization:
    @pytest.mark.parametrize("headers", [{}, HTMX])
    def test_anonymous_is_sent_to_log_in(self, client, session, headers):
        response = client.get(url(session), headers=headers)

        assert response.status_code == 302 and response.url.startswith("/login/")

    @pytest.mark.parametrize("headers", [{}, HTMX])
    def test_another_cs_gets_a_404_and_learns_nothing(self, client, cs2, session, headers):
        client.force_login(cs2)

        response = client.get(url(session), headers=headers)

        assert response.status_code == 404
        assert b"Where is my parcel?" not in response.content
        assert not Chat.objects.filter(session=session, is_read=True).exists()

    def test_an_admin_opens_any_session(self, client, admin_user, session):
        client.force_login(admin_user)

        response = client.get(url(session), headers=HTMX)

        assert response.status_code == 200 and b"Where is my parcel?" in response.content

    def test_another_cs_cannot_reply_in_it(self, client, cs2, session):
        client.force_login(cs2)

        response = client.post(url(session, "reply"), {"text": "hi"}, headers=HTMX)

        assert response.status_code == 404
        assert not Chat.objects.filter(session=session, sender_type=Chat.SenderType.CS).exists()


class TestActionsThroughHtmx:
    def test_a_reply_answers_the_fresh_work_pane_with_the_message_pending(
        self, client, cs_user, session
    ):
        client.force_login(cs_user)

        response = client.post(url(session, "reply"), {"text": "On its way"}, headers=HTMX)

        body = response.content.decode()
        assert response.status_code == 200 and 'id="session-list"' not in body
        assert "On its way" in body and 'class="delivery pending"' in body
        assert (
            '<textarea name="text" id="reply-text"' in body and "On its way</textarea>" not in body
        )

    def test_a_browsers_crlf_line_breaks_reach_telegram_as_lf(self, client, cs_user, session):
        """A textarea posts CRLF; a stray CR would even make an empty Telegram part."""
        client.force_login(cs_user)

        client.post(url(session, "reply"), {"text": "Line one\r\nLine two\r\n"}, headers=HTMX)

        reply = Chat.objects.get(session=session, sender_type=Chat.SenderType.CS)
        assert reply.message == "Line one\nLine two"

    def test_a_reply_to_a_session_ended_meanwhile_says_why(self, client, cs_user, session):
        client.force_login(cs_user)
        Session.objects.filter(pk=session.pk).update(status=Session.Status.ENDED)
        # Ended between opening and sending: the box is gone, the reason is shown.
        response = client.post(url(session, "reply"), {"text": "Too late"}, headers=HTMX)

        assert response.status_code == 400
        assert "This session has ended." in response.content.decode()

    def test_a_reply_to_a_message_of_another_session_is_refused(self, client, cs_user, session):
        other = make_session(cs=cs_user, name="Eko")
        elsewhere = add_chat(other, "Not here", telegram_message_id=12)
        client.force_login(cs_user)

        response = client.post(
            url(session, "reply"), {"text": "Answer", "reply_to": elsewhere.pk}, headers=HTMX
        )

        assert response.status_code == 400
        assert "Answer</textarea>" in response.content.decode()
        assert not Chat.objects.filter(session=session, sender_type=Chat.SenderType.CS).exists()

    def test_a_reply_to_a_message_links_them(self, client, cs_user, session):
        question = session.chats.get()
        client.force_login(cs_user)

        client.post(url(session, "reply"), {"text": "Today", "reply_to": question.pk}, headers=HTMX)

        answer = Chat.objects.get(session=session, sender_type=Chat.SenderType.CS)
        assert answer.reply_to_message_id == 11 and answer.reply_quote == "Where is my parcel?"

    def test_ending_answers_the_work_pane_of_the_ended_session(self, client, cs_user, session):
        client.force_login(cs_user)

        response = client.post(url(session, "end"), headers=HTMX)

        body = response.content.decode()
        assert response.status_code == 200 and "This session has ended." in body
        assert 'id="reply-form"' not in body

    def test_a_cs_who_transfers_a_session_is_left_with_an_empty_work_pane(
        self, client, cs_user, cs2, session
    ):
        go_online(cs_user, cs2)
        client.force_login(cs_user)

        response = client.post(url(session, "transfer"), {"agent": cs2.pk}, headers=HTMX)

        assert response.status_code == 200
        assert response["HX-Push-Url"] == "/console/"
        assert "Choose a conversation from the list." in response.content.decode()
        session.refresh_from_db()
        assert session.cs_id == cs2.pk


class TestMessages:
    def test_an_album_is_one_message_with_each_part_in_its_grid(self, client, cs_user, session):
        for n in range(3):
            add_chat(
                session,
                "Look" if n == 0 else "",
                media_group_id="album-1",
                message_type="IMAGE",
                file_url=f"/files/p{n}/photo.jpg",
                telegram_message_id=20 + n,
            )
        add_chat(session, "And this", telegram_message_id=30)
        client.force_login(cs_user)

        body = client.get(url(session), headers=HTMX).content.decode()

        assert body.count('data-media-group="album-1"') == 1
        assert body.count('class="album-part"') == 3
        assert body.index("Look") < body.index("And this")

    def test_a_clients_reply_quotes_the_message_it_answers_with_a_link(
        self, client, cs_user, session
    ):
        answered = add_chat(
            session, "We ship today", sender=Chat.SenderType.CS, telegram_message_id=12
        )
        add_chat(
            session,
            "Great",
            telegram_message_id=13,
            reply_to_message_id=12,
            reply_quote="We ship today",
        )
        add_chat(
            session,
            "And the old one?",
            telegram_message_id=14,
            reply_to_message_id=3,
            reply_quote="An answer from last year",
        )
        client.force_login(cs_user)

        body = client.get(url(session), headers=HTMX).content.decode()

        assert (
            f'<a href="#chat-{answered.pk}" data-target-chat="{answered.pk}">We ship today</a>'
            in body
        )
        # Not in our history: the quote as Telegram showed it, without a link.
        assert '<blockquote class="reply-quote">An answer from last year</blockquote>' in body

    def test_html_in_a_quote_is_shown_as_text(self, client, cs_user, session):
        add_chat(
            session,
            "x",
            telegram_message_id=15,
            reply_to_message_id=1,
            reply_quote="<script>alert(1)</script>",
        )
        client.force_login(cs_user)

        body = client.get(url(session), headers=HTMX).content.decode()

        assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body


class TestFloodingMark:
    @pytest.mark.parametrize(("minutes", "shown"), [(5, True), (-5, False)])
    def test_the_mark_shows_while_the_flood_lasts(self, client, cs_user, session, minutes, shown):
        from datetime import timedelta

        from django.utils import timezone

        session.client.flooding_until = timezone.now() + timedelta(minutes=minutes)
        session.client.save(update_fields=["flooding_until"])
        client.force_login(cs_user)

        body = client.get(url(session)).content.decode()

        assert ('<span class="flooding">flooding</span>' in body) is shown  # the list row
        assert ('data-flooding="1"' in body) is shown  # the header, which pushes refresh
