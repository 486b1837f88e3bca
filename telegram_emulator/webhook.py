"""Webhook delivery: POST each pending update in order until the receiver answers 2xx.

Like Telegram, an update stays pending (and counts in getWebhookInfo) until delivered; a
failure is recorded as last_error_date/last_error_message and retried with backoff. A 2xx
answer whose JSON body names a ``method`` is executed, as Telegram does for webhook replies.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

import aiohttp

from .errors import BotAPIError
from .registry import lookup
from .wire import Params

if TYPE_CHECKING:
    from .core import EmulatorCore
    from .records import BotRecord, WebhookConfig

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


def ensure_worker(emu: EmulatorCore, bot: BotRecord) -> None:
    """Start the bot's delivery task on the running loop unless one is alive."""
    config = bot.webhook
    if config is None or (config.task is not None and not config.task.done()):
        return
    config.task = asyncio.get_running_loop().create_task(_deliver_forever(emu, bot))


def stop_worker(config: WebhookConfig) -> None:
    if config.task is not None and not config.task.done():
        config.task.cancel()


async def _deliver_forever(emu: EmulatorCore, bot: BotRecord) -> None:
    loop = asyncio.get_running_loop()
    backoff = emu.webhook_retry_base
    me = asyncio.current_task()
    while True:
        with emu.lock:
            config = bot.webhook
            if config is None or config.task is not me:
                return
            update = bot.updates[0] if bot.updates else None
            if update is None:
                wakeup: asyncio.Future[str] = loop.create_future()
                bot.listeners.add(wakeup)
        if update is None:
            await wakeup
            continue
        error, reply = await _post(emu, config, update)
        if error is None:
            with emu.lock:
                if bot.updates and bot.updates[0] is update:
                    bot.updates.popleft()
                emu.webhook_deliveries += 1
            backoff = emu.webhook_retry_base
            if reply is not None:
                await _run_reply(emu, bot, reply)
            continue
        with emu.lock:
            config.last_error_date = emu.now()
            config.last_error_message = error
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, emu.webhook_retry_max)


async def _post(
    emu: EmulatorCore, config: WebhookConfig, update: dict[str, Any]
) -> tuple[str | None, dict[str, Any] | None]:
    """Deliver one update; return (error message or None, method reply or None)."""
    headers = {"Content-Type": "application/json"}
    if config.secret_token:
        headers[SECRET_HEADER] = config.secret_token
    session = emu.http_client
    if session is None:
        return "Emulator HTTP client is not running", None
    try:
        async with session.post(
            config.url,
            data=json.dumps(update, ensure_ascii=False).encode(),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=emu.webhook_timeout),
            allow_redirects=False,
        ) as response:
            body = await response.read()
            if not 200 <= response.status < 300:
                return f"Wrong response from the webhook: {response.status} {response.reason}", None
    except TimeoutError:
        return "Read timeout expired", None
    except aiohttp.ClientConnectorError:
        return "Connection refused", None
    except aiohttp.ClientError as exc:
        return f"Connection error: {type(exc).__name__}", None
    try:
        reply = json.loads(body) if body else None
    except ValueError:
        return None, None
    return None, reply if isinstance(reply, dict) and "method" in reply else None


async def _run_reply(emu: EmulatorCore, bot: BotRecord, reply: dict[str, Any]) -> None:
    """Execute a method returned in the webhook answer; its result goes nowhere."""
    params = {k: v for k, v in reply.items() if k != "method"}
    method = lookup(str(reply["method"]))
    if method is None:
        return
    emu.count_request(method.name)
    try:
        result = method.handler(emu, bot, Params(params, {}))
        if method.is_async:
            await result
    except BotAPIError as exc:
        emu.count_error(exc.error_code)
        log.info("webhook reply %s failed: %s", method.name, exc.description)
