"""Coalesce the messages that handlers record at the same moment into one transaction.

Under load, a getUpdates batch (or concurrent webhook calls) hands many messages
to the handlers at once; storing each in its own transaction would spend most of
the time on round trips and commits. Handlers await `record_incoming`, which
queues the message; one flush at a time stores everything queued so far.

A handler waits for its message's commit, not for the consoles' push that follows
it (see `call_service`): a burst of new sessions does not queue behind its own pushes.
"""

import asyncio
import logging

from conversations import services
from conversations.services import IncomingMessage, RecordedMessage
from helpdesk import metrics
from telegram_gateway.db import TRANSIENT_DATABASE_ERRORS, call_service
from telegram_gateway.loops import PerEventLoop

logger = logging.getLogger(__name__)
MAX_BATCH = 200


class IncomingRecorder:
    def __init__(self) -> None:
        self._queue: list[tuple[IncomingMessage, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None

    async def record(self, incoming: IncomingMessage) -> RecordedMessage:
        future = asyncio.get_running_loop().create_future()
        self._queue.append((incoming, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the handlers running alongside queue theirs too
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            await self._store(batch)

    async def _store(self, batch: list[tuple[IncomingMessage, asyncio.Future]]) -> None:
        try:
            results = await call_service(
                services.chat_record_incoming_many, incomings=[incoming for incoming, _ in batch]
            )
        except TRANSIENT_DATABASE_ERRORS as error:
            for _, future in batch:
                future.set_exception(error)  # each update is retried by its poller/webhook
            return
        except Exception as error:
            if len(batch) == 1:
                batch[0][1].set_exception(error)
                return
            # One bad message must not fail the others: store them one by one.
            logger.warning("batch of %d failed; storing its messages one by one", len(batch))
            for item in batch:
                await self._store([item])
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)
        metrics.client_messages_recorded(
            stored=sum(result.created and result.chat is not None for result in results),
            held_back=sum(result.held_back for result in results),
        )


_recorder = PerEventLoop(IncomingRecorder)


async def record_incoming(incoming: IncomingMessage) -> RecordedMessage:
    """Store a client's message (see `chat_record_incoming_many`), batched with its peers."""
    return await _recorder().record(incoming)
