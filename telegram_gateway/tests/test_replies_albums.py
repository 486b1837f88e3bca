"""Replies both ways and albums, through the real bot and the Bot API emulator."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from conversations.models import Chat, Client, Session
from conversations.selectors import chat_page_for_session
from conversations.services import chat_send
from conversations.services.replies import reply_quote_cut
from telegram_gateway.tests.conftest import unlocked, wait_until
from telegram_gateway.transport import TEXT_LIMIT

pytestmark = pytest.mark.django_db(transaction=True)

BUDI = 5101
PHOTO = b"\x89PNG fake image bytes" * 50


@pytest.fixture
def budi(emulator):
    emulator.add_user(BUDI, "Budi", username="budi", language_code="id")
    return BUDI


@pytest.fixture
def agent(online_agent):
    return online_agent


def client_chat(telegram_message_id: int) -> Chat:
    """The client's message once the bot stored it."""
    return wait_until(
        lambda: Chat.objects.filter(
            sender_type=Chat.SenderType.CLIENT, telegram_message_id=telegram_message_id
        ).first()
    )


def injected_id(update: dict) -> int:
    return update["message"]["message_id"]


def sent(chat: Chat) -> Chat:
    return wait_until(
        lambda: Chat.objects.filter(pk=chat.pk, delivery_status=Chat.DeliveryStatus.SENT).first(),
        15,
    )


def reply_target_of(chat: Chat) -> str | None:
    """The reply link the console shows for `chat` (its page's `reply_target_id`)."""
    chats, _ = chat_page_for_session(session=chat.session)
    return next(c.reply_target_id for c in chats if c.pk == chat.pk)


class TestClientReplies:
    def test_a_reply_to_an_earlier_message_stores_the_link_and_the_quote(
        self, emulator, running_bot, budi, agent
    ):
        question = client_chat(injected_id(emulator.inject_message(budi, "Order #12 is late")))
        update = emulator.inject_message(
            budi, "Any news?", reply_to_message_id=question.telegram_message_id
        )

        reply = client_chat(injected_id(update))
        assert reply.message == "Any news?"
        assert reply.reply_to_message_id == question.telegram_message_id
        assert reply.reply_quote == "Order #12 is late"
        assert reply_target_of(reply) == question.pk
        assert reply_target_of(question) is None

    def test_a_reply_to_the_agents_message_links_to_it(self, emulator, running_bot, budi, agent):
        first = client_chat(injected_id(emulator.inject_message(budi, "Hello")))
        question = "Which order, Budi?"
        answer = sent(
            unlocked(lambda: chat_send(session=first.session, agent=agent, text=question))
        )

        update = emulator.inject_message(
            budi, "#12", reply_to_message_id=answer.telegram_message_id
        )

        reply = client_chat(injected_id(update))
        assert reply.reply_quote == "Which order, Budi?"
        assert reply_target_of(reply) == answer.pk

    def test_a_reply_to_a_photo_without_a_caption_quotes_its_kind(
        self, emulator, running_bot, budi, agent
    ):
        photo = client_chat(injected_id(emulator.inject_photo(budi, PHOTO)))

        update = emulator.inject_message(
            budi, "this one", reply_to_message_id=photo.telegram_message_id
        )

        assert client_chat(injected_id(update)).reply_quote == "[photo]"

    def test_a_long_quote_is_cut_to_the_column_without_splitting_an_emoji(
        self, emulator, running_bot, budi, agent
    ):
        # 253 letters, then a family emoji (one sequence of 5 code points) across the cut.
        long_text = "a" * 253 + "👨‍👩‍👧" + " and more"
        question = client_chat(injected_id(emulator.inject_message(budi, long_text)))

        update = emulator.inject_message(
            budi, "?", reply_to_message_id=question.telegram_message_id
        )

        reply = client_chat(injected_id(update))
        assert reply.reply_quote == "a" * 253 + "…"
        assert len(reply.reply_quote) <= 255

    def test_a_quoted_part_is_the_quote(self, emulator, running_bot, budi, agent):
        question = client_chat(
            injected_id(emulator.inject_message(budi, "Order #12 and order #13 are late"))
        )

        update = emulator.inject_message(
            budi,
            "this one",
            reply_to_message_id=question.telegram_message_id,
            quote={"text": "order #13", "position": 16},
        )

        assert client_chat(injected_id(update)).reply_quote == "order #13"


class TestAlbums:
    def test_an_album_is_stored_as_one_chat_per_part_with_its_id(
        self, emulator, running_bot, budi, agent
    ):
        updates = emulator.inject_album(budi, [PHOTO] * 3, "the box", media_group_id="13579")
        single = emulator.inject_photo(budi, PHOTO, caption="another")

        parts = [client_chat(injected_id(update)) for update in updates]
        assert [(p.message_type, p.media_group_id) for p in parts] == [("IMAGE", "13579")] * 3
        assert [p.message for p in parts] == ["the box", "", ""]
        assert len({p.pk for p in parts}) == 3
        assert len({p.session_id for p in parts}) == 1
        assert client_chat(injected_id(single)).media_group_id == ""


def open_session(emulator, agent, user_id: int) -> Session:
    emulator.add_user(user_id, f"Client {user_id}")
    client = Client.objects.create(telegram_id=str(user_id), name=f"Client {user_id}")
    return Session.objects.create(client=client, cs=agent)


class TestAgentReplies:
    def test_a_reply_to_reaches_telegram_as_a_reply_to_that_message(
        self, emulator, running_bot, budi, agent
    ):
        first = client_chat(injected_id(emulator.inject_message(budi, "My parcel is lost")))
        client_chat(injected_id(emulator.inject_message(budi, "and the invoice is wrong")))

        chat = unlocked(
            lambda: chat_send(
                session=first.session,
                agent=agent,
                text="Sorry about it!",
                reply_to_chat_id=first.pk,
            )
        )

        assert (chat.reply_to_message_id, chat.reply_quote) == (
            first.telegram_message_id,
            "My parcel is lost",
        )
        stored = sent(chat)
        (record,) = [
            r
            for r in emulator.sent(chat_id=BUDI, method="sendMessage")
            if r.text == "Sorry about it!"
        ]
        assert record.message["reply_to_message"]["message_id"] == first.telegram_message_id
        assert record.message["reply_to_message"]["text"] == "My parcel is lost"
        assert stored.telegram_message_id == record.message_id
        assert reply_target_of(stored) == first.pk

    def test_only_the_first_part_of_a_long_reply_is_the_reply(self, emulator, agent, start_worker):
        session = open_session(emulator, agent, 9101)
        question = emulator.inject_message(9101, "Tell me everything")
        target = Chat.objects.create(
            session=session,
            sender_type=Chat.SenderType.CLIENT,
            message="Tell me everything",
            telegram_message_id=injected_id(question),
        )
        text = ("word " * (TEXT_LIMIT // 5 + 100)).strip()

        chat = chat_send(session=session, agent=agent, text=text, reply_to_chat_id=target.pk)
        start_worker()
        sent(chat)

        records = emulator.sent(chat_id=9101, method="sendMessage")
        assert len(records) == 2
        assert records[0].message["reply_to_message"]["message_id"] == injected_id(question)
        assert "reply_to_message" not in records[1].message

    def test_a_file_reply_answers_with_the_file_and_its_long_caption_follows(
        self, emulator, agent, start_worker
    ):
        session = open_session(emulator, agent, 9102)
        question = emulator.inject_message(9102, "Send me the invoice")
        target = Chat.objects.create(
            session=session,
            sender_type=Chat.SenderType.CLIENT,
            message="Send me the invoice",
            telegram_message_id=injected_id(question),
        )
        upload = SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 fake", "application/pdf")

        chat = chat_send(
            session=session,
            agent=agent,
            text="x" * 1500,  # over a caption's 1,024: sent as a text after the file
            upload=upload,
            reply_to_chat_id=target.pk,
        )
        start_worker()
        sent(chat)

        (document,) = emulator.sent(chat_id=9102, method="sendDocument")
        assert document.message["reply_to_message"]["message_id"] == injected_id(question)
        (caption,) = emulator.sent(chat_id=9102, method="sendMessage")
        assert "reply_to_message" not in caption.message

    def test_a_target_gone_from_telegram_still_sends(self, emulator, agent, start_worker):
        session = open_session(emulator, agent, 9103)
        # Stored by us, unknown to Telegram (the client deleted it, say).
        target = Chat.objects.create(
            session=session,
            sender_type=Chat.SenderType.CLIENT,
            message="deleted since",
            telegram_message_id=4242,
        )

        chat = chat_send(
            session=session, agent=agent, text="Still here", reply_to_chat_id=target.pk
        )
        start_worker()
        stored = sent(chat)

        (record,) = emulator.sent(chat_id=9103, method="sendMessage")
        assert record.text == "Still here"
        assert "reply_to_message" not in record.message
        assert stored.reply_to_message_id == 4242  # the console still links it

    def test_a_reply_to_another_sessions_message_or_a_forged_id_is_refused(self, emulator, agent):
        session = open_session(emulator, agent, 9104)
        other = open_session(emulator, agent, 9105)
        elsewhere = Chat.objects.create(
            session=other,
            sender_type=Chat.SenderType.CLIENT,
            message="not yours",
            telegram_message_id=7,
        )
        unsent = chat_send(session=session, agent=agent, text="not on Telegram yet")

        for target in (elsewhere.pk, "c" * 25, unsent.pk):
            with pytest.raises(ValidationError) as refused:
                chat_send(session=session, agent=agent, text="hi", reply_to_chat_id=target)
            assert refused.value.code == "reply_target"
            assert "reached Telegram" in refused.value.messages[0]

        assert list(Chat.objects.filter(sender_type="CS").values_list("message", flat=True)) == [
            "not on Telegram yet"
        ]


class TestQuoteCut:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("short", "short"),
            ("b" * 255, "b" * 255),
            ("b" * 300, "b" * 254 + "…"),
            ("b" * 253 + "e\u0301" + "z" * 5, "b" * 253 + "…"),  # e and a combining accent
            ("b" * 253 + "🇮🇩🇮🇩", "b" * 253 + "…"),  # a flag is two code points
            ("b" * 252 + "🇮🇩🇮🇩", "b" * 252 + "🇮🇩…"),
            ("b" * 253 + "👍🏽 ok", "b" * 253 + "…"),  # a skin tone belongs to its hand
        ],
    )
    def test_the_quote_keeps_what_a_reader_sees_as_characters(self, text, expected):
        assert reply_quote_cut(text) == expected
