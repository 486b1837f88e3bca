"""The real aiogram bot against the Bot API emulator over HTTP: what clients' messages become."""

import time

import pytest

from accounts.models import User
from conversations.models import Chat, Client, Session
from telegram_gateway.tests.conftest import BotThread, wait_until

BUDI = 5001


@pytest.fixture
def budi(emulator):
    emulator.add_user(BUDI, "Budi", "Santoso", username="budi", language_code="id")
    return BUDI


@pytest.fixture
def ann(emulator):
    emulator.add_user(5002, "Ann", username="ann", language_code="en-GB")
    return 5002


@pytest.fixture
def online_agent(make_user):
    agent = make_user("cs1@helpdesk.com", name="CS One")
    User.objects.filter(pk=agent.pk).update(status_online=True)
    return agent


def client_chats():
    """What clients wrote (the desk's notices are chats too, sent as CS)."""
    return Chat.objects.filter(sender_type=Chat.SenderType.CLIENT)


def stored(count: int = 1) -> list[Chat]:
    return wait_until(
        lambda: (
            (chats := list(client_chats().order_by("created_at", "id")))
            and len(chats) >= count
            and chats
        )
    )


def texts_sent(emulator, chat_id: int, count: int = 1) -> list[str]:
    return [r.text for r in emulator.wait_for_sent(count, chat_id=chat_id, method="sendMessage")]


class TestTextMessages:
    def test_a_first_message_is_stored_assigned_and_acknowledged(
        self, emulator, running_bot, budi, online_agent
    ):
        emulator.inject_message(budi, "Halo, pesanan saya belum sampai 📦 <b>tolong</b>")

        (chat,) = stored()
        assert chat.message == "Halo, pesanan saya belum sampai 📦 <b>tolong</b>"
        assert (chat.sender_type, chat.message_type) == ("CLIENT", "TEXT")
        assert chat.session.cs == online_agent
        client = Client.objects.get()
        assert (client.telegram_id, client.name, client.username) == (
            str(BUDI),
            "Budi Santoso",
            "budi",
        )
        assert texts_sent(emulator, budi) == [
            "Terima kasih! Seorang agen sedang membaca pesan Anda."
        ]

    def test_later_messages_join_the_session_without_more_notices(
        self, emulator, running_bot, ann, online_agent
    ):
        for text in ("one", "two", "three"):
            emulator.inject_message(ann, text)

        chats = stored(3)
        assert [c.message for c in chats] == ["one", "two", "three"]
        assert Session.objects.count() == 1
        assert len(texts_sent(emulator, ann)) == 1

    def test_a_client_without_an_agent_is_told_it_is_queued(self, emulator, running_bot, ann):
        emulator.inject_message(ann, "anyone there?")

        (chat,) = stored()
        assert chat.session.cs is None
        assert texts_sent(emulator, ann) == [
            "Thank you! All our agents are busy right now. You are number 1 in the queue; "
            "we will answer as soon as possible."
        ]

    def test_urls_make_a_link(self, emulator, running_bot, ann, online_agent):
        emulator.inject_message(ann, "see https://example.com/order/1")
        emulator.inject_message(
            ann,
            "my order",
            entities=[
                {"type": "text_link", "offset": 3, "length": 5, "url": "https://shop.example/o/9"}
            ],
        )

        first, second = stored(2)
        assert (first.message_type, first.message) == ("LINK", "see https://example.com/order/1")
        assert second.message_type == "LINK"
        assert second.message == "my order\nhttps://shop.example/o/9"

    def test_an_edit_updates_the_stored_message(self, emulator, running_bot, ann, online_agent):
        update = emulator.inject_message(ann, "helo")
        stored()
        emulator.inject_edit(ann, update["message"]["message_id"], "hello")

        chat = wait_until(lambda: Chat.objects.filter(edited_at__isnull=False).first())
        assert chat.message == "hello"
        assert client_chats().count() == 1


class TestMedia:
    def test_a_photo_is_an_image_with_the_largest_size_and_its_caption(
        self, emulator, running_bot, ann, online_agent
    ):
        update = emulator.inject_photo(ann, b"\x89PNG fake image bytes" * 50, caption="broken box")

        (chat,) = stored()
        largest = max(update["message"]["photo"], key=lambda size: size["width"])
        assert (chat.message_type, chat.message) == ("IMAGE", "broken box")
        assert chat.telegram_file_id == largest["file_id"]
        assert chat.file_url == f"/files/{chat.id}/photo.jpg"
        assert "bot" not in chat.file_url and "TEST-TOKEN" not in chat.file_url

    @pytest.mark.parametrize(
        ("inject", "expected_type"),
        [
            (lambda e, u: e.inject_document(u, b"%PDF-1.4", filename="invoice.pdf"), "FILE"),
            (lambda e, u: e.inject_voice(u, b"OggS voice"), "FILE"),
            (lambda e, u: e.inject_audio(u, b"ID3 audio"), "FILE"),
            (lambda e, u: e.inject_video(u, b"\x00\x00\x00 ftyp video"), "VIDEO"),
            (lambda e, u: e.inject_sticker(u, b"RIFF sticker"), "IMAGE"),
        ],
    )
    def test_files_map_to_the_specs_types(
        self, emulator, running_bot, ann, online_agent, inject, expected_type
    ):
        inject(emulator, ann)

        (chat,) = stored()
        assert chat.message_type == expected_type
        assert chat.telegram_file_id
        assert chat.file_url.startswith(f"/files/{chat.id}/")

    def test_a_document_keeps_its_name_in_the_file_url(
        self, emulator, running_bot, ann, online_agent
    ):
        emulator.inject_document(ann, b"%PDF-1.4", filename="invoice.pdf", caption="March")

        (chat,) = stored()
        assert (chat.message, chat.file_url) == ("March", f"/files/{chat.id}/invoice.pdf")

    def test_a_gif_is_a_video_although_it_also_carries_a_document(
        self, emulator, running_bot, ann, online_agent
    ):
        update = emulator.inject_animation(ann, b"\x00\x00\x00 ftypmp42 gif", caption="lol")

        (chat,) = stored()
        assert update["message"]["document"]["file_id"] == update["message"]["animation"]["file_id"]
        assert (chat.message_type, chat.message) == ("VIDEO", "lol")
        assert chat.telegram_file_id == update["message"]["animation"]["file_id"]
        assert chat.file_url == f"/files/{chat.id}/animation.gif.mp4"

    def test_a_captions_hidden_link_addresses_stay_readable(
        self, emulator, running_bot, ann, online_agent
    ):
        # "📦" is two UTF-16 units, so the entity offsets are not Python string indexes.
        caption = "📦 lihat di sini atau https://shop.example/faq"
        emulator.inject_photo(
            ann,
            b"\x89PNG fake image bytes" * 50,
            caption=caption,
            caption_entities=[
                {"type": "text_link", "offset": 9, "length": 7, "url": "https://shop.example/o/9"},
                {
                    "type": "text_link",
                    "offset": 22,
                    "length": 24,
                    "url": "https://shop.example/faq",
                },
            ],
        )

        (chat,) = stored()
        assert chat.message_type == "IMAGE"
        assert chat.message == f"{caption}\nhttps://shop.example/o/9"

    def test_location_and_contact_become_readable(self, emulator, running_bot, ann, online_agent):
        emulator.inject_location(ann, -6.2, 106.816666)
        emulator.inject_contact(ann, "+6281234567", "Siti", "Aminah")

        location, contact = stored(2)
        assert location.message_type == "LINK"
        assert "-6.2" in location.message and "openstreetmap.org" in location.message
        assert (contact.message_type, contact.message) == ("TEXT", "👤 Siti Aminah: +6281234567")


class TestWhatIsNotAConversation:
    def test_unsupported_kinds_get_a_polite_reply_and_crash_nothing(
        self, emulator, running_bot, ann, online_agent
    ):
        emulator.inject_poll(ann, "Best?", ["a", "b"])
        emulator.inject_dice(ann)
        emulator.inject_message(ann, "after the poll")

        (chat,) = stored()
        assert chat.message == "after the poll"
        replies = texts_sent(emulator, ann, 3)
        assert (
            replies.count(
                "Sorry, we can't read this kind of message. Please send text, a photo, a file, "
                "a video or a location."
            )
            == 2
        )

    def test_group_messages_are_ignored(self, emulator, running_bot, ann, online_agent):
        emulator.inject_group_message(-100123, ann, "hello group")
        emulator.inject_message(ann, "private hello")

        (chat,) = stored()
        assert chat.message == "private hello"
        assert emulator.sent(chat_id=-100123) == []

    def test_a_malformed_update_is_skipped_and_later_ones_still_land(
        self, emulator, running_bot, ann, online_agent
    ):
        emulator.inject_update({"message": {"message_id": "not a number", "chat": "?"}})
        emulator.inject_update({"edited_message": None, "something_new": {"x": 1}})
        emulator.inject_message(ann, "still works")

        (chat,) = stored()
        assert chat.message == "still works"


class TestCommands:
    def test_start_greets_in_the_clients_language(self, emulator, running_bot, budi, ann):
        emulator.inject_message(budi, "/start")
        emulator.inject_message(ann, "/start")

        budi_hears, ann_hears = texts_sent(emulator, budi, 2), texts_sent(emulator, ann, 2)
        assert budi_hears[0].startswith("Halo Budi!")
        assert ann_hears[0].startswith("Hello Ann!")
        # /start opened a session like a first message: the greeting, then the queue.
        assert "antrean nomor" in budi_hears[1]
        assert "in the queue" in ann_hears[1]
        assert sorted(client_chats().values_list("message", flat=True)) == ["/start", "/start"]

    def test_start_is_greeted_once_when_telegram_delivers_it_again(
        self, emulator, running_bot, ann, online_agent
    ):
        update = emulator.inject_message(ann, "/start")
        stored()
        emulator.inject_update({"message": update["message"]})
        emulator.inject_message(ann, "next")

        stored(2)
        time.sleep(1.5)  # the chat's pacing interval: a duplicate would have gone by now
        assert len(texts_sent(emulator, ann, 2)) == 2  # greeting and connected, once
        assert len(emulator.sent(chat_id=ann, method="sendMessage")) == 2

    def test_end_closes_the_clients_session(self, emulator, running_bot, ann, online_agent):
        emulator.inject_message(ann, "hi")
        session = stored()[0].session
        emulator.inject_message(ann, "/end")

        replies = texts_sent(emulator, ann, 2)
        assert replies[1] == "Your conversation has ended. Write again any time to start a new one."
        session.refresh_from_db()
        assert session.status == Session.Status.ENDED
        assert session.ended_at is not None

    def test_end_without_a_session_says_so(self, emulator, running_bot, ann):
        emulator.inject_message(ann, "/end")
        assert texts_sent(emulator, ann) == [
            "You have no open conversation. Just write to start one."
        ]


def test_the_same_message_seen_twice_is_stored_once(emulator, running_bot, ann, online_agent):
    update = emulator.inject_message(ann, "only once")
    stored()
    # The same Telegram message again, in a new update (update_id assigned anew).
    emulator.inject_update({"message": update["message"]})
    emulator.inject_message(ann, "next")

    chats = stored(2)
    assert [c.message for c in chats] == ["only once", "next"]


def test_channel_posts_are_ignored(emulator, running_bot, ann, online_agent):
    emulator.inject_update(
        {
            "channel_post": {
                "message_id": 1,
                "date": 1_700_000_000,
                "chat": {"id": -100777, "type": "channel", "title": "News"},
                "text": "announcement",
            }
        }
    )
    emulator.inject_message(ann, "private hello")

    (chat,) = stored()
    assert chat.message == "private hello"
    assert emulator.sent(chat_id=-100777) == []


def test_paced_notices_do_not_hold_up_storing_messages(
    emulator, settings, bot_token, transactional_db, online_agent
):
    settings.TELEGRAM_SEND_RATE = 2  # ten notices take about 5 s to go out
    clients = range(6100, 6110)
    for user in clients:
        emulator.add_user(user, f"Client {user}")
    bot = BotThread(emulator.base_url, bot_token).start()
    try:
        for user in clients:
            emulator.inject_message(user, "first message")  # each opens a session: a notice
        wait_until(lambda: client_chats().count() == 10)
        started = time.monotonic()
        for user in clients:
            emulator.inject_message(user, "second message")  # the next getUpdates batch
        wait_until(lambda: client_chats().count() == 20)
        second_batch_stored_after = time.monotonic() - started

        notices = emulator.wait_for_sent(10, method="sendMessage", timeout=15)
    finally:
        bot.stop()
    assert second_batch_stored_after < 2.5
    assert notices[-1].timestamp - started >= 2.5  # the notices really were still pacing
