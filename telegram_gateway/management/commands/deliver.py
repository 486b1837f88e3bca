import asyncio
import logging

from django.conf import settings
from django.core.management.base import BaseCommand

from conversations.events import channel_layer_prepare
from helpdesk.startup import start_up_heap_freeze
from telegram_gateway.delivery import DeliveryWorker
from telegram_gateway.management.bot_process import (
    bot_from_settings,
    start_up_refusals,
    stop_event_on_signals,
)
from telegram_gateway.transport import bot_answer_models_prepare

logger = logging.getLogger("telegram_gateway.deliver")


class Command(BaseCommand):
    help = (
        "Deliver agents' replies to Telegram, for webhook deployments (runbot already "
        "does this when polling). Stops cleanly on SIGINT/SIGTERM."
    )

    def handle(self, *args, **options):
        start_up_refusals()
        asyncio.run(self._run(bot_from_settings()))

    async def _run(self, bot) -> None:
        channel_layer_prepare()
        bot_answer_models_prepare()
        worker = DeliveryWorker(bot, stop=stop_event_on_signals())
        start_up_heap_freeze()
        logger.info("delivering replies through %s", settings.TELEGRAM_API_BASE)
        try:
            await worker.run()
        finally:
            await bot.session.close()
        logger.info("stopped after %d sent and %d failed repl(ies)", worker.sent, worker.failed)
