"""Long polling that confirms an update to Telegram only after it is stored.

aiogram's own `start_polling` advances the offset as soon as it hands an update to
a handler, and drops an update whose handler raised. Here a batch is confirmed
(the next getUpdates' offset) only once every update in it was handled; a
database outage is retried with backoff, and a crash redelivers the batch, which
the services store once.
"""

import asyncio
import json
import logging
import random
from collections import defaultdict

import aiohttp
from aiogram import Bot, Dispatcher
from aiogram.types import Update
from pydantic import ValidationError

from helpdesk.logs import log_context
from helpdesk.metrics import telegram_updates_received
from telegram_gateway.bot import ALLOWED_UPDATES
from telegram_gateway.db import DATABASE_RETRY_CAP, TRANSIENT_DATABASE_ERRORS
from telegram_gateway.metrics import polling_answered
from telegram_gateway.transport import RetryableBotAPIError, classify_polling_answer

logger = logging.getLogger(__name__)


class PollingStopped(Exception):
    """Raised inside a batch when shutdown interrupts a retry; the batch stays unconfirmed."""


class Backoff:
    """Capped exponential delays with jitter: 0.5 s, 1 s, 2 s … up to `cap`."""

    def __init__(self, *, first: float = 0.5, cap: float = 30.0) -> None:
        self.first, self.cap, self.attempt = first, cap, 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.first * 2**self.attempt)
        self.attempt += 1
        return delay * random.uniform(0.8, 1.2)  # noqa: S311 (jitter, not security)

    def reset(self) -> None:
        self.attempt = 0


def chat_key(raw: dict) -> object:
    """Updates of one chat run in order; other updates run side by side."""
    for kind in ALLOWED_UPDATES:
        if isinstance(raw.get(kind), dict):
            chat = raw[kind].get("chat")
            if isinstance(chat, dict) and "id" in chat:
                return chat["id"]
    return ("update", raw.get("update_id"))


class UpdatePoller:
    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        *,
        stop: asyncio.Event,
        poll_timeout: int = 25,
        limit: int = 100,
    ) -> None:
        self.bot, self.dispatcher, self.stop = bot, dispatcher, stop
        self.poll_timeout, self.limit = poll_timeout, limit
        self.offset: int | None = None
        self.handled = 0

    async def run(self) -> None:
        fetch_backoff = Backoff()
        try:
            while not self.stop.is_set():
                try:
                    batch = await self._fetch_unless_stopped()
                except (aiohttp.ClientError, TimeoutError, RetryableBotAPIError) as error:
                    delay = getattr(error, "retry_after", None) or fetch_backoff.next_delay()
                    logger.warning("getUpdates failed (%s); retrying in %.1f s", error, delay)
                    await self._sleep(delay)
                    continue
                fetch_backoff.reset()
                if batch:
                    await self._handle_batch(batch)
                    self.offset = batch[-1]["update_id"] + 1
        except PollingStopped:
            pass
        await self._confirm()

    async def _fetch_unless_stopped(self) -> list[dict]:
        """Long-poll, but give up the wait at once on shutdown (nothing new is confirmed)."""
        fetch = asyncio.ensure_future(self._fetch(timeout=self.poll_timeout))
        stopping = asyncio.ensure_future(self.stop.wait())
        await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not fetch.done():
            fetch.cancel()
            raise PollingStopped
        return fetch.result()

    async def _confirm(self) -> None:
        """Tell Telegram what was stored, so a restart does not replay it."""
        if self.offset is None:
            return
        try:
            await self._fetch(timeout=0, limit=1)
        except (aiohttp.ClientError, TimeoutError, RetryableBotAPIError) as error:
            logger.warning("could not confirm updates before %s: %s", self.offset, error)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)
        except TimeoutError:
            return
        raise PollingStopped

    async def _fetch(self, *, timeout: int, limit: int | None = None) -> list[dict]:
        session = await self.bot.session.create_session()
        url = self.bot.session.api.api_url(token=self.bot.token, method="getUpdates")
        payload = {
            "timeout": timeout,
            "limit": limit or self.limit,
            "allowed_updates": json.dumps(ALLOWED_UPDATES),
        }
        if self.offset is not None:
            payload["offset"] = self.offset
        async with session.post(
            url, data=payload, timeout=aiohttp.ClientTimeout(total=timeout + 10)
        ) as response:
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
        if isinstance(body, dict) and body.get("ok"):
            polling_answered(response.status, ok=True)
            return [u for u in body["result"] if isinstance(u, dict) and "update_id" in u]
        polling_answered(response.status, ok=False)
        raise classify_polling_answer(response.status, body)

    async def _handle_batch(self, batch: list[dict]) -> None:
        by_chat: dict[object, list[dict]] = defaultdict(list)
        for raw in batch:
            by_chat[chat_key(raw)].append(raw)
        results = await asyncio.gather(
            *(self._handle_in_order(updates) for updates in by_chat.values()),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _handle_in_order(self, updates: list[dict]) -> None:
        for raw in updates:
            with log_context(update_id=raw.get("update_id")):
                await self.handle(raw)

    async def handle(self, raw: dict) -> None:
        """Handle one update until it is stored; skip (and log) only what can never be."""
        telegram_updates_received("polling")
        try:
            update = Update.model_validate(raw, context={"bot": self.bot})
        except ValidationError as error:
            logger.error("malformed update %s skipped: %s", raw.get("update_id"), error)
            return
        backoff = Backoff(cap=DATABASE_RETRY_CAP)
        while True:
            try:
                await self.dispatcher.feed_update(self.bot, update)
            except TRANSIENT_DATABASE_ERRORS as error:
                delay = backoff.next_delay()
                logger.warning(
                    "database unavailable for update %s (%s); retrying in %.1f s",
                    update.update_id,
                    error,
                    delay,
                )
                await self._sleep(delay)
                continue
            except Exception:
                # A bug or input no handler can take: retrying would block every
                # update behind it, so log it whole and move on.
                logger.exception("update %s failed and was skipped: %r", update.update_id, raw)
            self.handled += 1
            return
