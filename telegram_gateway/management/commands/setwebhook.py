import asyncio

from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from django.core.management.base import BaseCommand, CommandError

from telegram_gateway.management.bot_process import bot_from_settings
from telegram_gateway.watch import WebhookRegisterError, webhook_register


class Command(BaseCommand):
    help = (
        "Register the webhook: Telegram will POST updates to URL (ending in /telegram/webhook/, "
        "default TELEGRAM_WEBHOOK_URL) with TELEGRAM_WEBHOOK_SECRET. --delete goes back to "
        "polling (runbot)."
    )

    def add_arguments(self, parser):
        parser.add_argument("url", nargs="?", help="public HTTPS address of /telegram/webhook/")
        parser.add_argument("--delete", action="store_true", help="remove the webhook")
        parser.add_argument(
            "--drop-pending-updates", action="store_true", help="discard undelivered updates"
        )

    def handle(self, *args, url, delete, drop_pending_updates, **options):
        if delete:
            self._delete(drop_pending_updates)
            self.stdout.write("Webhook removed; run `manage.py runbot` to poll.")
            return
        try:
            url = asyncio.run(
                webhook_register(url or "", drop_pending_updates=drop_pending_updates)
            )
        except WebhookRegisterError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Webhook set to {url}.")

    def _delete(self, drop_pending_updates: bool) -> None:
        bot = bot_from_settings()

        async def delete() -> None:
            try:
                await bot.delete_webhook(drop_pending_updates=drop_pending_updates)
            finally:
                await bot.session.close()

        try:
            asyncio.run(delete())
        except (TelegramAPIError, TelegramNetworkError) as error:
            raise CommandError(f"Telegram refused: {error}") from None
