import asyncio
import logging

from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from conversations.services import queue_drain
from telegram_gateway.bot import build_dispatcher
from telegram_gateway.db import TRANSIENT_DATABASE_ERRORS, call_service
from telegram_gateway.delivery import DeliveryWorker
from telegram_gateway.management.bot_process import bot_from_settings, stop_event_on_signals
from telegram_gateway.polling import FatalBotAPIError, UpdatePoller

logger = logging.getLogger("telegram_gateway.runbot")


class Command(BaseCommand):
    help = (
        "Run the Telegram bot by long polling TELEGRAM_API_BASE with TELEGRAM_BOT_TOKEN, "
        "and deliver agents' replies. Stops cleanly on SIGINT/SIGTERM."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--poll-timeout",
            type=int,
            default=settings.TELEGRAM_POLL_TIMEOUT,
            help="Seconds one getUpdates long poll waits (default: TELEGRAM_POLL_TIMEOUT).",
        )

    def handle(self, *args, poll_timeout, **options):
        asyncio.run(self._run(bot_from_settings(), poll_timeout))

    async def _run(self, bot, poll_timeout: int) -> None:
        stop = stop_event_on_signals()
        try:
            try:
                me = await bot.get_me()
            except TelegramUnauthorizedError:
                raise CommandError(
                    "Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized)."
                ) from None
            except TelegramNetworkError as error:
                raise CommandError(
                    f"Cannot reach the Bot API at {settings.TELEGRAM_API_BASE}: {error}"
                ) from None
            logger.info(
                "bot @%s is running: long polling %s", me.username, settings.TELEGRAM_API_BASE
            )
            await self._drain_queue()
            poller = UpdatePoller(bot, build_dispatcher(), stop=stop, poll_timeout=poll_timeout)
            worker = DeliveryWorker(bot, stop=stop)
            delivering = asyncio.create_task(worker.run())
            try:
                await poller.run()
            except FatalBotAPIError as error:
                raise CommandError(str(error)) from None
            finally:
                stop.set()
                await delivering
            logger.info(
                "bot @%s stopped after %d update(s) and %d sent repl(ies)",
                me.username,
                poller.handled,
                worker.sent,
            )
        finally:
            await bot.session.close()

    async def _drain_queue(self) -> None:
        # Capacity may have grown while the bot was down (a raised cap, agents online).
        try:
            assigned = await call_service(queue_drain)
        except TRANSIENT_DATABASE_ERRORS as error:
            logger.warning("could not check the waiting queue at start: %s", error)
            return
        if assigned:
            logger.info("assigned %d waiting session(s) at start", len(assigned))
