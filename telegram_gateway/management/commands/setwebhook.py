import asyncio

from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from telegram_gateway.bot import ALLOWED_UPDATES
from telegram_gateway.management.bot_process import bot_from_settings


class Command(BaseCommand):
    help = (
        "Register the webhook: Telegram will POST updates to URL (ending in /telegram/webhook/) "
        "with TELEGRAM_WEBHOOK_SECRET. --delete goes back to polling (runbot)."
    )

    def add_arguments(self, parser):
        parser.add_argument("url", nargs="?", help="public HTTPS address of /telegram/webhook/")
        parser.add_argument("--delete", action="store_true", help="remove the webhook")
        parser.add_argument(
            "--drop-pending-updates", action="store_true", help="discard undelivered updates"
        )

    def handle(self, *args, url, delete, drop_pending_updates, **options):
        if not delete and not url:
            raise CommandError("Give the webhook URL, or --delete.")
        if not delete and not settings.TELEGRAM_WEBHOOK_SECRET:
            raise CommandError(
                "TELEGRAM_WEBHOOK_SECRET is not set: the endpoint refuses updates without it."
            )
        bot = bot_from_settings()
        try:
            info = asyncio.run(self._apply(bot, url, delete, drop_pending_updates))
        except (TelegramAPIError, TelegramNetworkError) as error:
            raise CommandError(f"Telegram refused: {error}") from None
        if delete:
            self.stdout.write("Webhook removed; run `manage.py runbot` to poll.")
        else:
            self.stdout.write(
                f"Webhook set to {info.url} ({info.pending_update_count} update(s) pending)."
            )

    async def _apply(self, bot, url, delete, drop_pending_updates):
        try:
            if delete:
                await bot.delete_webhook(drop_pending_updates=drop_pending_updates)
            else:
                await bot.set_webhook(
                    url,
                    secret_token=settings.TELEGRAM_WEBHOOK_SECRET,
                    allowed_updates=ALLOWED_UPDATES,
                    drop_pending_updates=drop_pending_updates,
                )
            return await bot.get_webhook_info()
        finally:
            await bot.session.close()
