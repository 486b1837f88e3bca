"""Health checks for load balancers and orchestrators: `/healthz` and `/readyz`.

`/healthz` (liveness) answers as long as the process serves requests and touches nothing
else, so a database outage never gets every web process restarted. `/readyz` (readiness)
checks what a request needs: the database, Redis, the channel layer, and the Bot API.

The project package sits above the apps, but the Telegram check imports the gateway only
inside its function: aiogram and the gateway's services are not loaded for the checks
that do not need them, and the other checks stay usable on their own.

Reasons in the answer are short and fixed (an exception's class, "timed out"), never an
exception's text: that may name hosts, a Redis password in a URL, or the bot token.
"""

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0  # seconds each check may take; probes usually time out at 5 s
TELEGRAM_CHECK_TTL = 30.0  # seconds a getMe answer is reused, so probes don't hammer Telegram


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome: whether it passed, and the word or short reason shown."""

    ok: bool
    detail: str

    @classmethod
    def failed(cls, error: BaseException) -> "CheckResult":
        if isinstance(error, TimeoutError):
            return cls(False, "timed out")
        return cls(False, f"unavailable ({type(error).__name__})")


OK = CheckResult(True, "ok")


def _database_select_one() -> None:
    # Django's request_started already closed an unusable or expired connection (and
    # CONN_HEALTH_CHECKS pings a kept one), in this request's thread, where this runs.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def database_check() -> CheckResult:
    """Run `SELECT 1` on the default database, giving up after CHECK_TIMEOUT.

    A connect that hangs (a firewall dropping packets) keeps its thread until the driver
    gives up; the answer does not wait for it.
    """
    try:
        await asyncio.wait_for(sync_to_async(_database_select_one)(), CHECK_TIMEOUT)
    except Exception as error:  # any failure means not ready
        return CheckResult.failed(error)
    return OK


async def redis_check() -> CheckResult:
    """PING the Redis at REDIS_URL; without REDIS_URL there is none to check."""
    if not settings.REDIS_URL:
        return CheckResult(True, "not configured")
    from redis.asyncio import Redis

    client = Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT
    )
    try:
        await asyncio.wait_for(client.ping(), CHECK_TIMEOUT)
    except Exception as error:
        return CheckResult.failed(error)
    finally:
        await client.aclose()
    return OK


async def channel_layer_check() -> CheckResult:
    """Send a message to a fresh channel and receive it back: what every push relies on."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return CheckResult(False, "not configured")
    nonce = uuid.uuid4().hex

    async def round_trip() -> bool:
        channel = await layer.new_channel("health.")
        await layer.send(channel, {"type": "health.ping", "nonce": nonce})
        return (await layer.receive(channel)).get("nonce") == nonce

    try:
        echoed = await asyncio.wait_for(round_trip(), CHECK_TIMEOUT)
    except Exception as error:
        return CheckResult.failed(error)
    return OK if echoed else CheckResult(False, "wrong message back")


_telegram_cache: dict[tuple[str, str], tuple[float, CheckResult]] = {}


def telegram_cache_clear() -> None:
    """Forget remembered getMe answers (tests; a changed token is a new key anyway)."""
    _telegram_cache.clear()


async def _telegram_get_me(api_base: str, token: str) -> CheckResult:
    # Imported here: see the module's docstring.
    from aiogram.exceptions import (
        TelegramNetworkError,
        TelegramServerError,
        TelegramUnauthorizedError,
    )
    from aiogram.utils.token import TokenValidationError

    from telegram_gateway.bot import build_bot

    try:
        bot = build_bot(token, api_base)
    except TokenValidationError:
        return CheckResult(False, "token malformed")
    try:
        await asyncio.wait_for(bot.get_me(request_timeout=int(CHECK_TIMEOUT)), CHECK_TIMEOUT + 1)
    except TelegramUnauthorizedError:
        return CheckResult(False, "token rejected")
    except TelegramServerError:
        return CheckResult(False, "server error")
    except TelegramNetworkError:
        return CheckResult(False, "unreachable")
    except Exception as error:
        return CheckResult.failed(error)
    finally:
        await bot.session.close()
    return OK


async def telegram_check() -> CheckResult:
    """Ask the configured Bot API `getMe`, at most once per TELEGRAM_CHECK_TTL.

    Without a token the web app has no bot of its own to check: `serve` then plays
    Telegram with its in-process emulator (SANDBOX), or there is no bot at all.
    """
    token = settings.TELEGRAM_BOT_TOKEN
    if not token:
        return CheckResult(True, "sandbox" if settings.SANDBOX else "not configured")
    key = (settings.TELEGRAM_API_BASE, token)
    cached = _telegram_cache.get(key)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    result = await _telegram_get_me(*key)
    _telegram_cache[key] = (time.monotonic() + TELEGRAM_CHECK_TTL, result)
    return result


async def readiness() -> dict[str, CheckResult]:
    """Run every readiness check at once; the slowest bounds the answer's time."""
    names = ("database", "redis", "channel_layer", "telegram")
    results = await asyncio.gather(
        database_check(), redis_check(), channel_layer_check(), telegram_check()
    )
    return dict(zip(names, results, strict=True))


# Probes send no cookie and no CSRF token; an answer must never come from a cache.
@csrf_exempt
@never_cache
@require_safe
async def healthz(request: HttpRequest) -> HttpResponse:
    """Answer `ok`: the process is up. Touches no database, cache or session."""
    return HttpResponse("ok", content_type="text/plain")


@csrf_exempt
@never_cache
@require_safe
async def readyz(request: HttpRequest) -> JsonResponse:
    """Answer 200 when every dependency works, else 503; the body says which did not."""
    results = await readiness()
    failed = {name: r.detail for name, r in results.items() if not r.ok}
    if failed:
        logger.warning("not ready: %s", ", ".join(f"{n} {d}" for n, d in failed.items()))
    body = {name: result.detail for name, result in results.items()}
    return JsonResponse(body, status=503 if failed else 200)
