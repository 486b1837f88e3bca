"""Answering a specific message: the API's reply_to, who may point it where, and the
reply links the console reads (a page of chats and the live pushes)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from conversations import events
from conversations.forms import ReplyForm
from conversations.models import Chat, Session
from conversations.selectors import chat_page_for_session
from conversations.tests.console_helpers import add_chat, make_session

pytestmark = pytest.mark.django_db

REFUSED = {
    "detail": "You can only answer a message of this conversation that reached Telegram.",
    "code": "reply_target",
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def cs2(make_user):
    return make_user("cs2@helpdesk.com", name="CS Two")


@pytest.fixture
def session(cs_user):
    return make_session(cs=cs_user, name="John Doe")


@pytest.fixture
def question(session):
    return add_chat(session, "Where is my parcel?", telegram_message_id=11, minutes_ago=5)


@pytest.fixture
def cs2_question(cs2):
    """A message in another agent's session."""
    return add_chat(make_session(cs=cs2), "Secret of CS Two", telegram_message_id=11)


def send(user: User | None, session: Session, body: dict, *, multipart: bool = False):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {AccessToken.for_user(user)}"} if user else {}
    url = f"/api/sessions/{session.pk}/chats/"
    if multipart:
        return Client().post(url, body, **headers)
    return Client().post(url, body, content_type="application/json", **headers)


def agents_replies() -> list[str]:
    return list(Chat.objects.filter(sender_type="CS").values_list("message", flat=True))


class TestReplyToOverTheApi:
    def test_the_assigned_cs_answers_a_message_of_the_session(self, cs_user, session, question):
        response = send(cs_user, session, {"message": "On its way", "reply_to": question.pk})

        assert response.status_code == 201
        body = response.json()
        assert (body["reply_to_message_id"], body["reply_quote"]) == (11, "Where is my parcel?")
        assert Chat.objects.get(pk=body["id"]).reply_to_message_id == 11

    def test_a_file_answers_a_message_too(self, cs_user, session, question):
        upload = SimpleUploadedFile("label.png", b"\x89PNG fake", content_type="image/png")

        response = send(cs_user, session, {"file": upload, "reply_to": question.pk}, multipart=True)

        assert response.status_code == 201
        assert response.json()["reply_to_message_id"] == 11

    def test_an_empty_reply_to_is_a_plain_reply(self, cs_user, session, question):
        response = send(cs_user, session, {"message": "Hello", "reply_to": ""})

        assert response.status_code == 201
        assert response.json()["reply_to_message_id"] is None

    def test_the_cs_cannot_point_into_another_agents_session(self, cs_user, session, cs2_question):
        response = send(cs_user, session, {"message": "peek", "reply_to": cs2_question.pk})

        assert response.status_code == 400
        assert response.json() == REFUSED  # as for an id that does not exist: nothing leaks
        assert agents_replies() == []

    def test_a_forged_or_too_long_id_is_refused(self, cs_user, session, question):
        forged = send(cs_user, session, {"message": "hi", "reply_to": "x" * 25})
        too_long = send(cs_user, session, {"message": "hi", "reply_to": "x" * 26})

        assert (forged.status_code, forged.json()) == (400, REFUSED)
        assert too_long.status_code == 400
        assert "reply_to" in too_long.json()["errors"]
        assert agents_replies() == []

    def test_another_cs_gets_404_for_the_session(self, cs2, session, question):
        response = send(cs2, session, {"message": "mine now", "reply_to": question.pk})

        assert response.status_code == 404
        assert agents_replies() == []

    def test_another_cs_cannot_answer_a_message_of_this_session_from_theirs(
        self, cs2, session, question
    ):
        own = make_session(cs=cs2)

        response = send(cs2, own, {"message": "peek", "reply_to": question.pk})

        assert (response.status_code, response.json()) == (400, REFUSED)
        assert agents_replies() == []

    def test_an_admin_answers_in_any_session_but_only_its_own_messages(
        self, admin_user, session, question, cs2_question
    ):
        across = send(admin_user, session, {"message": "no", "reply_to": cs2_question.pk})
        assert (across.status_code, across.json()) == (400, REFUSED)

        response = send(admin_user, session, {"message": "Admin here", "reply_to": question.pk})
        assert response.status_code == 201
        assert response.json()["reply_to_message_id"] == 11
        assert agents_replies() == ["Admin here"]

    def test_anonymous_gets_401(self, session, question):
        response = send(None, session, {"message": "hi", "reply_to": question.pk})

        assert response.status_code == 401
        assert agents_replies() == []

    def test_the_schema_documents_reply_to(self):
        schema = Client().get("/api/schema/", {"format": "json"}).json()
        post = schema["paths"]["/api/sessions/{session_id}/chats/"]["post"]
        components = schema["components"]["schemas"]

        for body in post["requestBody"]["content"].values():
            name = body["schema"]["$ref"].rsplit("/", 1)[-1]
            assert components[name]["properties"]["reply_to"]["maxLength"] == 25
        assert "400" in post["responses"]
        assert {"reply_to_message_id", "reply_quote", "media_group_id"} <= set(
            components["Chat"]["properties"]
        )


class TestReplyForm:
    def test_reply_to_is_optional_and_at_most_a_chat_id_long(self):
        assert ReplyForm({"text": "hi"}).is_valid()
        assert ReplyForm({"text": "hi", "reply_to": "c" * 25}).is_valid()
        assert not ReplyForm({"text": "hi", "reply_to": "c" * 26}).is_valid()


class TestReplyTargetsOnAPage:
    def test_a_page_without_replies_costs_no_extra_query(
        self, session, question, django_assert_num_queries
    ):
        add_chat(session, "And my invoice?", telegram_message_id=12)

        with django_assert_num_queries(1):
            chats, _ = chat_page_for_session(session=session)

        assert [c.reply_target_id for c in chats] == [None, None]

    def test_replies_are_linked_in_one_query_whatever_their_number(
        self, cs_user, session, question, django_assert_num_queries
    ):
        answer = add_chat(session, "Which one?", sender="CS", telegram_message_id=12)
        replies = [
            add_chat(session, f"reply {n}", telegram_message_id=13 + n, reply_to_message_id=to)
            for n, to in enumerate([11, 12, 11, 99])
        ]

        with django_assert_num_queries(2):
            chats, _ = chat_page_for_session(session=session)

        targets = {c.pk: c.reply_target_id for c in chats}
        assert [targets[r.pk] for r in replies] == [question.pk, answer.pk, question.pk, None]
        assert targets[question.pk] is None

    def test_a_message_of_the_clients_earlier_session_is_not_a_target(self, cs_user, question):
        earlier = make_session(cs=cs_user, status=Session.Status.ENDED)
        add_chat(earlier, "old", telegram_message_id=5)
        later = make_session(cs=cs_user, client=earlier.client)
        reply = add_chat(later, "about that", telegram_message_id=30, reply_to_message_id=5)

        chats, _ = chat_page_for_session(session=later)

        assert [(c.pk, c.reply_target_id) for c in chats] == [(reply.pk, None)]


class TestReplyTargetsLive:
    def test_pushed_chats_carry_their_targets_in_one_query(
        self, cs_user, session, question, django_assert_num_queries
    ):
        other = make_session(cs=cs_user)
        other_question = add_chat(other, "other", telegram_message_id=11)
        replies = [
            add_chat(session, "re", telegram_message_id=20, reply_to_message_id=11),
            add_chat(other, "re other", telegram_message_id=21, reply_to_message_id=11),
        ]
        plain = add_chat(session, "plain", telegram_message_id=22)
        changes = events.Changes(chat_ids={c.pk for c in [*replies, plain]})

        with django_assert_num_queries(2):  # the chats, then their targets
            frames = events._frames(changes)

        pushed = {
            event["chat"]["id"]: event["chat"]["reply_target_id"]
            for event in frames[events.agent_group(cs_user.pk)]
        }
        assert pushed == {
            replies[0].pk: question.pk,
            replies[1].pk: other_question.pk,
            plain.pk: None,
        }

    def test_pushed_chats_without_replies_cost_no_extra_query(
        self, session, question, django_assert_num_queries
    ):
        with django_assert_num_queries(1):
            frames = events._frames(events.Changes(chat_ids={question.pk}))

        (event,) = frames[events.GROUP_ADMINS]
        assert event["chat"]["reply_target_id"] is None

    def test_the_wire_keeps_every_public_field_and_the_target(self, session, question):
        reply = add_chat(
            session,
            "about that",
            telegram_message_id=12,
            reply_to_message_id=11,
            reply_quote="Where is my parcel?",
            media_group_id="777",
        )
        reply.reply_target_id = question.pk

        wire = events.chat_to_wire(reply)
        back = events.chat_from_wire(wire)

        assert events.chat_to_wire(back) == wire
        assert back.reply_target_id == question.pk
        assert (back.reply_to_message_id, back.reply_quote, back.media_group_id) == (
            11,
            "Where is my parcel?",
            "777",
        )
