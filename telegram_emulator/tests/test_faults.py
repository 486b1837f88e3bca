"""Injected faults and delays, seen through aiogram's exceptions."""

import pytest
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

pytestmark = pytest.mark.asyncio


async def test_fail_next_500_then_success(async_emulator, emulated_bot):
    async_emulator.add_user(42, "Alice")
    async_emulator.fail_next("sendMessage", 500)

    with pytest.raises(TelegramServerError, match="Internal Server Error"):
        await emulated_bot.send_message(42, "first try")
    await emulated_bot.send_message(42, "second try")

    assert [r.text for r in async_emulator.sent()] == ["second try"]
    assert async_emulator.requests("sendMessage") == 2


async def test_injected_429_carries_retry_after(async_emulator, emulated_bot):
    async_emulator.fail_next("getMe", 429, retry_after=7)

    with pytest.raises(TelegramRetryAfter) as caught:
        await emulated_bot.get_me()

    assert caught.value.retry_after == 7
    assert async_emulator.rate_limited == 1


async def test_fail_next_counts_times_and_wildcard(async_emulator, emulated_bot):
    async_emulator.fail_next("*", 502, times=2)

    for _ in range(2):
        with pytest.raises(TelegramServerError, match="Bad Gateway"):
            await emulated_bot.get_me()
    assert (await emulated_bot.get_me()).id == 123456


async def test_delay_provokes_a_client_timeout(async_emulator, emulated_bot):
    async_emulator.delay("getMe", 1.3)

    with pytest.raises(TelegramNetworkError, match="timeout"):
        await emulated_bot.get_me(request_timeout=1)

    async_emulator.clear_faults()
    assert (await emulated_bot.get_me()).id == 123456


async def test_delay_after_still_sends_the_message(async_emulator, emulated_bot):
    """A timeout after Telegram did the work: the message exists though the client failed."""
    async_emulator.add_user(42, "Alice")
    async_emulator.delay("sendMessage", 1.3, times=1, when="after")

    with pytest.raises(TelegramNetworkError):
        await emulated_bot.send_message(42, "did it arrive?", request_timeout=1)

    assert [r.text for r in async_emulator.sent()] == ["did it arrive?"]
