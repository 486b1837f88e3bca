from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from accounts.models import User
from conversations.models import Chat, Client, Session
from conversations.services import (
    IncomingMessage,
    Sender,
    chat_edit_incoming,
    chat_record_incoming,
    session_end_for_client,
)

pytestmark = pytest.mark.django_db


def incoming(message_id: int = 1, *, telegram_id: str = "555", text: str = "hello", **extra):
    fields = {
        "telegram_id": telegram_id,
        "name": "Budi Santoso",
        "username": "budi",
        "telegram_message_id": message_id,
        "message_type": Chat.MessageType.TEXT,
        "text": text,
    } | extra
    return IncomingMessage(**fields)


@pytest.fixture
def online_agent(make_user):
    agent = make_user("cs1@helpdesk.com")
    User.objects.filter(pk=agent.pk).update(status_online=True)
    return agent


class TestChatRecordIncoming:
    def test_the_first_message_opens_a_session_with_an_online_agent(self, online_agent):
        recorded = chat_record_incoming(incoming=incoming(text="Halo 👋🏽"))

        assert recorded.created
        assert recorded.session_opened
        assert recorded.session.cs == online_agent
        assert recorded.session.status == Session.Status.ACTIVE
        chat, notice = Chat.objects.order_by("created_at", "id")
        assert (chat.sender_type, chat.message, chat.is_read) == ("CLIENT", "Halo 👋🏽", False)
        assert chat.session.client.telegram_id == "555"
        # Told it is being read, stored with the message for the worker to deliver.
        assert (notice.session, notice.sender_type, notice.is_notice) == (chat.session, "CS", True)
        assert notice.message == "Thank you! An agent is looking at your message now."
        assert notice.delivery_status == Chat.DeliveryStatus.PENDING

    def test_later_messages_join_the_active_session(self, online_agent):
        first = chat_record_incoming(incoming=incoming(1))
        second = chat_record_incoming(incoming=incoming(2, text="still there?"))

        assert not second.session_opened
        assert second.session == first.session
        assert Session.objects.count() == 1
        assert list(first.session.chats.values_list("message", "is_notice")) == [
            ("hello", False),
            ("Thank you! An agent is looking at your message now.", True),
            ("still there?", False),
        ]

    def test_a_redelivered_message_is_stored_once(self, online_agent):
        chat_record_incoming(incoming=incoming(7))
        again = chat_record_incoming(incoming=incoming(7))

        assert not again.created
        assert Chat.objects.filter(is_notice=False).count() == 1
        assert Chat.objects.filter(is_notice=True).count() == 1  # no second notice either

    def test_the_client_is_created_once_and_kept_current(self, online_agent):
        chat_record_incoming(incoming=incoming(1))
        chat_record_incoming(incoming=incoming(2, name="Budi S.", username=None))

        client = Client.objects.get()
        assert (client.name, client.username) == ("Budi S.", None)

    def test_a_message_after_the_session_ended_opens_a_new_one(self, online_agent):
        first = chat_record_incoming(incoming=incoming(1))
        session_end_for_client(sender=Sender(telegram_id="555", name="Budi Santoso"))

        later = chat_record_incoming(incoming=incoming(2))

        assert later.session_opened
        assert later.session != first.session
        assert Session.objects.filter(status=Session.Status.ACTIVE).get() == later.session

    def test_a_file_gets_an_app_url_and_keeps_the_telegram_file_id(self, online_agent):
        recorded = chat_record_incoming(
            incoming=incoming(
                3,
                text="my invoice",
                message_type=Chat.MessageType.FILE,
                telegram_file_id="BQACAgIAAxkBAAI",
                file_name="invoice march.pdf",
            )
        )
        chat = recorded.chat
        chat.refresh_from_db()
        assert chat.telegram_file_id == "BQACAgIAAxkBAAI"
        assert chat.file_url == f"/files/{chat.id}/invoice%20march.pdf"

    def test_the_database_refuses_a_second_active_session_per_client(self, online_agent):
        recorded = chat_record_incoming(incoming=incoming(1))
        with pytest.raises(IntegrityError):
            Session.objects.create(client=recorded.session.client)


class TestChatEditIncoming:
    def test_an_edit_updates_the_stored_message_and_marks_it(self, online_agent):
        chat_record_incoming(incoming=incoming(4, text="helo"))
        edited_at = timezone.now() + timedelta(seconds=30)

        chat = chat_edit_incoming(
            telegram_id="555", telegram_message_id=4, text="hello", edited_at=edited_at
        )

        stored = Chat.objects.get(is_notice=False)
        assert chat == stored
        assert (stored.message, stored.edited_at) == ("hello", edited_at)

    def test_an_edit_of_an_unknown_message_changes_nothing(self, online_agent):
        chat_record_incoming(incoming=incoming(4, text="helo"))
        assert chat_edit_incoming(telegram_id="555", telegram_message_id=99, text="x") is None
        assert Chat.objects.get(is_notice=False).message == "helo"
