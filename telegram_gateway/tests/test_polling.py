"""getUpdates failures as the poller meets them: what is retried and what stops it.

The real poller against the emulator over HTTP; the answers are classified in
`transport.classify_polling_answer`, the one place that reads Bot API error bodies.
"""

import asyncio
import logging

import pytest

from conversations.models import Chat
from telegram_gateway.bot import build_bot, build_dispatcher
from telegram_gateway.polling import UpdatePoller
from telegram_gateway.tests.conftest import BotThread, wait_until
from telegram_gateway.transport import FatalBotAPIError

NGINX_502 = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


def test_error_answers_to_get_updates_are_retried_and_nothing_is_lost(
    emulator, bot_token, transactional_db, caplog
):
    caplog.set_level(logging.WARNING, logger="telegram_gateway.polling")
    emulator.add_user(6001, "Ann", language_code="en")
    emulator.fail_next("getUpdates", 502, body=NGINX_502)  # a proxy's page, not JSON
    emulator.fail_next("getUpdates", 502, body="[1, 2]")  # JSON, but not an answer
    emulator.fail_next("getUpdates", 429, retry_after=1)
    emulator.inject_message(6001, "still there?")
    # Started after the failures are set: a long poll already waiting would take the
    # message before any of them.
    bot = BotThread(emulator.base_url, bot_token).start()
    try:
        chat = wait_until(lambda: Chat.objects.filter(sender_type="CLIENT").first(), timeout=20)
    finally:
        bot.stop()

    assert chat.message == "still there?"
    assert "HTTP 502, not JSON" in caplog.text
    assert "429 Too Many Requests: retry after 1" in caplog.text
    assert "retrying in 1.0 s" in caplog.text  # Telegram's retry_after, not the backoff


@pytest.mark.parametrize(
    ("status", "description", "reason"),
    [
        (401, "Unauthorized", "Telegram rejected the bot token: Unauthorized"),
        (
            409,
            "Conflict: can't use getUpdates method while webhook is active",
            "run `manage.py setwebhook --delete` to poll instead",
        ),
    ],
)
def test_a_refusal_that_retrying_cannot_fix_stops_polling_with_its_reason(
    emulator, bot_token, status, description, reason
):
    async def poll() -> None:
        bot = build_bot(bot_token, emulator.base_url)
        try:
            poller = UpdatePoller(bot, build_dispatcher(), stop=asyncio.Event(), poll_timeout=1)
            await asyncio.wait_for(poller.run(), timeout=10)
        finally:
            await bot.session.close()

    emulator.fail_next("getUpdates", status, description=description)

    with pytest.raises(FatalBotAPIError) as caught:
        asyncio.run(poll())
    assert reason in str(caught.value)
