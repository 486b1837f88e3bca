"""Shared state and the lock that makes it safe across the test thread and the server loop.

Every method here is synchronous and short: HTTP handlers on the event loop and control
calls from a test thread both take ``self.lock`` briefly and never across an ``await``.
Waiters (long polls, webhook workers) are woken on the loop via ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import Counter
from typing import Any

import aiohttp

from . import errors
from .files import FileStore
from .limits import LimitSettings, RateLimiter
from .records import (
    BotRecord,
    Delay,
    Fault,
    GroupRecord,
    SentRecord,
    UserRecord,
)

TOKEN_RE = re.compile(r"^(\d+):([A-Za-z0-9_-]+)$")


class EmulatorCore:
    """The emulated Telegram: bots, users, chats, files, updates, and what bots sent."""

    def __init__(
        self,
        *,
        accept_any_token: bool = False,
        limits_enabled: bool = True,
        limits: LimitSettings | None = None,
        webhook_timeout: float = 10.0,
        webhook_retry_base: float = 0.1,
        webhook_retry_max: float = 5.0,
    ) -> None:
        self.lock = threading.RLock()
        self.accept_any_token = accept_any_token
        self.limits_enabled = limits_enabled
        self.limiter = RateLimiter(limits or LimitSettings())
        self.webhook_timeout = webhook_timeout
        self.webhook_retry_base = webhook_retry_base
        self.webhook_retry_max = webhook_retry_max
        self.bots: dict[str, BotRecord] = {}
        self.users: dict[int, UserRecord] = {}
        self.groups: dict[int, GroupRecord] = {}
        self.blocked: set[int] = set()
        self.files = FileStore()
        self.records: list[SentRecord] = []
        self.sent_changed = threading.Condition(self.lock)  # notified on every record
        self.faults: list[Fault] = []
        self.delays: dict[str, Delay] = {}
        self.request_counts: Counter[str] = Counter()
        self.error_counts: Counter[int] = Counter()
        self.rate_limited_count = 0
        self.webhook_deliveries = 0
        self.callback_queries: dict[str, dict[str, Any]] = {}
        self.http_client: aiohttp.ClientSession | None = None  # for webhook deliveries
        self.stopping = False  # set by stop(): long polls answer at once
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    # --- bots ----------------------------------------------------------------------------

    def add_bot(
        self, token: str, *, username: str | None = None, first_name: str | None = None
    ) -> dict[str, Any]:
        """Register a bot token; return its User object (what getMe answers)."""
        match = TOKEN_RE.match(token)
        if not match:
            raise ValueError(f"a bot token looks like '<digits>:<text>', got {token!r}")
        bot_id = int(match.group(1))
        with self.lock:
            bot = self.bots.get(token)
            if bot is None:
                bot = BotRecord(
                    token=token,
                    id=bot_id,
                    username=username or f"emulated_{bot_id}_bot",
                    first_name=first_name or "Emulated Bot",
                )
                self.bots[token] = bot
            else:
                bot.username = username or bot.username
                bot.first_name = first_name or bot.first_name
            return bot.as_user()

    def list_bots(self) -> list[dict[str, Any]]:
        with self.lock:
            return [{**bot.as_user(), "token": bot.token} for bot in self.bots.values()]

    def authenticate(self, token: str) -> BotRecord:
        """Return the bot for a token; 404 for a malformed token, 401 for an unknown one."""
        if not TOKEN_RE.match(token):
            raise errors.not_found()
        with self.lock:
            bot = self.bots.get(token)
            if bot is None and self.accept_any_token:
                self.add_bot(token)
                bot = self.bots[token]
        if bot is None:
            raise errors.unauthorized()
        return bot

    def bot_for(self, token: str | None) -> BotRecord:
        """Pick the bot a control call means: the given token, or the only bot."""
        with self.lock:
            if token is not None:
                if token not in self.bots:
                    raise ValueError(f"unknown bot token {token!r}; call add_bot first")
                return self.bots[token]
            if len(self.bots) != 1:
                raise ValueError(f"{len(self.bots)} bots registered: pass token=")
            return next(iter(self.bots.values()))

    # --- users and chats -----------------------------------------------------------------

    def ensure_user(self, user_id: int) -> UserRecord:
        with self.lock:
            user = self.users.get(user_id)
            if user is None:
                user = self.users[user_id] = UserRecord(id=user_id, first_name=f"User{user_id}")
            return user

    def chat_json(self, chat_id: int) -> dict[str, Any] | None:
        with self.lock:
            if chat_id in self.users:
                return self.users[chat_id].as_chat()
            if chat_id in self.groups:
                return self.groups[chat_id].as_chat()
            return None

    def resolve_chat(self, raw: Any) -> tuple[int, dict[str, Any]]:
        """Map a chat_id parameter (number or @username) to a known chat, else 400."""
        if raw is None or raw == "":
            raise errors.bad_request("chat_id is empty")
        with self.lock:
            if isinstance(raw, str) and raw.startswith("@"):
                name = raw[1:].lower()
                for group in self.groups.values():
                    if (group.username or "").lower() == name:
                        return group.id, group.as_chat()
                raise errors.bad_request("chat not found")
            try:
                chat_id = int(raw)
            except (TypeError, ValueError):
                raise errors.bad_request("chat not found") from None
            chat = self.chat_json(chat_id)
        if chat is None:
            raise errors.bad_request("chat not found")
        return chat_id, chat

    # --- updates -------------------------------------------------------------------------

    def enqueue(self, bot: BotRecord, update: dict[str, Any]) -> dict[str, Any]:
        """Append an update (assigning update_id when missing) and wake its consumers."""
        with self.lock:
            if "update_id" not in update:
                update = {"update_id": bot.next_update_id, **update}
            if isinstance(update["update_id"], int):
                bot.next_update_id = max(bot.next_update_id, update["update_id"] + 1)
            if bot.allows(update):
                bot.updates.append(update)
        self.wake(bot)
        return update

    def wake(self, bot: BotRecord, reason: str = "update") -> None:
        """Resolve the bot's waiters on the server loop, from whichever thread we are in."""
        self.call_on_loop(self._wake_now, bot, reason)

    def call_on_loop(self, fn: Any, *args: Any) -> None:
        """Run ``fn`` on the server loop (now if we are on it); asyncio is not thread-safe."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            fn(*args)
        else:
            loop.call_soon_threadsafe(fn, *args)

    def _wake_now(self, bot: BotRecord, reason: str) -> None:
        with self.lock:
            listeners, bot.listeners = bot.listeners, set()
        for future in listeners:
            if not future.done():
                future.set_result(reason)

    # --- messages and records ------------------------------------------------------------

    def store_message(self, bot: BotRecord, message: dict[str, Any]) -> None:
        with self.lock:
            bot.messages[(message["chat"]["id"], message["message_id"])] = message

    def find_message(self, bot: BotRecord, chat_id: int, message_id: int) -> dict[str, Any] | None:
        with self.lock:
            return bot.messages.get((chat_id, message_id))

    def record(self, record: SentRecord) -> None:
        with self.lock:
            self.records.append(record)
            self.sent_changed.notify_all()

    def check_flood(self, bot: BotRecord, chat_id: int) -> None:
        """Consume one send against the limits, or raise 429 with retry_after."""
        if not self.limits_enabled:
            return
        with self.lock:
            retry_after = self.limiter.check(bot.id, chat_id)
        if retry_after is not None:
            raise errors.too_many_requests(retry_after)

    def check_not_blocked(self, chat_id: int) -> None:
        with self.lock:
            if chat_id in self.blocked:
                raise errors.forbidden("bot was blocked by the user")

    # --- faults --------------------------------------------------------------------------

    def take_fault(self, method: str) -> Fault | None:
        """Consume one injected fault matching the method, if any."""
        name = method.lower()
        with self.lock:
            for fault in self.faults:
                if fault.method in (name, "*"):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def take_delay(self, method: str) -> Delay | None:
        name = method.lower()
        with self.lock:
            delay = self.delays.get(name) or self.delays.get("*")
            if delay is None:
                return None
            if delay.remaining is not None:
                delay.remaining -= 1
                if delay.remaining <= 0:
                    del self.delays[delay.method]
            return delay

    def count_request(self, method: str) -> None:
        with self.lock:
            self.request_counts[method] += 1

    def count_error(self, status: int) -> None:
        with self.lock:
            self.error_counts[status] += 1
            if status == 429:
                self.rate_limited_count += 1

    @staticmethod
    def now() -> int:
        return int(time.time())

    @staticmethod
    def monotonic() -> float:
        return time.monotonic()
