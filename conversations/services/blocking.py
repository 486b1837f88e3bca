"""Blocking clients: an agent or admin stops a client writing to the desk, for a time
or until unblocked, and every block and unblock is recorded (who, when, why).

While blocked, the client's updates are still confirmed to Telegram but open no
session and store no chat (see `incoming`); blocking ends the client's ACTIVE
session, so the conversation leaves the agent's load and the queue at once and no
blocked client holds an agent's capacity. Unblocking restores normal service: the
next message opens a new session.
"""

import time
from collections import defaultdict, deque
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from conversations import events
from conversations.models import Chat, Client, ClientBlockEvent, Session
from conversations.services.clients import Sender, clients_lock
from conversations.services.notices import client_notify_locked, notice_build
from conversations.services.sessions import session_end


def client_is_blocked(client: Client, now: datetime | None = None) -> bool:
    """Whether the block holds now: a `blocked_until` in the past means not blocked.

    Reads the row's fields only, so the ingest checks it on the rows it has locked
    without a query.
    """
    if not client.blocked:
        return False
    return client.blocked_until is None or client.blocked_until > (now or timezone.now())


@transaction.atomic
def client_block(
    *, client: Client, by: User, reason: str = "", until: datetime | None = None
) -> Client:
    """Block `client` (until `until`, or until unblocked) and record who did it and why.

    Blocking again replaces the reason and the end (and is recorded again). An
    `until` already past records the block but changes nothing for the client.
    """
    # The client row first, as the ingest locks it; session_end then takes the
    # agents and the session (the lock order of `sessions`).
    client = Client.objects.select_for_update().get(pk=client.pk)
    client.blocked, client.blocked_until, client.block_reason = True, until, reason[:255]
    client.save(update_fields=["blocked", "blocked_until", "block_reason"])
    active = Session.objects.filter(client=client, status=Session.Status.ACTIVE).first()
    if active is not None:
        if client_is_blocked(client):
            # Pushes the session's change itself; a client just blocked is not surveyed.
            session_end(session=active, survey=False)
        else:
            events.session_changed(active)
    # Recorded after the end: its insert locks the blocker's row (the foreign key
    # check), which session_end's allocation would then wait behind itself to lock.
    ClientBlockEvent.objects.create(
        client=client, action=ClientBlockEvent.Action.BLOCK, by=by, reason=reason[:255], until=until
    )
    return client


@transaction.atomic
def client_unblock(*, client: Client, by: User) -> Client:
    """Lift the client's block and record it; the next message is served as usual.

    The daily notice starts afresh, so a later block tells the client again.
    """
    client = Client.objects.select_for_update().get(pk=client.pk)
    client.blocked, client.blocked_until, client.block_reason = False, None, ""
    client.block_notice_at = None
    client.save(update_fields=["blocked", "blocked_until", "block_reason", "block_notice_at"])
    ClientBlockEvent.objects.create(client=client, action=ClientBlockEvent.Action.UNBLOCK, by=by)
    active = Session.objects.filter(client=client, status=Session.Status.ACTIVE).first()
    if active is not None:
        events.session_changed(active)
    return client


class _FloodWindows:
    """The times of each client's recently stored messages, kept by this process.

    Flood control counts here instead of in the database, so a client far below
    the limit costs no query. A process sees the messages it ingests (the bot, or
    the web process in webhook mode: only one of them takes updates at a time).
    """

    def __init__(self) -> None:
        self.times: dict[str, deque[float]] = {}

    def recent(self, client_id: str, at: float, window: float) -> int:
        times = self.times.get(client_id)
        if not times:
            return 0
        while times and times[0] <= at - window:
            times.popleft()
        return len(times)

    def add(self, stored: dict[str, list[float]], window: float) -> None:
        for client_id, times in stored.items():
            self.times.setdefault(client_id, deque()).extend(times)
        if len(self.times) > 10_000:  # forget the clients whose windows have passed
            horizon = time.time() - window
            self.times = {k: v for k, v in self.times.items() if v and v[-1] > horizon}


_windows = _FloodWindows()


class IngestGate:
    """Decides, message by message in an ingest batch, what is stored and what is held
    back (a blocked client's, a flooding client's beyond the limit), and writes down
    what the held-back ones change. Use inside the ingest's transaction, with the
    clients locked.
    """

    def __init__(self) -> None:
        self.now = timezone.now()
        self.limit: int = settings.FLOOD_MAX_MESSAGES
        self.window: float = settings.FLOOD_WINDOW
        self.stored: dict[str, list[float]] = defaultdict(list)
        self.held: dict[str, int] = defaultdict(int)
        self.clients: dict[str, Client] = {}
        self.flood_notices: set[str] = set()  # clients whose flood starts in this batch
        self.notices: list[Chat] = []  # for the caller to insert with its chats
        self.flooding: dict[str, Session] = {}  # sessions that start showing "flooding"

    def holds_back(
        self, client: Client, session: Session | None, *, sent_at: datetime | None
    ) -> bool:
        """Whether to hold this message back; a flood's first held-back message in an
        ACTIVE session builds its notice there (see `notices`)."""
        if self.admits(client, sent_at):
            return False
        if self.flood_starts(client) and session is not None:
            self.flooding[client.id] = session
            self.notices.append(
                notice_build(session=session, key="flooding", language_code=client.language_code)
            )
        return True

    def admits(self, client: Client, sent_at: datetime | None) -> bool:
        """Whether to store this message; counts it either way."""
        if client_is_blocked(client, self.now):
            return self._hold(client)
        if self.limit > 0:
            at = (sent_at or self.now).timestamp()
            batch = self.stored.get(client.id, ())
            recent = _windows.recent(client.id, at, self.window) + sum(
                1 for t in batch if t > at - self.window
            )
            if recent >= self.limit:
                return self._hold(client)
        self.stored[client.id].append((sent_at or self.now).timestamp())
        return True

    def _hold(self, client: Client) -> bool:
        self.held[client.id] += 1
        self.clients[client.id] = client
        return False

    def flood_starts(self, client: Client) -> bool:
        """Whether the held-back message begins a flood (its one notice is due); marks
        the client flooding for FLOOD_WINDOW from now, extended while it goes on."""
        if client_is_blocked(client, self.now):
            return False
        starts = (
            client.flooding_until is None or client.flooding_until <= self.now
        ) and client.id not in self.flood_notices
        client.flooding_until = self.now + timedelta(seconds=self.window)
        if starts:
            self.flood_notices.add(client.id)
        return starts

    def finish(self) -> None:
        """Save the held-back counts and marks, and tell the clients not told yet:
        a blocked client once a day, a flooding client once per flood (in its latest
        session when it has no ACTIVE one). Call after the caller stored `notices`."""
        day_ago = self.now - timedelta(days=1)
        for client_id, held in self.held.items():
            client = self.clients[client_id]
            fields = {"held_back_count": F("held_back_count") + held}
            if client_is_blocked(client, self.now):
                if client.block_notice_at is None or client.block_notice_at <= day_ago:
                    client.block_notice_at = fields["block_notice_at"] = self.now
                    client_notify_locked(client=client, key="blocked")
            else:
                fields["flooding_until"] = client.flooding_until
                if client_id in self.flood_notices and client_id not in self.flooding:
                    client_notify_locked(client=client, key="flooding")
            Client.objects.filter(pk=client_id).update(**fields)
            client.held_back_count += held
        for session in self.flooding.values():
            events.session_changed(session)  # its "flooding" mark
        stored, window = dict(self.stored), self.window
        transaction.on_commit(lambda: _windows.add(stored, window))


def client_hold_back_if_blocked(*, sender: Sender) -> bool:
    """For updates that store no message (/end, a kind the desk cannot take): when the
    sender is blocked, count the update as held back and answer with the daily
    `blocked` notice instead of the usual one. False (one indexed read) otherwise.
    """
    telegram_id = sender.telegram_id
    if not Client.objects.filter(telegram_id=telegram_id, blocked=True).exists():
        return False
    with transaction.atomic():
        client = clients_lock(senders={telegram_id: sender})[telegram_id]
        gate = IngestGate()
        if not client_is_blocked(client, gate.now):
            return False  # the block ended
        gate.holds_back(client, None, sent_at=None)
        gate.finish()
        return True
