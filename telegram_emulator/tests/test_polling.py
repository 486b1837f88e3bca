"""getMe, authentication and getUpdates long polling through a real aiogram Bot."""

import asyncio
import time

import pytest
from aiogram.exceptions import TelegramConflictError, TelegramUnauthorizedError

from telegram_emulator import make_bot

pytestmark = pytest.mark.asyncio


async def test_get_me_returns_the_registered_bot(async_emulator, emulated_bot):
    async_emulator.add_bot("123456:TEST-TOKEN", username="helpdesk_bot", first_name="Help Desk")

    me = await emulated_bot.get_me()

    assert (me.id, me.is_bot, me.username, me.first_name) == (
        123456,
        True,
        "helpdesk_bot",
        "Help Desk",
    )


async def test_unknown_token_is_unauthorized(async_emulator):
    bot = make_bot(async_emulator.base_url, "999:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
            await bot.get_me()
    finally:
        await bot.session.close()


async def test_accept_any_token_creates_the_bot_on_first_use(async_emulator):
    async_emulator.accept_any_token = True
    bot = make_bot(async_emulator.base_url, "777:ANY")
    try:
        assert (await bot.get_me()).id == 777
    finally:
        await bot.session.close()


async def test_get_updates_returns_injected_messages(async_emulator, emulated_bot):
    async_emulator.add_user(42, "Alice", "Smith", username="alice")
    async_emulator.inject_message(42, "/start")
    async_emulator.inject_message(42, "I need help 👋🏽")

    updates = await emulated_bot.get_updates(timeout=0)

    assert [u.message.text for u in updates] == ["/start", "I need help 👋🏽"]
    first = updates[0].message
    assert first.from_user.username == "alice"
    assert first.chat.id == 42
    assert first.chat.type == "private"
    assert first.entities[0].type == "bot_command"
    assert [u.message.message_id for u in updates] == [1, 2]
    assert updates[1].update_id == updates[0].update_id + 1


async def test_long_poll_returns_as_soon_as_a_message_arrives(async_emulator, emulated_bot):
    async_emulator.add_user(42, "Alice")

    async def write_later():
        await asyncio.sleep(0.3)
        async_emulator.inject_message(42, "hello")

    started = time.monotonic()
    writer = asyncio.create_task(write_later())
    updates = await emulated_bot.get_updates(timeout=10)
    await writer

    assert [u.message.text for u in updates] == ["hello"]
    assert 0.25 < time.monotonic() - started < 3


async def test_long_poll_times_out_empty(async_emulator, emulated_bot):
    started = time.monotonic()
    assert await emulated_bot.get_updates(timeout=1) == []
    assert time.monotonic() - started >= 0.9


async def test_offset_forgets_confirmed_updates_and_redelivers_the_rest(
    async_emulator, emulated_bot
):
    for text in ("one", "two", "three"):
        async_emulator.inject_message(42, text)

    first = await emulated_bot.get_updates(limit=2)
    again = await emulated_bot.get_updates()
    assert [u.message.text for u in first] == ["one", "two"]
    assert [u.message.text for u in again] == ["one", "two", "three"]  # nothing confirmed yet

    rest = await emulated_bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest] == ["three"]
    assert [u.message.text for u in await emulated_bot.get_updates()] == ["three"]

    assert await emulated_bot.get_updates(offset=rest[-1].update_id + 1) == []
    assert async_emulator.pending_updates() == []


async def test_allowed_updates_filters_update_types(async_emulator, emulated_bot):
    message = async_emulator.inject_message(42, "typo")
    async_emulator.inject_edit(42, message["message"]["message_id"], "fixed")

    updates = await emulated_bot.get_updates(allowed_updates=["edited_message"])

    assert len(updates) == 1
    assert updates[0].edited_message.text == "fixed"
    assert updates[0].edited_message.edit_date is not None


async def test_a_second_poller_terminates_the_first(async_emulator, bot_token):
    first, second = (make_bot(async_emulator.base_url, bot_token) for _ in range(2))
    try:
        waiting = asyncio.create_task(first.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        polling = asyncio.create_task(second.get_updates(timeout=0))
        with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
            await waiting
        assert await polling == []
    finally:
        await first.session.close()
        await second.session.close()


async def test_injected_media_and_other_kinds_validate_in_aiogram(async_emulator, emulated_bot):
    async_emulator.inject_document(42, b"%PDF-1.7", "invoice.pdf", "application/pdf", "my bill")
    async_emulator.inject_video(42, b"\x00\x00\x00\x18ftypmp42")
    async_emulator.inject_voice(42, b"OggS", duration=3)
    async_emulator.inject_sticker(42)
    async_emulator.inject_location(42, -6.2, 106.8)
    async_emulator.inject_contact(42, "+6281234", "Alice")
    async_emulator.inject_poll(42, "Rate us", ["good", "bad"])
    async_emulator.inject_dice(42, value=4)
    async_emulator.inject_group_message(-100123, 42, "hi all", title="Customers")

    messages = [u.message for u in await emulated_bot.get_updates()]

    assert messages[0].document.file_name == "invoice.pdf"
    assert messages[0].caption == "my bill"
    assert messages[1].video.mime_type == "video/mp4"
    assert messages[2].voice.duration == 3
    assert messages[3].sticker.emoji == "👍"
    assert messages[4].location.latitude == -6.2
    assert messages[5].contact.phone_number == "+6281234"
    assert [o.text for o in messages[6].poll.options] == ["good", "bad"]
    assert messages[7].dice.value == 4
    assert (messages[8].chat.type, messages[8].chat.title) == ("supergroup", "Customers")


async def test_raw_updates_are_queued_verbatim(async_emulator, emulated_bot):
    update = async_emulator.inject_update({"message": {"message_id": 9, "no": "chat"}})

    assert update["update_id"] == 1
    assert async_emulator.pending_updates() == [
        {"update_id": 1, "message": {"message_id": 9, "no": "chat"}}
    ]


async def test_blocking_with_notify_queues_my_chat_member(async_emulator, emulated_bot):
    async_emulator.add_user(42, "Alice")
    async_emulator.block_user(42, notify=True)

    [update] = await emulated_bot.get_updates()

    member = update.my_chat_member
    assert (member.chat.id, member.new_chat_member.status) == (42, "kicked")
    assert member.old_chat_member.status == "member"


async def test_two_bots_keep_separate_queues(async_emulator, emulated_bot):
    async_emulator.add_bot("222:OTHER")
    async_emulator.inject_message(42, "for the first bot", token="123456:TEST-TOKEN")
    async_emulator.inject_message(42, "for the other bot", token="222:OTHER")
    other = make_bot(async_emulator.base_url, "222:OTHER")
    try:
        [mine] = await emulated_bot.get_updates()
        [theirs] = await other.get_updates()
    finally:
        await other.session.close()

    assert (mine.message.text, theirs.message.text) == ("for the first bot", "for the other bot")
    with pytest.raises(ValueError, match="pass token="):
        async_emulator.inject_message(42, "which bot?")
