"""The webhook endpoint: Telegram POSTs updates here when `setwebhook` registered it."""

import asyncio
import json
import logging
import secrets
import weakref
from functools import cache

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from pydantic import ValidationError

from telegram_gateway.bot import build_bot, build_dispatcher
from telegram_gateway.db import TRANSIENT_DATABASE_ERRORS

logger = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


_bots: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Bot]" = weakref.WeakKeyDictionary()


@cache
def webhook_dispatcher() -> Dispatcher:
    return build_dispatcher()


def webhook_bot() -> Bot:
    """One bot per event loop: its HTTP session cannot cross loops (daphne has one; WSGI many)."""
    loop = asyncio.get_running_loop()
    if loop not in _bots:
        _bots[loop] = build_bot()
    return _bots[loop]


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"ok": False, "error": message}, status=status)


@csrf_exempt  # Telegram cannot send a CSRF token; the secret header authenticates it.
@require_POST
async def telegram_webhook(request: HttpRequest) -> JsonResponse:
    expected = settings.TELEGRAM_WEBHOOK_SECRET
    given = request.headers.get(SECRET_HEADER, "")
    # Checked before anything touches the database or parses the body.
    if not expected or not secrets.compare_digest(given.encode(), expected.encode()):
        return _error(403, "wrong or missing secret token")
    if not settings.TELEGRAM_BOT_TOKEN:
        return _error(503, "TELEGRAM_BOT_TOKEN is not configured")
    bot, dispatcher = webhook_bot(), webhook_dispatcher()
    try:
        update = Update.model_validate(json.loads(request.body), context={"bot": bot})
    except (ValueError, ValidationError) as error:
        logger.error("malformed webhook update refused: %s", error)
        return _error(400, "malformed update")
    try:
        await dispatcher.feed_update(bot, update)
    except TRANSIENT_DATABASE_ERRORS as error:
        # Not stored: a non-2xx answer makes Telegram deliver the update again later.
        logger.warning("database unavailable for update %s: %s", update.update_id, error)
        return _error(503, "temporarily unavailable, retry later")
    except Exception:
        # Redelivering would fail the same way and hold up every later update.
        logger.exception("update %s failed and was skipped", update.update_id)
    return JsonResponse({"ok": True})
