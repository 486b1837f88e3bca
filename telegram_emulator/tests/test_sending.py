"""Sending through aiogram: records, Telegram's length rules, markup, files, 403/400s."""

import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

pytestmark = pytest.mark.asyncio


@pytest.fixture
def alice(async_emulator):
    async_emulator.add_user(42, "Alice")
    return 42


async def test_send_message_is_recorded(async_emulator, emulated_bot, alice):
    async_emulator.inject_message(alice, "hi")

    message = await emulated_bot.send_message(alice, "Hello, how can we help?")

    assert message.message_id == 2  # shared with the user's message in this chat
    assert message.from_user.id == 123456
    assert message.chat.id == alice
    [record] = async_emulator.sent(chat_id=alice)
    assert (record.method, record.text, record.message_id) == (
        "sendMessage",
        "Hello, how can we help?",
        2,
    )
    assert record.timestamp > 0
    assert async_emulator.sent(method="sendphoto") == []


async def test_text_limit_counts_utf16_code_units(async_emulator, emulated_bot, alice):
    emoji = "😀"  # one character, two UTF-16 code units
    assert len(emoji * 2048) == 2048

    await emulated_bot.send_message(alice, emoji * 2048)  # 4096 units: the maximum
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await emulated_bot.send_message(alice, emoji * 2048 + "!")
    await emulated_bot.send_message(alice, "a" * 4096)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await emulated_bot.send_message(alice, "a" * 4097)


async def test_length_is_measured_after_markup(async_emulator, emulated_bot, alice):
    message = await emulated_bot.send_message(alice, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")

    assert message.text == "a" * 4096
    assert message.entities[0].type == "bold"
    assert async_emulator.sent()[0].text.startswith("<b>")  # stored raw
    assert async_emulator.sent()[0].parse_mode == "HTML"


async def test_empty_text_is_refused(emulated_bot, alice):
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await emulated_bot.send_message(alice, "")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await emulated_bot.send_message(alice, "<b> </b>", parse_mode="HTML")


async def test_malformed_markup_is_refused_like_telegram(emulated_bot, alice):
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await emulated_bot.send_message(alice, "I <3 you", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match=r"Character '\.' is reserved"):
        await emulated_bot.send_message(alice, "Thanks.", parse_mode="MarkdownV2")
    ok = await emulated_bot.send_message(alice, "*Thanks\\.*", parse_mode="MarkdownV2")
    assert (ok.text, ok.entities[0].type) == ("Thanks.", "bold")


async def test_caption_limit(emulated_bot, alice):
    photo = BufferedInputFile(b"\xff\xd8fake-jpeg", filename="p.jpg")
    await emulated_bot.send_photo(alice, photo, caption="c" * 1024)
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await emulated_bot.send_photo(alice, photo, caption="c" * 1025)


async def test_unknown_chat_is_not_found(emulated_bot):
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await emulated_bot.send_message(404404, "hello?")


async def test_blocked_user_is_forbidden(async_emulator, emulated_bot, alice):
    async_emulator.block_user(alice)

    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await emulated_bot.send_message(alice, "are you there?")
    with pytest.raises(TelegramForbiddenError):
        await emulated_bot.send_chat_action(alice, "typing")
    assert async_emulator.sent() == []


async def test_send_document_keeps_bytes_and_filename(async_emulator, emulated_bot, alice):
    payload = bytes(range(256)) * 40

    message = await emulated_bot.send_document(
        alice, BufferedInputFile(payload, filename="report.pdf"), caption="your report"
    )

    [record] = async_emulator.sent(alice, "sendDocument")
    [file] = record.files
    assert (file.data, file.filename, file.source) == (payload, "report.pdf", "upload")
    assert record.caption == "your report"
    assert message.document.file_name == "report.pdf"
    assert message.document.file_size == len(payload)
    assert async_emulator.file_bytes(message.document.file_id) == payload


async def test_file_id_can_be_sent_again(async_emulator, emulated_bot, alice):
    first = await emulated_bot.send_photo(alice, BufferedInputFile(b"img", filename="a.jpg"))

    again = await emulated_bot.send_photo(alice, first.photo[-1].file_id)

    assert again.photo[-1].file_id == first.photo[-1].file_id
    assert async_emulator.sent(method="sendPhoto")[1].files[0].source == "file_id"
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await emulated_bot.send_photo(alice, "no-such-file-id")
    with pytest.raises(TelegramBadRequest, match="can't use file of type Photo as Document"):
        await emulated_bot.send_document(alice, first.photo[-1].file_id)


async def test_video_upload(async_emulator, emulated_bot, alice):
    message = await emulated_bot.send_video(
        alice, BufferedInputFile(b"\x00\x00\x00\x18ftypmp42", filename="clip.mp4"), duration=7
    )

    assert message.video.duration == 7
    assert async_emulator.sent(method="sendVideo")[0].files[0].filename == "clip.mp4"


async def test_chat_action_is_recorded_and_not_rate_limited(async_emulator, emulated_bot, alice):
    for _ in range(10):
        assert await emulated_bot.send_chat_action(alice, "typing") is True

    assert len(async_emulator.sent(alice, "sendChatAction")) == 10
    assert async_emulator.rate_limited == 0


async def test_inline_keyboard_edit_and_callback(async_emulator, emulated_bot, alice):
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="End chat", callback_data="end:1")]]
    )
    sent = await emulated_bot.send_message(alice, "Connected to an agent", reply_markup=markup)
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "end:1"

    update = async_emulator.inject_callback_query(alice, sent.message_id, "end:1")
    [polled] = await emulated_bot.get_updates()
    assert polled.callback_query.data == "end:1"
    assert await emulated_bot.answer_callback_query(update["callback_query"]["id"], text="Bye")

    edited = await emulated_bot.edit_message_text(
        "Chat ended", chat_id=alice, message_id=sent.message_id
    )
    assert (edited.text, edited.reply_markup) == ("Chat ended", None)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await emulated_bot.edit_message_text(
            "Chat ended", chat_id=alice, message_id=sent.message_id
        )
    assert await emulated_bot.delete_message(alice, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await emulated_bot.delete_message(alice, sent.message_id)
    methods = [r.method for r in async_emulator.sent(alice)]
    assert methods == [
        "sendMessage",
        "answerCallbackQuery",
        "editMessageText",
        "deleteMessage",
    ]


async def test_a_message_reads_as_it_is_now_after_the_bots_edits(
    async_emulator, emulated_bot, alice
):
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="5", callback_data="rate:5")]]
    )
    sent = await emulated_bot.send_message(alice, "How did we do?", reply_markup=markup)
    keyboard = {"inline_keyboard": [[{"text": "5", "callback_data": "rate:5"}]]}
    now = async_emulator.message(alice, sent.message_id)
    assert (now["text"], now["reply_markup"]) == ("How did we do?", keyboard)

    await emulated_bot.edit_message_text("Thanks!", chat_id=alice, message_id=sent.message_id)
    now = async_emulator.message(alice, sent.message_id)
    assert (now["text"], "reply_markup" in now) == ("Thanks!", False)
    (record,) = async_emulator.sent(alice, "sendMessage")
    assert record.message["reply_markup"] == keyboard  # the record keeps the message as sent

    now["text"] = "changed by the caller"  # a copy: the emulator's message stays
    assert async_emulator.message(alice, sent.message_id)["text"] == "Thanks!"
    await emulated_bot.delete_message(alice, sent.message_id)
    assert async_emulator.message(alice, sent.message_id) is None
    assert async_emulator.message(alice, 999) is None


async def test_reply_to_a_user_message(async_emulator, emulated_bot, alice):
    question = async_emulator.inject_message(alice, "Where is my order?")["message"]

    answer = await emulated_bot.send_message(
        alice, "On its way", reply_to_message_id=question["message_id"]
    )

    assert answer.reply_to_message.text == "Where is my order?"
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await emulated_bot.send_message(alice, "?", reply_to_message_id=999)
