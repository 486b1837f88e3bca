"""Run the synchronous services from the bot's event loop, surviving database outages.

The consoles' pushes that a service's commits call for are held while it runs and
sent right after it returns, by one pusher per event loop: the caller (a handler, and
behind it the next getUpdates; the delivery worker's next send) waits for the commit
only, not for the reads and sends of the push. Pushes go out in the order the calls
finished, one at a time; those that wait meanwhile go out together, so a burst costs
fewer pushes, not a longer queue of them.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.db import InterfaceError, OperationalError, connection

from conversations import events
from telegram_gateway.loops import PerEventLoop

T = TypeVar("T")
logger = logging.getLogger(__name__)

# Errors worth retrying the whole update for: the database went away, a lock wait
# timed out or a deadlock victim was chosen. Anything else is a bug or bad input.
TRANSIENT_DATABASE_ERRORS = (OperationalError, InterfaceError)
# Retries through a database outage wait at most this many seconds each, so updates
# and replies move again within about as long of the database coming back.
DATABASE_RETRY_CAP = 2.0


def _run(func: Callable[..., T], kwargs: dict, held: events.Changes) -> T:
    try:
        with events.pushes_held(into=held):
            return func(**kwargs)
    except TRANSIENT_DATABASE_ERRORS:
        # This worker thread's connection may be dead: drop it so a retry reconnects.
        connection.close()
        raise


async def call_service(func: Callable[..., T], /, **kwargs) -> T:
    """Call a service in a worker thread, so updates of different chats run in parallel."""
    held = events.Changes()
    try:
        return await sync_to_async(_run, thread_sensitive=False)(func, kwargs, held)
    finally:
        _pusher().push(held)  # what committed before a failure is pushed too


class ChangesPusher:
    """Push held changes in order, one push at a time, merging what waits meanwhile."""

    def __init__(self) -> None:
        self._waiting: events.Changes | None = None
        self._waiting_since = 0.0  # time.monotonic() when the first of them was handed over
        self._pushing: asyncio.Task | None = None

    def push(self, changes: events.Changes) -> None:
        if not changes:
            return
        if self._waiting is None:
            self._waiting, self._waiting_since = changes, time.monotonic()
        else:
            self._waiting.merge(changes)
        if self._pushing is None or self._pushing.done():
            self._pushing = asyncio.create_task(self._push_waiting())

    async def _push_waiting(self) -> None:
        while self._waiting is not None:
            changes, since, self._waiting = self._waiting, self._waiting_since, None
            try:
                await events.changes_push_from_loop(changes, handed_over_at=since)
            except Exception:  # a push is a hint: the consoles catch up on their next one
                logger.exception("console push failed")


_pusher = PerEventLoop(ChangesPusher)
