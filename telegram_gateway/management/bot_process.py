"""What the bot's long-running commands (runbot, deliver) share."""

import asyncio
import signal

from aiogram import Bot
from aiogram.utils.token import TokenValidationError
from django.conf import settings
from django.core.management.base import CommandError

from telegram_gateway.bot import build_bot


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
