"""Flood limits: ~1 message/s per chat with a small burst, ~30/s per bot."""

import asyncio

import pytest
from aiogram.exceptions import TelegramRetryAfter

pytestmark = pytest.mark.asyncio


async def test_rapid_sends_to_one_chat_get_retry_after(async_emulator, emulated_bot):
    async_emulator.add_user(42, "Alice")

    for _ in range(3):  # the burst goes through
        await emulated_bot.send_message(42, "spam")
    with pytest.raises(TelegramRetryAfter) as caught:
        await emulated_bot.send_message(42, "spam")

    assert caught.value.retry_after >= 1
    assert "Too Many Requests: retry after" in caught.value.message
    assert async_emulator.rate_limited == 1
    assert len(async_emulator.sent(42)) == 3


async def test_sends_spaced_a_second_apart_pass(async_emulator, emulated_bot):
    async_emulator.add_user(42, "Alice")
    for _ in range(3):  # use up the burst
        await emulated_bot.send_message(42, "burst")

    for _ in range(2):
        await asyncio.sleep(1.05)
        await emulated_bot.send_message(42, "paced")

    assert async_emulator.rate_limited == 0


async def test_thirty_per_second_across_chats_pass_and_more_does_not(async_emulator, emulated_bot):
    for user_id in range(1, 61):
        async_emulator.add_user(user_id, f"User {user_id}")

    await asyncio.gather(*(emulated_bot.send_message(u, "news") for u in range(1, 31)))
    assert async_emulator.rate_limited == 0

    more = await asyncio.gather(
        *(emulated_bot.send_message(u, "more news") for u in range(31, 61)),
        return_exceptions=True,
    )
    refused = [r for r in more if isinstance(r, TelegramRetryAfter)]
    assert refused
    assert async_emulator.rate_limited == len(refused)
    assert all(r.retry_after >= 1 for r in refused)


async def test_limits_can_be_switched_off(async_emulator, emulated_bot):
    async_emulator.add_user(42, "Alice")
    async_emulator.set_limits(enabled=False)

    for _ in range(20):
        await emulated_bot.send_message(42, "fast")

    assert async_emulator.rate_limited == 0
