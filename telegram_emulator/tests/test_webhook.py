"""Webhook mode: delivery to a real HTTP receiver, retries, info, and the polling conflict."""

import asyncio
import contextlib
import json

import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError
from aiohttp import web

pytestmark = pytest.mark.asyncio


class Receiver:
    """A tiny webhook endpoint answering with queued statuses (200 once they run out)."""

    def __init__(self, *statuses: int, reply: dict | None = None) -> None:
        self.statuses = list(statuses)
        self.reply = reply
        self.calls: list[tuple[int, dict, str | None]] = []
        self.delivered = asyncio.Queue()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        status = self.statuses.pop(0) if self.statuses else 200
        body = await request.json()
        self.calls.append((status, body, request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        if status == 200:
            self.delivered.put_nowait(body)
            if self.reply:
                return web.json_response(self.reply)
        return web.Response(status=status)


@contextlib.asynccontextmanager
async def serve(receiver: Receiver):
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield receiver
    finally:
        await runner.cleanup()


async def eventually(check, timeout: float = 3.0):
    for _ in range(int(timeout / 0.02)):
        if result := await check():
            return result
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_update_is_posted_with_the_secret_header(async_emulator, emulated_bot):
    async with serve(Receiver()) as receiver:
        assert await emulated_bot.set_webhook(receiver.url, secret_token="s3cret_-")
        sent = async_emulator.inject_message(42, "hello webhook")

        delivered = await asyncio.wait_for(receiver.delivered.get(), 3)

        assert delivered == json.loads(json.dumps(sent))
        assert receiver.calls[0][2] == "s3cret_-"
        info = await emulated_bot.get_webhook_info()
        assert (info.url, info.pending_update_count) == (receiver.url, 0)


async def test_failed_delivery_is_retried_and_reported(async_emulator, emulated_bot):
    async with serve(Receiver(500, 500)) as receiver:
        await emulated_bot.set_webhook(receiver.url)
        async_emulator.inject_message(42, "first")
        async_emulator.inject_message(42, "second")

        async def failed():
            info = await emulated_bot.get_webhook_info()
            return info if info.last_error_date else None

        info = await eventually(failed)
        assert info.pending_update_count == 2
        assert (
            info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        )

        first = await asyncio.wait_for(receiver.delivered.get(), 3)
        second = await asyncio.wait_for(receiver.delivered.get(), 3)

        assert [first["message"]["text"], second["message"]["text"]] == ["first", "second"]
        assert [status for status, _, _ in receiver.calls] == [500, 500, 200, 200]
        assert (await emulated_bot.get_webhook_info()).pending_update_count == 0


async def test_get_updates_conflicts_while_a_webhook_is_set(async_emulator, emulated_bot):
    await emulated_bot.set_webhook("http://127.0.0.1:9/unreachable")
    async_emulator.inject_message(42, "kept while undeliverable")

    with pytest.raises(TelegramConflictError, match="can't use getUpdates method while webhook"):
        await emulated_bot.get_updates()

    info = await eventually(emulated_bot.get_webhook_info)
    assert info.pending_update_count == 1
    assert await emulated_bot.delete_webhook()
    [update] = await emulated_bot.get_updates()
    assert update.message.text == "kept while undeliverable"
    assert (await emulated_bot.get_webhook_info()).url == ""


async def test_unreachable_receiver_is_reported(async_emulator, emulated_bot):
    await emulated_bot.set_webhook("http://127.0.0.1:9/unreachable")
    async_emulator.inject_message(42, "anyone?")

    async def failed():
        info = await emulated_bot.get_webhook_info()
        return info if info.last_error_message else None

    assert (await eventually(failed)).last_error_message == "Connection refused"


async def test_drop_pending_updates(async_emulator, emulated_bot):
    async_emulator.inject_message(42, "old")

    await emulated_bot.delete_webhook(drop_pending_updates=True)

    assert await emulated_bot.get_updates() == []


@pytest.mark.parametrize("secret", ["has space", "ü", "x" * 257])
async def test_bad_secret_token_is_refused(emulated_bot, secret):
    with pytest.raises(TelegramBadRequest, match="secret token"):
        await emulated_bot.set_webhook("http://127.0.0.1:9/hook", secret_token=secret)


async def test_method_in_webhook_answer_is_executed(async_emulator, emulated_bot):
    async_emulator.add_user(42, "Alice")
    reply = {"method": "sendMessage", "chat_id": 42, "text": "auto-reply"}
    async with serve(Receiver(reply=reply)) as receiver:
        await emulated_bot.set_webhook(receiver.url)
        async_emulator.inject_message(42, "ping")

        [record] = await async_emulator.wait_for_sent_async(timeout=3)

    assert (record.method, record.text) == ("sendMessage", "auto-reply")
