"""What the desk tells clients on its own: every notice a marked, PENDING chat.

A notice is stored in the transaction that caused it and delivered by the worker
like an agent's reply (see telegram_gateway/tests/test_notices.py for the wire).
"""

import dataclasses

import pytest

from accounts.models import User
from conversations.models import Chat, Client, Session
from conversations.services import (
    Sender,
    agent_presence_set,
    chat_record_incoming,
    chat_record_incoming_many,
    chat_send,
    client_notify,
    session_assign,
    session_end_for_client,
    session_transfer,
)
from conversations.tests.services.test_allocation import message_from

pytestmark = pytest.mark.django_db

CONNECTED = "Thank you! An agent is looking at your message now."
QUEUED = (
    "Thank you! All our agents are busy right now. You are number {} in the queue; "
    "we will answer as soon as possible."
)
ENDED = "Your conversation has ended. Write again any time to start a new one."
NOTHING_TO_END = "You have no open conversation. Just write to start one."
UNSUPPORTED = (
    "Sorry, we can't read this kind of message. Please send text, a photo, a file, "
    "a video or a location."
)


def notices_to(session: Session) -> list[str]:
    """What the worker will send the client, in its order."""
    return list(
        Chat.objects.filter(
            session=session,
            is_notice=True,
            sender_type=Chat.SenderType.CS,
            delivery_status=Chat.DeliveryStatus.PENDING,
        )
        .order_by("created_at", "id")
        .values_list("message", flat=True)
    )


def waiting_session(telegram_id: str, language_code: str = "") -> Session:
    incoming = dataclasses.replace(message_from(telegram_id), language_code=language_code)
    session = chat_record_incoming(incoming=incoming).session
    assert session.cs_id is None
    return session


def start(telegram_id: str, message_id: int = 1, **extra):
    return dataclasses.replace(
        message_from(telegram_id, message_id), text="/start", is_start=True, **extra
    )


@pytest.fixture
def agents(make_user):
    return make_user("cs1@helpdesk.com", name="Budi"), make_user("cs2@helpdesk.com", name="Sari")


class TestWhenAMessageArrives:
    def test_a_client_who_must_wait_is_told_their_place_in_the_queue(self):
        first, second = waiting_session("1"), waiting_session("2")
        assert notices_to(first) == [QUEUED.format(1)]
        assert notices_to(second) == [QUEUED.format(2)]

    def test_places_in_one_batch_follow_those_already_waiting(self):
        waiting_session("1")
        results = chat_record_incoming_many(
            incomings=[message_from("2"), message_from("3"), message_from("2", message_id=2)]
        )
        assert notices_to(results[0].session) == [QUEUED.format(2)]
        assert notices_to(results[1].session) == [QUEUED.format(3)]

    def test_a_client_allocated_at_once_is_told_an_agent_reads_it(self, agents):
        budi, _ = agents
        agent_presence_set(agent=budi, online=True)
        session = chat_record_incoming(incoming=message_from("41")).session
        assert session.cs_id == budi.pk
        assert notices_to(session) == [CONNECTED]  # and no "now talking with" besides

    def test_later_and_redelivered_messages_add_no_notice(self):
        session = waiting_session("5")
        chat_record_incoming(incoming=message_from("5", message_id=2))
        chat_record_incoming(incoming=message_from("5", message_id=1))
        assert notices_to(session) == [QUEUED.format(1)]

    def test_start_is_stored_once_greeted_then_told_who_answers(self, agents):
        budi, _ = agents
        agent_presence_set(agent=budi, online=True)
        recorded = chat_record_incoming(incoming=start("6", first_name="Ann", language_code="id"))
        chat_record_incoming(incoming=start("6", first_name="Ann", language_code="id"))

        chats = list(
            recorded.session.chats.order_by("created_at", "id").values_list(
                "sender_type", "is_notice", "message"
            )
        )
        assert [chat[:2] for chat in chats] == [("CLIENT", False), ("CS", True), ("CS", True)]
        assert chats[0][2] == "/start"
        assert chats[1][2].startswith("Halo Ann! 👋")
        assert chats[2][2] == "Terima kasih! Seorang agen sedang membaca pesan Anda."

    def test_start_in_an_open_conversation_only_greets(self):
        session = waiting_session("7")
        chat_record_incoming(incoming=start("7", message_id=2, first_name="Ann"))
        assert notices_to(session) == [QUEUED.format(1), notices_to(session)[1]]
        assert notices_to(session)[1].startswith("Hello Ann! 👋")


class TestWhoAnswers:
    def test_a_waiting_client_is_told_when_an_agent_comes_online(self, agents):
        budi, _ = agents
        session = waiting_session("11")
        agent_presence_set(agent=budi, online=True)
        assert notices_to(session) == [
            QUEUED.format(1),
            "You are now talking with Budi from our support team.",
        ]

    def test_the_notice_is_in_the_clients_telegram_language(self, agents):
        budi, _ = agents
        indonesian, british, other = (
            waiting_session("21", "id"),
            waiting_session("22", "en-GB"),
            waiting_session("23", "ms"),
        )
        agent_presence_set(agent=budi, online=True)
        assert notices_to(indonesian)[-1] == (
            "Anda sekarang terhubung dengan Budi dari tim dukungan kami."
        )
        assert (
            notices_to(british)[-1]
            == notices_to(other)[-1]
            == "You are now talking with Budi from our support team."
        )

    def test_a_client_is_told_about_an_admins_assignment_and_a_transfer(self, agents):
        budi, sari = agents
        session = waiting_session("31", "id")
        session_assign(session=session, agent=budi)
        User.objects.filter(pk=sari.pk).update(status_online=True)
        session_transfer(session=Session.objects.get(pk=session.pk), to_agent=sari)
        assert notices_to(session)[1:] == [
            "Anda sekarang terhubung dengan Budi dari tim dukungan kami.",
            "Anda sekarang terhubung dengan Sari dari tim dukungan kami.",
        ]

    def test_an_agents_reply_is_not_a_notice(self, agents):
        budi, _ = agents
        session = waiting_session("32")
        session_assign(session=session, agent=budi)
        reply = chat_send(session=session, agent=budi, text="Hello, I'm Budi")
        reply.refresh_from_db()
        assert not reply.is_notice
        assert "Hello, I'm Budi" not in notices_to(session)


class TestWithoutAMessage:
    def test_end_says_so_in_the_session_it_ends(self):
        session = waiting_session("51")
        ended = session_end_for_client(sender=Sender(telegram_id="51", name="Client 51"))

        assert ended == session
        session.refresh_from_db()
        assert session.status == Session.Status.ENDED
        assert notices_to(session) == [QUEUED.format(1), ENDED]
        notice = session.chats.get(message=ENDED)
        assert notice.created_at <= session.ended_at

    def test_end_with_nothing_open_goes_to_the_latest_session(self):
        older = waiting_session("52")
        session_end_for_client(sender=Sender(telegram_id="52", name="Client 52"))
        assert session_end_for_client(sender=Sender(telegram_id="52", name="Client 52")) is None
        assert notices_to(older)[-1] == NOTHING_TO_END
        assert Session.objects.filter(client__telegram_id="52").count() == 1

    def test_a_stranger_gets_a_client_and_an_ended_session_holding_the_notice(self):
        sender = Sender(telegram_id="53", name="New Person", username="np", language_code="id")
        assert session_end_for_client(sender=sender) is None

        client = Client.objects.get(telegram_id="53")
        assert (client.name, client.username, client.language_code) == ("New Person", "np", "id")
        session = Session.objects.get(client=client)
        assert session.status == Session.Status.ENDED and session.cs_id is None
        assert notices_to(session) == [
            "Anda tidak punya percakapan yang terbuka. Tulis saja untuk memulai."
        ]

    def test_an_unsupported_message_is_answered_in_the_active_session(self):
        waiting_session("54")
        ended = waiting_session("55")
        session_end_for_client(sender=Sender(telegram_id="55", name="Client 55"))
        active = chat_record_incoming(incoming=message_from("55", message_id=2)).session

        client_notify(sender=Sender(telegram_id="55", name="Client 55"), key="unsupported")

        assert notices_to(active)[-1] == UNSUPPORTED
        assert UNSUPPORTED not in notices_to(ended)
