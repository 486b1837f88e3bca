"""Every bot process keeps the shared transport status current (telegram_gateway/status.py).

It writes what this process saw of Telegram every few seconds, and one process a minute
asks Telegram for the webhook's state (getWebhookInfo), which says whether Telegram
reaches the webhook and how many updates wait: in polling mode too, where a growing
count means nobody polls.
"""

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.utils.token import TokenValidationError
from django.conf import settings
from django.utils.translation import gettext as _

from helpdesk import metrics
from telegram_gateway import status
from telegram_gateway.bot import ALLOWED_UPDATES, build_bot
from telegram_gateway.db import TRANSIENT_DATABASE_ERRORS, call_service

logger = logging.getLogger(__name__)

WRITE_EVERY = 5.0  # seconds: the panel is about minutes, not milliseconds


def _when(timestamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else None


class _SeenWriter:
    """Writes this process's newest update and successful Bot API call when one is new,
    at most every WRITE_EVERY seconds: daphne calls it per webhook update."""

    def __init__(self) -> None:
        self.written: tuple[float | None, float | None] = (None, None)
        self.written_at = float("-inf")

    async def __call__(self) -> None:
        seen = (metrics.last_update_received_at, metrics.last_api_success_at)
        if seen == self.written or time.monotonic() - self.written_at < WRITE_EVERY:
            return
        self.written_at = time.monotonic()
        await call_service(
            status.transport_seen, update_at=_when(seen[0]), api_success_at=_when(seen[1])
        )
        self.written = seen


transport_seen_write = _SeenWriter()


async def transport_watch(bot: Bot, stop: asyncio.Event) -> None:
    """Run until `stop`: a database or Bot API outage is logged and tried again."""
    while not stop.is_set():
        try:
            await transport_seen_write()
            if await call_service(status.webhook_check_claim):
                await _check_webhook(bot)
                await call_service(status.delivery_failures_prune)
        except TRANSIENT_DATABASE_ERRORS as error:
            logger.warning("cannot write the transport status (%s)", error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=WRITE_EVERY)


async def _check_webhook(bot: Bot) -> None:
    try:
        info = await bot.get_webhook_info()
    except Exception as error:  # Telegram unreachable: the silence itself is a warning
        logger.warning("cannot ask Telegram for the webhook's state: %r", error)
        return
    await _webhook_info_record(info)


async def _webhook_info_record(info) -> None:
    await call_service(
        status.webhook_info_record,
        url=info.url or "",
        pending_update_count=info.pending_update_count or 0,
        last_error_at=info.last_error_date,
        last_error_message=info.last_error_message or "",
    )


class WebhookRegisterError(Exception):
    """Why the webhook could not be registered, in words for the operator."""


async def webhook_register(url: str = "", *, drop_pending_updates: bool = False) -> str:
    """Register the webhook at `url` (else TELEGRAM_WEBHOOK_URL, else the address Telegram
    has now) with TELEGRAM_WEBHOOK_SECRET; return the address Telegram now uses."""
    if not settings.TELEGRAM_BOT_TOKEN:
        raise WebhookRegisterError(_("TELEGRAM_BOT_TOKEN is not set."))
    if not settings.TELEGRAM_WEBHOOK_SECRET:
        raise WebhookRegisterError(
            _("TELEGRAM_WEBHOOK_SECRET is not set: the endpoint refuses updates without it.")
        )
    if not url:
        url = settings.TELEGRAM_WEBHOOK_URL or await call_service(status.webhook_url_known)
    if not url:
        raise WebhookRegisterError(_("No webhook address is known: set TELEGRAM_WEBHOOK_URL."))
    try:
        bot = build_bot()
    except TokenValidationError as error:
        raise WebhookRegisterError(
            _("TELEGRAM_BOT_TOKEN is malformed: %(error)s") % {"error": error}
        ) from None
    try:
        await bot.set_webhook(
            url,
            secret_token=settings.TELEGRAM_WEBHOOK_SECRET,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=drop_pending_updates,
        )
        info = await bot.get_webhook_info()
    except (TelegramAPIError, TelegramNetworkError) as error:
        raise WebhookRegisterError(_("Telegram refused: %(error)s") % {"error": error}) from None
    finally:
        await bot.session.close()
    await _webhook_info_record(info)
    return info.url
