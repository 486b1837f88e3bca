import asyncio

from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from telegram_gateway.management.bot_process import (
    bot_from_settings,
    bot_run,
    start_up_refusals,
    stop_event_on_signals,
)
from telegram_gateway.transport import FatalBotAPIError


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
        start_up_refusals()
        asyncio.run(self._run(bot_from_settings(), poll_timeout))

    async def _run(self, bot, poll_timeout: int) -> None:
        try:
            await bot_run(bot, stop=stop_event_on_signals(), poll_timeout=poll_timeout)
        except TelegramUnauthorizedError:
            raise CommandError("Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized).") from None
        except TelegramNetworkError as error:
            raise CommandError(
                f"Cannot reach the Bot API at {settings.TELEGRAM_API_BASE}: {error}"
            ) from None
        except FatalBotAPIError as error:
            raise CommandError(str(error)) from None
        finally:
            await bot.session.close()
