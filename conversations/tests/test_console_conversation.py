"""The conversation page and its actions: reply, end, transfer, retry, read."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework_simplejwt.tokens import AccessToken

from conversations.limits import REPLY_MAX_CHARS
from conversations.models import Chat, Session
from conversations.services import session_transfer
from conversations.tests.console_helpers import add_chat, go_online, make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def cs2(make_user):
    return make_user("cs2@helpdesk.com", name="CS Two")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def session(cs_user):
    return make_session(cs=cs_user, name="Budi", username="budi")


def url(session: Session, action: str = "") -> str:
    return f"/console/sessions/{session.pk}/{action + '/' if action else ''}"


class TestAccess:
    @pytest.mark.parametrize(
        ("method", "action"),
        [
            ("get", ""),
            ("post", "reply"),
            ("post", "end"),
            ("post", "transfer"),
            ("post", "read"),
            ("post", "retry"),
        ],
    )
    def test_it_404s_for_another_cs(self, client, session, cs2, method, action):
        failed = add_chat(
            session, "x", sender=Chat.SenderType.CS, delivery_status=Chat.DeliveryStatus.FAILED
        )
        add_chat(session, "unread")
        go_online(cs2)
        client.force_login(cs2)
        path = url(session, f"chats/{failed.pk}/retry" if action == "retry" else action)

        response = getattr(client, method)(path, {"text": "hi", "agent": cs2.pk})

        assert response.status_code == 404
        session.refresh_from_db()
        failed.refresh_from_db()
        assert session.status == Session.Status.ACTIVE
        assert session.cs_id != cs2.pk
        assert failed.delivery_status == Chat.DeliveryStatus.FAILED
        assert session.chats.filter(is_read=False).count() == 1
        assert session.chats.count() == 2

    def test_it_404s_for_a_missing_session(self, client, cs_user):
        client.force_login(cs_user)

        assert client.get("/console/sessions/nope/").status_code == 404

    def test_a_retry_of_a_chat_from_another_session_404s(self, client, cs_user, session):
        other = make_session(cs=cs_user)
        failed = add_chat(
            other, "x", sender=Chat.SenderType.CS, delivery_status=Chat.DeliveryStatus.FAILED
        )
        client.force_login(cs_user)

        assert client.post(url(session, f"chats/{failed.pk}/retry")).status_code == 404

    def test_an_admin_opens_any_session(self, client, admin_user, session):
        client.force_login(admin_user)

        assert client.get(url(session)).status_code == 200

    def test_forms_need_a_csrf_token(self, cs_user, session):
        from django.test import Client

        browser = Client(enforce_csrf_checks=True)
        browser.force_login(cs_user)

        assert browser.post(url(session, "end")).status_code == 403
        body = browser.get(url(session)).content.decode()
        assert body.count('name="csrfmiddlewaretoken"') >= 4  # presence, logout, end, reply


class TestPage:
    def test_messages_render_by_type_and_html_is_escaped(self, client, cs_user, session):
        add_chat(session, "<script>alert(1)</script> see https://example.com/a?b=1&c=2")
        add_chat(session, "", message_type=Chat.MessageType.IMAGE, file_url="/files/c1/p.jpg")
        add_chat(session, "clip", message_type=Chat.MessageType.VIDEO, file_url="/files/c2/v.mp4")
        add_chat(session, "", message_type=Chat.MessageType.FILE, file_url="/files/c3/a.pdf")
        add_chat(session, "<b>edited</b>", edited_at=session.created_at)
        client.force_login(cs_user)

        body = client.get(url(session)).content.decode()

        assert "<script>alert(1)</script>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert '<a href="https://example.com/a?b=1&amp;c=2" rel="nofollow">' in body
        assert "&lt;b&gt;edited&lt;/b&gt;" in body
        assert '<span class="edited"' in body
        assert '<img src="/files/c1/p.jpg"' in body
        assert '<video controls preload="metadata" src="/files/c2/v.mp4"' in body
        assert '<a class="file" href="/files/c3/a.pdf" download>' in body

    def test_delivery_states_are_shown_with_retry_for_failures(self, client, cs_user, session):
        add_chat(session, "a", sender=Chat.SenderType.CS, delivery_status="PENDING")
        add_chat(session, "b", sender=Chat.SenderType.CS, delivery_status="SENT")
        failed = add_chat(
            session,
            "c",
            sender=Chat.SenderType.CS,
            delivery_status="FAILED",
            delivery_error="Blocked by the user",
        )
        client.force_login(cs_user)

        body = client.get(url(session)).content.decode()

        assert "pending" in body and "sent" in body
        assert "failed: Blocked by the user" in body
        assert f'action="{url(session, f"chats/{failed.pk}/retry")}"' in body

    def test_a_notice_is_shown_apart_from_the_agents_replies(self, client, cs_user, session):
        add_chat(session, "Hello from the agent", sender=Chat.SenderType.CS)
        notice = add_chat(
            session, "You are number 1 in the queue.", sender=Chat.SenderType.CS, is_notice=True
        )
        client.force_login(cs_user)

        body = client.get(url(session)).content.decode()

        assert f'<li class="msg notice" id="chat-{notice.pk}"' in body
        assert '<div class="notice-label">Bot notice</div>' in body
        assert body.count('<li class="msg cs"') == 1  # the agent's own reply only
        cs_user.language = "id"
        cs_user.save(update_fields=["language"])
        assert "Pemberitahuan bot" in client.get(url(session)).content.decode()

    def test_recent_fifty_oldest_first_with_older_pages(self, client, cs_user, session):
        chats = [add_chat(session, f"m{n}", minutes_ago=120 - n) for n in range(120)]
        client.force_login(cs_user)

        latest = client.get(url(session)).context
        assert [c.message for c, _parts in latest["entries"]] == [f"m{n}" for n in range(70, 120)]
        assert latest["has_older"]

        middle = client.get(url(session), {"before": chats[70].pk}).context
        assert [c.message for c, _parts in middle["entries"]] == [f"m{n}" for n in range(20, 70)]
        oldest = client.get(url(session), {"before": chats[20].pk}).context
        assert [c.message for c, _parts in oldest["entries"]] == [f"m{n}" for n in range(20)]
        assert not oldest["has_older"]

    def test_opening_marks_read_and_the_badge_drops_to_zero(self, client, cs_user, session):
        add_chat(session, "one")
        add_chat(session, "two")
        client.force_login(cs_user)
        assert client.get("/console/").context["page"].object_list[0].unread_count == 2

        client.get(url(session))

        assert client.get("/console/").context["page"].object_list[0].unread_count == 0
        assert not session.chats.filter(is_read=False).exists()

    def test_the_read_action_marks_read(self, client, cs_user, session):
        add_chat(session, "one")
        client.force_login(cs_user)

        assert client.post(url(session, "read")).url == url(session)
        assert not session.chats.filter(is_read=False).exists()

    def test_earlier_sessions_of_the_client_are_linked(self, client, cs_user, cs2, session):
        mine = make_session(cs=cs_user, client=session.client, status=Session.Status.ENDED)
        theirs = make_session(cs=cs2, client=session.client, status=Session.Status.ENDED)
        client.force_login(cs_user)

        body = client.get(url(session)).content.decode()

        assert f'href="{url(mine)}"' in body
        assert url(theirs) not in body

    @pytest.mark.parametrize("count", [5, 300])
    def test_constant_queries(self, client, cs_user, session, django_assert_max_num_queries, count):
        for n in range(count):
            sender = Chat.SenderType.CS if n % 3 == 0 else Chat.SenderType.CLIENT
            add_chat(session, f"m{n} https://example.com", sender=sender, minutes_ago=count - n)
        make_session(cs=cs_user, client=session.client, status=Session.Status.ENDED)
        client.force_login(cs_user)

        # Opening it from the list (htmx swaps the work pane): the conversation and the
        # client pane. Measured: 10, marking unread messages read (one for the page's notes).
        with django_assert_max_num_queries(10):
            response = client.get(url(session), headers={"HX-Request": "true"})
        shown = sum(len(parts) for _chat, parts in response.context["entries"])
        assert shown == min(count, 50)
        assert b'id="session-list"' not in response.content  # the fragment only

        # The whole workspace at that address (a reload): the list pane too (and the
        # unread mentions' count). Measured: 15.
        with django_assert_max_num_queries(16):
            response = client.get(url(session))
        assert b'id="session-list"' in response.content and b'id="messages"' in response.content


class TestReply:
    def test_reply_creates_a_pending_cs_chat(self, client, cs_user, session):
        client.force_login(cs_user)

        response = client.post(url(session, "reply"), {"text": "Hello <there>"})

        assert response.url == url(session)
        chat = session.chats.get()
        assert (chat.sender_type, chat.delivery_status, chat.message) == (
            Chat.SenderType.CS,
            Chat.DeliveryStatus.PENDING,
            "Hello <there>",
        )

    def test_reply_with_a_file(self, client, cs_user, session):
        client.force_login(cs_user)
        upload = SimpleUploadedFile("photo.png", b"\x89PNG fake", content_type="image/png")

        client.post(url(session, "reply"), {"text": "", "file": upload})

        chat = session.chats.get()
        assert chat.message_type == Chat.MessageType.IMAGE
        assert chat.file_url.startswith(f"/files/{chat.pk}/")

    def test_a_refused_reply_shows_why_and_keeps_the_text(self, client, cs_user, session, settings):
        settings.UPLOAD_ALLOWED_TYPES = ["image/*"]
        client.force_login(cs_user)
        upload = SimpleUploadedFile("run.exe", b"MZ", content_type="application/x-msdownload")

        response = client.post(url(session, "reply"), {"text": "keep me", "file": upload})

        assert response.status_code == 400
        body = response.content.decode()
        assert "cannot be sent" in body
        assert "keep me</textarea>" in body
        assert not session.chats.exists()

    def test_an_empty_reply_is_refused(self, client, cs_user, session):
        client.force_login(cs_user)

        response = client.post(url(session, "reply"), {"text": "  "})

        assert response.status_code == 400
        assert "Write a message or attach a file." in response.content.decode()

    def test_a_reply_longer_than_the_apis_limit_is_refused_with_a_clear_error(
        self, client, cs_user, session
    ):
        client.force_login(cs_user)
        too_long = "x" * (REPLY_MAX_CHARS + 1)

        response = client.post(url(session, "reply"), {"text": too_long})

        assert response.status_code == 400
        body = response.content.decode()
        assert f"at most {REPLY_MAX_CHARS} characters (it has {REPLY_MAX_CHARS + 1})" in body
        assert f"{too_long}</textarea>" in body  # nothing lost
        assert f'maxlength="{REPLY_MAX_CHARS}"' in body
        assert not session.chats.exists()
        # The API draws the line at the same length.
        api = client.post(
            f"/api/sessions/{session.pk}/chats/",
            {"message": too_long},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(cs_user)}",
        )
        assert api.status_code == 400
        assert client.post(url(session, "reply"), {"text": too_long[1:]}).status_code == 302

    def test_a_reply_to_an_ended_session_is_refused(self, client, cs_user, session):
        Session.objects.filter(pk=session.pk).update(status=Session.Status.ENDED)
        client.force_login(cs_user)

        response = client.post(url(session, "reply"), {"text": "late"})

        assert response.status_code == 400
        assert not session.chats.exists()


class TestEnd:
    def test_end_session(self, client, cs_user, session):
        client.force_login(cs_user)

        response = client.post(url(session, "end"), follow=True)

        session.refresh_from_db()
        assert session.status == Session.Status.ENDED
        assert "The session has ended." in response.content.decode()
        assert "End session" not in response.content.decode()

    def test_end_needs_post(self, client, cs_user, session):
        client.force_login(cs_user)

        assert client.get(url(session, "end")).status_code == 405


class TestTransfer:
    def test_a_cs_transfers_to_an_online_cs(self, client, cs_user, cs2, session):
        go_online(cs2)
        client.force_login(cs_user)
        assert [a.pk for a in client.get(url(session)).context["transfer_agents"]] == [cs2.pk]

        response = client.post(url(session, "transfer"), {"agent": cs2.pk})

        assert response.url == "/console/"
        session.refresh_from_db()
        assert session.cs == cs2
        assert client.get(url(session)).status_code == 404

    def test_the_freed_place_serves_the_queue(self, cs_user, cs2, session, settings):
        settings.MAX_ACTIVE_SESSIONS_PER_CS = 1
        go_online(cs_user, cs2)
        waiting = make_session(cs=None)

        session_transfer(session=session, to_agent=cs2)

        waiting.refresh_from_db()
        assert waiting.cs == cs_user

    def test_it_refuses_offline_non_cs_same_agent_and_ended(
        self, admin_user, cs_user, cs2, session
    ):
        with pytest.raises(ValidationError, match="offline"):
            session_transfer(session=session, to_agent=cs2)
        go_online(cs_user, admin_user)
        with pytest.raises(ValidationError, match="CS agent"):
            session_transfer(session=session, to_agent=admin_user)
        with pytest.raises(ValidationError, match="already theirs"):
            session_transfer(session=session, to_agent=cs_user)
        go_online(cs2)
        Session.objects.filter(pk=session.pk).update(status=Session.Status.ENDED)
        with pytest.raises(ValidationError, match="ended"):
            session_transfer(session=session, to_agent=cs2)

    def test_a_refused_transfer_is_shown(self, client, cs_user, cs2, session):
        client.force_login(cs_user)

        response = client.post(url(session, "transfer"), {"agent": cs2.pk}, follow=True)

        assert "CS Two is offline." in response.content.decode()
        session.refresh_from_db()
        assert session.cs == cs_user


class TestRetry:
    def test_retry_requeues_a_failed_reply(self, client, cs_user, session):
        failed = add_chat(
            session,
            "x",
            sender=Chat.SenderType.CS,
            delivery_status=Chat.DeliveryStatus.FAILED,
            delivery_error="boom",
        )
        client.force_login(cs_user)

        assert client.post(url(session, f"chats/{failed.pk}/retry")).url == url(session)

        failed.refresh_from_db()
        assert (failed.delivery_status, failed.delivery_error) == ("PENDING", "")

    def test_retry_of_a_sent_reply_is_refused(self, client, cs_user, session):
        sent = add_chat(session, "x", sender=Chat.SenderType.CS)
        client.force_login(cs_user)

        response = client.post(url(session, f"chats/{sent.pk}/retry"), follow=True)

        assert "Only a failed message can be retried." in response.content.decode()
        sent.refresh_from_db()
        assert sent.delivery_status == Chat.DeliveryStatus.SENT
