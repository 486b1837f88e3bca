import asyncio
import logging
import signal

from aiogram.utils.token import TokenValidationError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from telegram_gateway.bot import build_bot
from telegram_gateway.delivery import DeliveryWorker

logger = logging.getLogger("telegram_gateway.deliver")


class Command(BaseCommand):
    help = (
        "Deliver agents' replies to Telegram, for webhook deployments (runbot already "
        "does this when polling). Stops cleanly on SIGINT/SIGTERM."
    )

    def handle(self, *args, **options):
        if not settings.TELEGRAM_BOT_TOKEN:
            raise CommandError("TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather.")
        try:
            bot = build_bot()
        except TokenValidationError as error:
            raise CommandError(f"TELEGRAM_BOT_TOKEN is malformed: {error}") from None
        asyncio.run(self._run(bot))

    async def _run(self, bot) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        worker = DeliveryWorker(bot, stop=stop)
        logger.info("delivering replies through %s", settings.TELEGRAM_API_BASE)
        try:
            await worker.run()
        finally:
            await bot.session.close()
        logger.info("stopped after %d sent and %d failed repl(ies)", worker.sent, worker.failed)
