from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelegramGatewayConfig(AppConfig):
    name = "telegram_gateway"
    verbose_name = _("Telegram gateway")

    def ready(self) -> None:
        from telegram_gateway import checks  # noqa: F401  (registers the system checks)
