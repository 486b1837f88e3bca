"""The delivery worker: sends PENDING replies and notices, in order per session, paced.

It runs inside `runbot` (or alone as `manage.py deliver` for webhook deployments),
and also relays agents' typing to Telegram as chat actions. Any number of workers
may run: each claims replies for a short lease that it renews while it lives, so a
dead worker's replies are taken over within DELIVERY_LEASE seconds.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from conversations import events, services
from conversations.services import Delivery
from helpdesk import metrics
from helpdesk.logs import log_context_bind
from telegram_gateway import status
from telegram_gateway.db import DATABASE_RETRY_CAP, TRANSIENT_DATABASE_ERRORS, call_service
from telegram_gateway.metrics import delivery_failed, failure_reason
from telegram_gateway.pacing import SendPacer, pacer
from telegram_gateway.polling import Backoff
from telegram_gateway.transport import TransportError, send_delivery
from telegram_gateway.watch import transport_watch

logger = logging.getLogger(__name__)

# Seconds in-flight sends get to finish at shutdown; the rest are handed back.
SHUTDOWN_GRACE = 5.0
# "typing…" shows for up to 5 s: one action per chat per 4 s keeps it on, and a
# request older than that describes typing that may have stopped.
CHAT_ACTION_INTERVAL = 4.0
CHAT_ACTIONS_IN_FLIGHT = 32  # beyond this (Telegram slow), typing is dropped, not queued
# How often the deliveries group is joined again, well within channels-redis's
# group expiry (a day): a membership lost to a Redis restart comes back by then.
WAKE_GROUP_REJOIN = 600.0
# Seconds a worker waits before sending a reply whose previous claim lapsed. A worker
# that outlived a database outage may have sent it and be about to record that: it
# retries such records at least every second, and this gives it the time to.
TAKEOVER_SETTLE = 2.5


class ClaimLost(Exception):
    """The worker could not renew a claim in time: another worker may have taken the
    reply, so this one must not send it."""


class DeliveryWorker:
    def __init__(self, bot: Bot, *, stop: asyncio.Event, concurrency: int = 64) -> None:
        self.bot, self.stop, self.concurrency = bot, stop, concurrency
        # Claim in batches while many sends are in flight: each claim is a query and
        # ORM work in the bot's process, and a claim per finished send (a notice for
        # every new client) took a third of the ingest rate in bench/ingest.py. The
        # sends in flight still wait for their pacing slots, so nothing goes later.
        self.claim_batch = max(1, concurrency // 4)
        self.in_flight: dict[str, asyncio.Task] = {}
        # Monotonic time until which each claim in flight is surely still ours.
        self.claimed_until: dict[str, float] = {}
        self.attempts: dict[str, int] = {}  # what each claim in flight counted as
        self.lease = settings.DELIVERY_LEASE
        self.sent = self.failed = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def on_due(**kwargs) -> None:  # called from worker threads, after commit
            loop.call_soon_threadsafe(wake.set)

        services.delivery_due.connect(on_due, weak=False)
        helpers = [
            asyncio.create_task(self._sweep_presence()),
            asyncio.create_task(self._relay_chat_actions()),
            asyncio.create_task(self._check_idle_sessions()),
            asyncio.create_task(self._renew_claims()),
            asyncio.create_task(self._hear_due_replies(wake)),
            asyncio.create_task(transport_watch(self.bot, self.stop)),
        ]
        try:
            await self._loop(wake)
        finally:
            for helper in helpers:
                helper.cancel()
            services.delivery_due.disconnect(on_due)
            await self._shut_down()

    async def _hear_due_replies(self, wake: asyncio.Event) -> None:
        """Wake up when another process stores a reply (events.deliveries_due).

        Polling every DELIVERY_POLL_INTERVAL stays the safety net, for an announcement
        lost with Redis. Nothing to hear without a channel layer shared by processes.
        """
        layer = get_channel_layer()
        if layer is None or isinstance(layer, InMemoryChannelLayer):
            return
        channel = await layer.new_channel("telegram.deliver.")
        joined_at = float("-inf")
        try:
            while not self.stop.is_set():
                try:
                    if time.monotonic() - joined_at > WAKE_GROUP_REJOIN:
                        await layer.group_add(events.DELIVERIES_GROUP, channel)
                        joined_at = time.monotonic()
                    await layer.receive(channel)
                except Exception as error:  # Redis down: the poll goes on meanwhile
                    logger.warning("cannot hear due replies (%r)", error)
                    joined_at = float("-inf")
                    await asyncio.sleep(1)
                    continue
                wake.set()
        finally:
            with contextlib.suppress(Exception):
                await layer.group_discard(events.DELIVERIES_GROUP, channel)

    async def _renew_claims(self) -> None:
        """Keep the claims in flight ours while this worker lives (see ClaimLost)."""
        while not self.stop.is_set():
            await asyncio.sleep(self.lease / 4)
            claims = dict(self.attempts)
            if not claims:
                continue
            started = time.monotonic()
            try:
                renewed = await call_service(
                    services.delivery_claims_renew, claims=claims, lease=self.lease
                )
            except TRANSIENT_DATABASE_ERRORS as error:
                logger.warning("cannot renew %d claim(s) (%s)", len(claims), error)
                continue
            for chat_id in renewed:
                if chat_id in self.claimed_until:
                    self.claimed_until[chat_id] = started + self.lease

    async def _sweep_presence(self) -> None:
        """Take offline agents whose consoles all closed long ago.

        A console's web process does this itself when the console closes; this
        periodic sweep covers a web process that died with consoles open.
        """
        while settings.CONSOLE_PRESENCE_GRACE:
            await asyncio.sleep(max(settings.CONSOLE_PRESENCE_GRACE / 4, 1))
            try:
                await call_service(services.agent_presence_sweep)
            except TRANSIENT_DATABASE_ERRORS as error:
                logger.warning("cannot sweep agents' presence (%s)", error)

    async def _check_idle_sessions(self) -> None:
        """Warn idle clients and end unanswered warnings, every IDLE_CHECK_INTERVAL.

        Every worker runs it; the services claim each session once. A database
        error is logged and the check runs again at the next interval.
        """
        while not self.stop.is_set():
            await asyncio.sleep(max(settings.IDLE_CHECK_INTERVAL, 0.05))
            try:
                closed, warned = await call_service(services.idle_sessions_check)
            except TRANSIENT_DATABASE_ERRORS as error:
                logger.warning("cannot check idle sessions (%s)", error)
                continue
            except Exception:
                logger.exception("idle sessions check failed")
                continue
            if closed or warned:
                logger.info("idle sessions: %d warned, %d closed", warned, closed)

    async def _relay_chat_actions(self) -> None:
        """Show clients "typing…" while agents write, as consoles ask (see consumers.py).

        Best effort: a stale or repeated request is dropped, and a Bot API error is
        logged, never raised. Nothing to do without a channel layer.
        """
        layer = get_channel_layer()
        if layer is None:
            return
        last_sent: dict[int, float] = {}
        sending: set[asyncio.Task] = set()
        try:
            while not self.stop.is_set():
                try:
                    request = await layer.receive(events.CHAT_ACTIONS_CHANNEL)
                except Exception as error:  # Redis down: try again soon
                    logger.warning("cannot receive chat actions (%r)", error)
                    await asyncio.sleep(1)
                    continue
                try:
                    chat_id, action = int(request["telegram_chat_id"]), str(request["action"])
                    sent_at = float(request["sent_at"])
                except (KeyError, TypeError, ValueError):
                    logger.warning("malformed chat action request ignored: %.80r", request)
                    continue
                now = time.monotonic()
                if (
                    time.time() - sent_at > CHAT_ACTION_INTERVAL
                    or now - last_sent.get(chat_id, float("-inf")) < CHAT_ACTION_INTERVAL
                    or len(sending) >= CHAT_ACTIONS_IN_FLIGHT
                ):
                    continue
                if len(last_sent) > 10_000:
                    last_sent = {
                        c: t for c, t in last_sent.items() if now - t < CHAT_ACTION_INTERVAL
                    }
                last_sent[chat_id] = now
                task = asyncio.create_task(self._send_chat_action(chat_id, action, sent_at))
                sending.add(task)
                task.add_done_callback(sending.discard)
        finally:
            for task in sending:
                task.cancel()

    async def _send_chat_action(self, chat_id: int, action: str, sent_at: float) -> None:
        await pacer().wait_action_turn()
        if time.time() - sent_at > CHAT_ACTION_INTERVAL:
            return  # the replies' traffic held it too long: the typing may be over
        try:
            await self.bot.send_chat_action(chat_id, action)
        except TelegramRetryAfter as error:
            # Another process sends too; the chat's replies would get the same answer.
            await pacer().hold(chat_id, error.retry_after)
            logger.warning("chat action to %s: asked to wait %s s", chat_id, error.retry_after)
        except Exception as error:  # a blocked bot, a network error: typing is only a hint
            logger.info("chat action to %s failed: %r", chat_id, error)

    async def _loop(self, wake: asyncio.Event) -> None:
        backoff = Backoff(cap=DATABASE_RETRY_CAP)
        while not self.stop.is_set():
            wake.clear()
            room = self.concurrency - len(self.in_flight)
            claimed: list[Delivery] = []
            if room >= self.claim_batch or (room > 0 and not self.in_flight):
                started = time.monotonic()
                try:
                    claimed = await call_service(
                        services.deliveries_claim, limit=room, lease=self.lease
                    )
                    backoff.reset()
                except TRANSIENT_DATABASE_ERRORS as error:
                    delay = backoff.next_delay()
                    logger.warning("cannot claim replies (%s); retrying in %.1f s", error, delay)
                    await self._wait(wake, delay)
                    continue
            for delivery in claimed:
                self.claimed_until[delivery.chat_id] = started + self.lease
                self.attempts[delivery.chat_id] = delivery.attempts
                if delivery.chat_id in self.in_flight:
                    continue  # its claim lapsed in an outage; the send in flight goes on
                task = asyncio.create_task(self._deliver(delivery))
                self.in_flight[delivery.chat_id] = task
                task.add_done_callback(lambda _, key=delivery.chat_id: self._finished(key, wake))
            if claimed and len(claimed) == room:
                continue  # there may be more due right now
            await self._wait(wake, settings.DELIVERY_POLL_INTERVAL)

    def _finished(self, chat_id: str, wake: asyncio.Event) -> None:
        self.in_flight.pop(chat_id, None)
        self.claimed_until.pop(chat_id, None)
        self.attempts.pop(chat_id, None)
        wake.set()

    async def _wait(self, wake: asyncio.Event, seconds: float) -> None:
        waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(self.stop.wait())]
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    async def _deliver(self, delivery: Delivery) -> None:
        if delivery.taken_over and not await self._still_ours_after_settling(delivery):
            return
        log_context_bind(reply_id=delivery.chat_id)  # a task of its own: ends with it

        async def on_part(parts_sent: int, message_id: int) -> None:
            await self._record(
                services.delivery_progress,
                chat_id=delivery.chat_id,
                parts_sent=parts_sent,
                telegram_message_id=message_id,
            )

        try:
            message_id, file_id = await send_delivery(
                self.bot, delivery, _WhileClaimed(pacer(), self, delivery.chat_id), on_part
            )
        except ClaimLost:
            logger.warning("reply %s left to another worker: its claim lapsed", delivery.chat_id)
            return
        except TransportError as error:
            delivery_failed(error)
            await self._note_failure(error)
            if error.permanent:
                self.failed += 1
                logger.warning("reply %s failed for good: %s", delivery.chat_id, error.reason)
                await self._record(
                    services.delivery_mark_failed,
                    chat_id=delivery.chat_id,
                    reason=error.reason,
                    client_unreachable=error.client_unreachable,
                )
                return
            if error.retry_after:
                await pacer().hold(delivery.telegram_chat_id, error.retry_after)
            logger.info("reply %s will be retried: %s", delivery.chat_id, error.reason)
            await self._record(
                services.delivery_retry_later,
                chat_id=delivery.chat_id,
                reason=error.reason,
                retry_after=error.retry_after,
            )
            return
        self.sent += 1
        metrics.deliveries_sent.inc()
        await self._record(
            services.delivery_mark_sent,
            chat_id=delivery.chat_id,
            telegram_message_id=message_id,
            telegram_file_id=file_id,
        )

    async def _note_failure(self, error: TransportError) -> None:
        """For the transport panel's last hour; a hint, so not retried through an outage."""
        with contextlib.suppress(*TRANSIENT_DATABASE_ERRORS):
            await call_service(
                status.delivery_failure_record,
                reason=failure_reason(error),
                permanent=error.permanent,
            )

    async def _still_ours_after_settling(self, delivery: Delivery) -> bool:
        await asyncio.sleep(TAKEOVER_SETTLE)
        try:
            holds = await call_service(
                services.delivery_claim_holds, chat_id=delivery.chat_id, attempt=delivery.attempts
            )
        except TRANSIENT_DATABASE_ERRORS:
            holds = False  # its lease lapses and it is claimed again, settled again
        if not holds:
            logger.info("reply %s was settled by the worker it was taken from", delivery.chat_id)
        return holds

    async def _record(self, service: Callable, **kwargs) -> None:
        """Persist an outcome, waiting out a database outage: a lost 'sent' means a resend.

        Retried at least every second (see TAKEOVER_SETTLE): once the database is back,
        this outcome must land before another worker settles on sending the reply again.
        """
        backoff = Backoff(cap=1.0)
        while True:
            try:
                await call_service(service, **kwargs)
                return
            except TRANSIENT_DATABASE_ERRORS as error:
                delay = backoff.next_delay()
                logger.warning("cannot record delivery (%s); retrying in %.1f s", error, delay)
                await asyncio.sleep(delay)

    async def _shut_down(self) -> None:
        if not self.in_flight:
            return
        _, pending = await asyncio.wait(list(self.in_flight.values()), timeout=SHUTDOWN_GRACE)
        # Mostly replies still waiting for their pacing slot; one cut off mid-request
        # may have reached Telegram and will be sent again (at least once, not at most).
        unfinished = [chat_id for chat_id, task in self.in_flight.items() if task in pending]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if unfinished:
            try:
                await call_service(services.delivery_release, chat_ids=unfinished)
            except TRANSIENT_DATABASE_ERRORS:
                logger.warning("%d claim(s) will be retaken when they expire", len(unfinished))


class _WhileClaimed:
    """The pacer, and after each wait for a send slot a check that the claim still holds.

    A claim is renewed every quarter lease; one not renewed for half of it (the
    database away, the loop stalled) may lapse before the send ends, and another
    worker would send the reply again.
    """

    def __init__(self, pacer: SendPacer, worker: DeliveryWorker, chat_id: str) -> None:
        self.pacer, self.worker, self.chat_id = pacer, worker, chat_id

    async def wait_turn(self, chat_id: int) -> None:
        await self.pacer.wait_turn(chat_id)
        until = self.worker.claimed_until.get(self.chat_id, float("-inf"))
        if time.monotonic() > until - self.worker.lease / 2:
            raise ClaimLost(self.chat_id)
