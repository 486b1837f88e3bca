"""System checks for Telegram settings that would fail only once traffic arrives."""

import re

from django.conf import settings
from django.core.checks import Error, register

SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")


@register()
def check_webhook_secret(app_configs, **kwargs):
    secret = settings.TELEGRAM_WEBHOOK_SECRET
    if secret and not SECRET_PATTERN.fullmatch(secret):
        return [
            Error(
                "TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -.",
                hint="Telegram refuses other secrets in setWebhook.",
                id="telegram_gateway.E001",
            )
        ]
    return []


@register()
def check_bot_token(app_configs, **kwargs):
    token = settings.TELEGRAM_BOT_TOKEN
    if token and not re.fullmatch(r"\d+:[\w-]+", token):
        return [
            Error(
                "TELEGRAM_BOT_TOKEN does not look like a bot token (digits:text).",
                id="telegram_gateway.E002",
            )
        ]
    return []
