"""What the bot's long-running commands (runbot, deliver, serve) share."""

import asyncio
import logging
import signal

from aiogram import Bot
from aiogram.utils.token import TokenValidationError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError

from conversations.events import channel_layer_prepare
from conversations.services import queue_drain
from helpdesk.startup import start_up_heap_freeze, start_up_refuse_seed_passwords
from telegram_gateway.bot import build_bot, build_dispatcher
from telegram_gateway.db import TRANSIENT_DATABASE_ERRORS, call_service
from telegram_gateway.delivery import DeliveryWorker
from telegram_gateway.polling import UpdatePoller
from telegram_gateway.transport import bot_answer_models_prepare

logger = logging.getLogger("telegram_gateway.bot")


def start_up_refusals() -> None:
    """Stop the command with one line where helpdesk.startup refuses to start (DEBUG off
    and an account with a sample password, unless ALLOW_SEED_PASSWORDS)."""
    try:
        start_up_refuse_seed_passwords()
    except ImproperlyConfigured as error:
        raise CommandError(str(error)) from None


def bot_from_settings() -> Bot:
    """Return the configured bot, or stop the command with one clear line."""
    if not settings.TELEGRAM_BOT_TOKEN:
        raise CommandError("TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather.")
    try:
        return build_bot()
    except TokenValidationError as error:
        raise CommandError(f"TELEGRAM_BOT_TOKEN is malformed: {error}") from None


def stop_event_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, so the command finishes its work and exits."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def bot_run(bot: Bot, *, stop: asyncio.Event, poll_timeout: int) -> None:
    """Poll for updates and deliver replies until `stop` is set: runbot's and serve's bot.

    Raises what the caller must report: TelegramUnauthorizedError or TelegramNetworkError
    from the first call, FatalBotAPIError (transport) when Telegram refuses polling.
    """
    channel_layer_prepare()
    bot_answer_models_prepare()
    me = await bot.get_me()
    server = bot.session.api.base.removesuffix("/bot{token}/{method}")
    logger.info("bot @%s is running: long polling %s", me.username, server)
    await _drain_queue()
    poller = UpdatePoller(bot, build_dispatcher(), stop=stop, poll_timeout=poll_timeout)
    worker = DeliveryWorker(bot, stop=stop)
    start_up_heap_freeze()
    delivering = asyncio.create_task(worker.run())
    try:
        await poller.run()
    finally:
        stop.set()
        await delivering
    logger.info(
        "bot @%s stopped after %d update(s) and %d sent repl(ies)",
        me.username,
        poller.handled,
        worker.sent,
    )


async def _drain_queue() -> None:
    # Capacity may have grown while the bot was down (a raised cap, agents online).
    try:
        assigned = await call_service(queue_drain)
    except TRANSIENT_DATABASE_ERRORS as error:
        logger.warning("could not check the waiting queue at start: %s", error)
        return
    if assigned:
        logger.info("assigned %d waiting session(s) at start", len(assigned))
