"""The gateway's side of the metrics (helpdesk/metrics.py): Bot API calls and sends."""

import time

from aiogram import Bot
from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import Response, TelegramMethod

from helpdesk import metrics
from telegram_gateway.transport import TransportError

# A failed send's reason, as a label: a few fixed words, never Telegram's text (which
# names chats and grows the series without bound). Most specific class first.
FAILURE_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (TelegramRetryAfter, "rate_limited"),
    (TelegramForbiddenError, "blocked"),
    (TelegramEntityTooLarge, "too_large"),
    (TelegramBadRequest, "bad_request"),
    (TelegramUnauthorizedError, "unauthorized"),
    (TelegramServerError, "server_error"),
    (TelegramNetworkError, "network"),
    (TelegramAPIError, "telegram_error"),
    (FileNotFoundError, "file_missing"),
    (TimeoutError, "network"),
)


def failure_reason(error: TransportError) -> str:
    """The label for what a send raised (`classify` keeps it as the error's cause)."""
    cause = error.__cause__
    for kind, reason in FAILURE_REASONS:
        if isinstance(cause, kind):
            return reason
    return "other"


def delivery_failed(error: TransportError) -> None:
    outcome = "failed" if error.permanent else "retried"
    metrics.deliveries_failed.labels(failure_reason(error), outcome).inc()


async def bot_api_measured(
    make_request: NextRequestMiddlewareType, bot: Bot, method: TelegramMethod
) -> Response:
    """A request middleware of the bot's session (`build_bot`): every call but getUpdates,
    which polling makes itself (see `polling_answered`)."""
    name = method.__api_method__
    started = time.monotonic()
    try:
        response = await make_request(bot, method)
    except TelegramRetryAfter:
        metrics.telegram_rate_limited.labels(name).inc()
        raise
    finally:
        metrics.telegram_api_seconds.labels(name).observe(time.monotonic() - started)
    metrics.telegram_api_succeeded()
    return response


def polling_answered(status: int, *, ok: bool) -> None:
    """Polling's own getUpdates call answered (the updates are counted as handled)."""
    if ok:
        metrics.telegram_api_succeeded()
    elif status == 429:
        metrics.telegram_rate_limited.labels("getUpdates").inc()
