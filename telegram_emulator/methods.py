"""Bot API methods that are not sends: identity, updates, webhooks, files, commands."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from typing import Any

from . import errors, webhook
from .core import EmulatorCore
from .files import DOWNLOAD_LIMIT
from .records import BotRecord, WebhookConfig
from .registry import Described, api_method
from .wire import Params

WEBHOOK_CONFLICT = (
    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
    "webhook first"
)
POLL_CONFLICT = (
    "terminated by other getUpdates request; make sure that only one bot instance is running"
)
MAX_POLL_TIMEOUT = 50  # Telegram answers long polls after at most ~50 s
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]+$")


@api_method("getMe")
def get_me(emu: EmulatorCore, bot: BotRecord, p: Params) -> dict[str, Any]:
    return {
        **bot.as_user(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@api_method("logOut")
def log_out(emu: EmulatorCore, bot: BotRecord, p: Params) -> bool:
    return True


@api_method("close")
def close(emu: EmulatorCore, bot: BotRecord, p: Params) -> bool:
    return True


# --- getUpdates ----------------------------------------------------------------------------


def _update_id(update: dict[str, Any]) -> int:
    value = update.get("update_id")
    return value if isinstance(value, int) else -1


def _confirm(bot: BotRecord, offset: int) -> None:
    """Forget updates below ``offset``; a negative offset keeps only the last -offset."""
    if offset < 0:
        while len(bot.updates) > -offset:
            bot.updates.popleft()
        return
    while bot.updates and _update_id(bot.updates[0]) < offset:
        bot.updates.popleft()


def set_allowed_updates(bot: BotRecord, allowed: Any) -> None:
    """Remember allowed_updates and drop queued updates the bot no longer wants."""
    if allowed is None:
        return
    if not isinstance(allowed, list) or not all(isinstance(x, str) for x in allowed):
        raise errors.bad_request("can't parse allowed updates")
    bot.allowed_updates = allowed
    kept = [u for u in bot.updates if bot.allows(u)]
    bot.updates.clear()
    bot.updates.extend(kept)


@api_method("getUpdates")
async def get_updates(emu: EmulatorCore, bot: BotRecord, p: Params) -> list[dict[str, Any]]:
    """Answer at once when updates are queued, else hold the request up to ``timeout``."""
    offset = p.integer("offset")
    limit = min(max(p.integer("limit", 100) or 100, 1), 100)
    timeout = min(max(p.number("timeout", 0) or 0, 0), MAX_POLL_TIMEOUT)
    allowed = p.json("allowed_updates")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    with emu.lock:
        if bot.webhook is not None:
            raise errors.conflict(WEBHOOK_CONFLICT)
        set_allowed_updates(bot, allowed)
        if offset is not None:
            _confirm(bot, offset)
        previous, bot.poller = bot.poller, None
    if previous is not None and not previous.done():
        previous.set_result("conflict")  # Telegram lets only the newest getUpdates wait
    while True:
        with emu.lock:
            if bot.webhook is not None:
                raise errors.conflict(WEBHOOK_CONFLICT)
            batch = list(itertools.islice(bot.updates, limit))
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or emu.stopping:
                return batch
            future: asyncio.Future[str] = loop.create_future()
            bot.poller = future
            bot.listeners.add(future)
        try:
            await asyncio.wait({future}, timeout=remaining)
        finally:
            with emu.lock:
                bot.listeners.discard(future)
                if bot.poller is future:
                    bot.poller = None
        if future.done() and future.result() == "conflict":
            raise errors.conflict(POLL_CONFLICT)


# --- webhooks ------------------------------------------------------------------------------


@api_method("setWebhook")
def set_webhook(emu: EmulatorCore, bot: BotRecord, p: Params) -> Described:
    url = p.string("url") or ""
    if not url:
        return delete_webhook(emu, bot, p)
    if not re.match(r"^https?://[^/\s]+", url):
        raise errors.bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = p.string("secret_token")
    if secret is not None:
        if len(secret) > 256:
            raise errors.bad_request("secret token is too long")
        if not SECRET_RE.match(secret):
            raise errors.bad_request("secret token contains unallowed characters")
    max_connections = p.integer("max_connections", 40) or 40
    if not 1 <= max_connections <= 100:
        raise errors.bad_request("bad webhook: max_connections must be between 1 and 100")
    with emu.lock:
        set_allowed_updates(bot, p.json("allowed_updates"))
        if p.flag("drop_pending_updates"):
            bot.updates.clear()
        previous = bot.webhook
        unchanged = previous is not None and previous.url == url
        config = WebhookConfig(
            url=url,
            secret_token=secret,
            max_connections=max_connections,
            ip_address=p.string("ip_address"),
            has_custom_certificate="certificate" in p,
        )
        if previous is not None:
            config.task = previous.task
            if unchanged:
                config.last_error_date = previous.last_error_date
                config.last_error_message = previous.last_error_message
        bot.webhook = config
    emu.wake(bot, "webhook")  # a waiting getUpdates must give way
    webhook.ensure_worker(emu, bot)
    return Described(True, "Webhook is already set" if unchanged else "Webhook was set")


@api_method("deleteWebhook")
def delete_webhook(emu: EmulatorCore, bot: BotRecord, p: Params) -> Described:
    with emu.lock:
        config, bot.webhook = bot.webhook, None
        if p.flag("drop_pending_updates"):
            bot.updates.clear()
    if config is None:
        return Described(True, "Webhook is already deleted")
    webhook.stop_worker(config)
    return Described(True, "Webhook was deleted")


@api_method("getWebhookInfo")
def get_webhook_info(emu: EmulatorCore, bot: BotRecord, p: Params) -> dict[str, Any]:
    with emu.lock:
        config = bot.webhook
        info: dict[str, Any] = {
            "url": config.url if config else "",
            "has_custom_certificate": bool(config and config.has_custom_certificate),
            "pending_update_count": len(bot.updates),
        }
        if config is not None:
            info["max_connections"] = config.max_connections
            if config.ip_address:
                info["ip_address"] = config.ip_address
            if config.last_error_date is not None:
                info["last_error_date"] = config.last_error_date
                info["last_error_message"] = config.last_error_message
            if bot.allowed_updates:
                info["allowed_updates"] = list(bot.allowed_updates)
        return info


# --- files ---------------------------------------------------------------------------------


@api_method("getFile")
def get_file(emu: EmulatorCore, bot: BotRecord, p: Params) -> dict[str, Any]:
    file_id = p.string("file_id")
    if not file_id:
        raise errors.bad_request("file_id not specified")
    with emu.lock:
        stored = emu.files.get(file_id)
        if stored is None:
            raise errors.bad_request("wrong file_id or the file is temporarily unavailable")
        if stored.size > DOWNLOAD_LIMIT:
            raise errors.bad_request("file is too big")
        path = emu.files.assign_path(stored)
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": path,
        }


# --- commands and chats --------------------------------------------------------------------


def _commands_key(p: Params) -> str:
    scope = p.json("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True) + "|" + (p.string("language_code") or "")


@api_method("setMyCommands")
def set_my_commands(emu: EmulatorCore, bot: BotRecord, p: Params) -> bool:
    commands = p.json("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise errors.bad_request("can't parse commands JSON object")
    for command in commands:
        name = command.get("command", "") if isinstance(command, dict) else ""
        if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
            raise errors.bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(command.get("description", "")) <= 256:
            raise errors.bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    with emu.lock:
        bot.commands[_commands_key(p)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
    return True


@api_method("getMyCommands")
def get_my_commands(emu: EmulatorCore, bot: BotRecord, p: Params) -> list[dict[str, Any]]:
    with emu.lock:
        return list(bot.commands.get(_commands_key(p), []))


@api_method("deleteMyCommands")
def delete_my_commands(emu: EmulatorCore, bot: BotRecord, p: Params) -> bool:
    with emu.lock:
        bot.commands.pop(_commands_key(p), None)
    return True


@api_method("getChat")
def get_chat(emu: EmulatorCore, bot: BotRecord, p: Params) -> dict[str, Any]:
    _, chat = emu.resolve_chat(p.raw("chat_id"))
    return {
        **chat,
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": True,
            "limited_gifts": True,
            "unique_gifts": True,
            "premium_subscription": True,
            "gifts_from_channels": True,
        },
    }
