"""Private notes and mentions in the console: parsing `@name`, the history, the
read-only access a mention gives, the Reply/Note switch, the mentions panel."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from conversations.limits import REPLY_MAX_CHARS
from conversations.models import Chat, Mention, Note, Session
from conversations.note_selectors import (
    mention_list_for_agent,
    mention_unread_count,
    session_get_for_reader,
)
from conversations.services.notes import mention_handles, mentioned_agents, note_add
from conversations.tests.console_helpers import add_chat, make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def cs2(make_user):
    return make_user("cs2@helpdesk.com", name="Budi Santoso")


@pytest.fixture
def cs3(make_user):
    return make_user("rina.k@helpdesk.com", name="Rina")


@pytest.fixture
def session(cs_user):
    return make_session(cs=cs_user, name="Dewi Lestari")


def url(session: Session, action: str = "") -> str:
    return f"/console/sessions/{session.pk}/" + (f"{action}/" if action else "")


class TestMentionParsing:
    def test_handles_are_words_after_an_at_sign_not_emails(self):
        text = "Ask @BudiSantoso, and @rina.k. Mail cs2@helpdesk.com (@cs2)!"
        assert mention_handles(text) == {"budisantoso", "rina.k", "cs2"}

    def test_name_without_spaces_or_email_local_part_any_case(self, cs_user, cs2, cs3):
        assert mentioned_agents("@budisantoso please") == [cs2]
        assert mentioned_agents("@CS2 and @RINA.K") == [cs2, cs3]
        assert mentioned_agents("@nobody, @ budi, budi@x.com") == []

    def test_the_author_and_inactive_agents_are_not_mentioned(self, cs_user, cs2):
        cs2.is_active = False
        cs2.save()
        assert mentioned_agents("@cs1 @cs2", author=cs_user) == []


class TestNoteAdd:
    def test_stores_a_note_and_one_mention_per_agent(self, session, cs_user, cs2, cs3):
        note = note_add(session=session, author=cs_user, text="  @cs2 @BudiSantoso see @rina.k ")

        assert note.text == "@cs2 @BudiSantoso see @rina.k"
        assert set(note.mentions.values_list("agent_id", flat=True)) == {cs2.pk, cs3.pk}
        assert not Chat.objects.filter(session=session).exists()  # never a chat

    @pytest.mark.parametrize("text", ["", "   \n ", "x" * (REPLY_MAX_CHARS + 1)])
    def test_empty_or_too_long_is_refused(self, session, cs_user, text):
        with pytest.raises(ValidationError):
            note_add(session=session, author=cs_user, text=text)
        assert not Note.objects.exists()


class TestReaderAccess:
    def test_only_a_mention_opens_another_agents_session_read_only(
        self, session, cs_user, cs2, cs3, admin_user
    ):
        note_add(session=session, author=cs_user, text="@cs2 can you check?")

        assert session_get_for_reader(user=cs_user, session_id=session.pk)[1] is False
        assert session_get_for_reader(user=admin_user, session_id=session.pk)[1] is False
        assert session_get_for_reader(user=cs2, session_id=session.pk)[1] is True
        with pytest.raises(Session.DoesNotExist):
            session_get_for_reader(user=cs3, session_id=session.pk)

    def test_the_mentioned_cs_sees_the_conversation_without_reply_end_or_transfer(
        self, client, session, cs_user, cs2
    ):
        add_chat(session, "Where is my parcel?")
        note_add(session=session, author=cs_user, text="@cs2 is this the #10234 case?")
        client.force_login(cs2)

        body = client.get(url(session)).content.decode()

        assert "Where is my parcel?" in body
        assert 'class="msg note"' in body and '<mark class="mention">@cs2</mark>' in body
        assert 'id="read-only"' in body
        for absent in ('id="reply-form"', url(session, "end"), url(session, "transfer")):
            assert absent not in body

    @pytest.mark.parametrize(
        ("action", "data"),
        [
            ("reply", {"text": "hi from cs2"}),
            ("reply", {"text": "note from cs2", "mode": "note"}),
            ("end", {}),
            ("read", {}),
        ],
    )
    def test_the_mentioned_cs_can_not_act(self, client, session, cs_user, cs2, action, data):
        note_add(session=session, author=cs_user, text="@cs2 look")
        client.force_login(cs2)

        assert client.post(url(session, action), data).status_code == 404

        session.refresh_from_db()
        assert session.status == Session.Status.ACTIVE
        assert not Chat.objects.filter(session=session, sender_type="CS").exists()
        assert Note.objects.filter(session=session).count() == 1

    def test_another_cs_without_a_mention_gets_404(self, client, session, cs3):
        client.force_login(cs3)
        assert client.get(url(session)).status_code == 404

    def test_opening_marks_the_mention_read_not_the_clients_messages(
        self, client, session, cs_user, cs2
    ):
        chat = add_chat(session, "unread for cs1")
        note_add(session=session, author=cs_user, text="@cs2 look")
        assert mention_unread_count(agent=cs2) == 1
        client.force_login(cs2)

        client.get(url(session), headers={"HX-Request": "true"})

        assert mention_unread_count(agent=cs2) == 0
        chat.refresh_from_db()
        assert chat.is_read is False  # still unread for the assigned agent


class TestReplyBox:
    def test_note_mode_stores_a_note_not_a_chat(self, client, session, cs_user, cs2):
        client.force_login(cs_user)

        response = client.post(
            url(session, "reply"),
            {"text": "Private: @cs2 refund approved", "mode": "note"},
            headers={"HX-Request": "true"},
        )

        assert response.status_code == 200
        assert not Chat.objects.filter(session=session).exists()
        note = Note.objects.get(session=session)
        assert note.author == cs_user and note.mentions.get().agent == cs2
        body = response.content.decode()
        assert f'id="note-{note.pk}"' in body and "Private note" in body

    def test_an_empty_note_is_a_400_with_the_mode_kept(self, client, session, cs_user):
        client.force_login(cs_user)

        response = client.post(
            url(session, "reply"), {"text": " ", "mode": "note"}, headers={"HX-Request": "true"}
        )

        assert response.status_code == 400
        assert 'value="note" id="mode-note" checked' in response.content.decode()
        assert not Note.objects.exists()

    def test_reply_mode_still_sends(self, client, session, cs_user):
        client.force_login(cs_user)
        client.post(url(session, "reply"), {"text": "Hello", "mode": "reply"})
        assert Chat.objects.get(session=session).message == "Hello"
        assert not Note.objects.exists()

    def test_the_box_offers_reply_and_note(self, client, session, cs_user):
        client.force_login(cs_user)
        body = client.get(url(session)).content.decode()
        assert 'name="mode" value="reply" id="mode-reply" checked' in body
        assert 'name="mode" value="note" id="mode-note"' in body


class TestHistory:
    def test_notes_sit_between_messages_by_time(self, client, session, cs_user):
        add_chat(session, "first", minutes_ago=10)
        add_chat(session, "second", minutes_ago=5)
        Note.objects.create(
            session=session,
            author=cs_user,
            text="between",
            created_at=timezone.now() - timedelta(minutes=7),
        )
        Note.objects.create(session=session, author=cs_user, text="<b>latest</b>")
        client.force_login(cs_user)

        body = client.get(url(session)).content.decode()
        history = body[
            body.index('id="messages"') : body.index("</ol>", body.index('id="messages"'))
        ]

        positions = [history.index(t) for t in ("first", "between", "second", "&lt;b&gt;latest")]
        assert positions == sorted(positions)

    def test_an_older_page_shows_only_its_time_ranges_notes(self, client, session, cs_user):
        chats = [add_chat(session, f"m{n}", minutes_ago=200 - n) for n in range(60)]
        Note.objects.create(
            session=session,
            author=cs_user,
            text="old note",
            created_at=chats[2].created_at + timedelta(seconds=1),
        )
        Note.objects.create(session=session, author=cs_user, text="new note")
        client.force_login(cs_user)

        latest = client.get(url(session)).content.decode()
        older = client.get(url(session) + f"?before={chats[10].pk}").content.decode()

        assert "new note" in latest and "old note" not in latest
        assert "old note" in older and "new note" not in older


class TestMentionsPanel:
    def test_lists_the_agents_mentions_newest_first(self, client, session, cs_user, cs2):
        other = make_session(cs=cs_user, name="Eko Prasetyo")
        note_add(session=session, author=cs_user, text="@cs2 first")
        note_add(session=other, author=cs_user, text="@cs2 second <i>")
        client.force_login(cs2)

        response = client.get("/console/mentions/")

        body = response.content.decode()
        assert response.status_code == 200
        assert body.index("Eko Prasetyo") < body.index("Dewi Lestari")
        assert "second &lt;i&gt;" in body and "CS One" in body
        assert f'hx-get="{url(session)}"' in body and 'hx-push-url="true"' in body
        assert [m.note.text for m in mention_list_for_agent(agent=cs2)] == [
            "@cs2 second <i>",
            "@cs2 first",
        ]

    def test_the_top_bar_shows_the_unread_count(self, client, session, cs_user, cs2):
        note_add(session=session, author=cs_user, text="@cs2 one")
        note_add(session=session, author=cs_user, text="@cs2 two")
        client.force_login(cs2)

        body = client.get("/console/").content.decode()

        assert 'id="mentions-count" data-count="2"' in body

    def test_anonymous_is_sent_to_sign_in(self, client):
        response = client.get("/console/mentions/")
        assert response.status_code == 302 and "/login/" in response["Location"]

    def test_nobody_sees_anothers_mentions(self, client, session, cs_user, cs2, admin_user):
        note_add(session=session, author=cs_user, text="@cs2 secret handover")
        for user in (cs_user, admin_user):
            client.force_login(user)
            assert "secret handover" not in client.get("/console/mentions/").content.decode()
        assert Mention.objects.count() == 1
