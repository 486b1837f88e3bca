"""Live pushes to agents' consoles, sent to websocket groups after commit.

Services note *what* changed (a chat, a session, the queue, an agent's presence)
while their transaction runs. After commit one flush per transaction reads the
changed rows once and sends each group a single frame; the consumer renders it in
its agent's language. A push is a hint: the rows are the truth, so a lost push
costs a stale screen until the next one or a reload, never data.

Groups: every console joins `GROUP_ALL` and its agent's own group; an ADMIN's also
joins `GROUP_ADMINS`. A CS's console is never in a group that carries another
agent's sessions.
"""

import asyncio
import hashlib
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from django.db import transaction
from django.utils.dateparse import parse_datetime

from accounts.models import User
from conversations.models import Chat, Client, Session
from helpdesk.metrics import console_push_seconds

logger = logging.getLogger(__name__)

GROUP_ALL = "console.all"
GROUP_ADMINS = "console.admins"
# The consumer's handler for every frame: `console_events`.
FRAME_TYPE = "console.events"
# A normal (not group) channel: consoles send agents' typing to it, and one delivery
# worker receives each request and shows Telegram's "typing…" to the client.
CHAT_ACTIONS_CHANNEL = "telegram.chat_actions"
# Every delivery worker's channel: told when a reply or notice becomes due, so a worker
# in another process sends it at once instead of at its next look.
DELIVERIES_GROUP = "telegram.deliveries"


def agent_group(agent_id: str) -> str:
    return f"console.agent.{agent_id}"


@dataclass
class Changes:
    """What a transaction changed that consoles show: the push reads the rows it names."""

    chat_ids: set[str] = field(default_factory=set)
    new_chat_ids: set[str] = field(default_factory=set)
    session_ids: set[str] = field(default_factory=set)
    # session id → agents who had it before this transaction gave it to someone else
    previous_agents: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    queue: bool = False
    presence: dict[str, bool] = field(default_factory=dict)
    # agent id → the signed-out sessions (hashed keys; None: every session of the agent)
    signed_out: dict[str, set[str | None]] = field(default_factory=lambda: defaultdict(set))
    # Private notes written, and agents whose unread mentions changed (services/notes.py).
    note_ids: set[str] = field(default_factory=set)
    mention_agent_ids: set[str] = field(default_factory=set)
    # A reply or notice became due: the delivery workers of every process are woken.
    deliveries_due: bool = False

    def merge(self, other: "Changes") -> None:
        """Add `other`, noted later: one push then carries both."""
        self.chat_ids |= other.chat_ids
        self.new_chat_ids |= other.new_chat_ids
        self.session_ids |= other.session_ids
        for session_id, agents in other.previous_agents.items():
            self.previous_agents[session_id] |= agents
        self.queue = self.queue or other.queue
        self.presence.update(other.presence)
        for agent_id, sessions in other.signed_out.items():
            self.signed_out[agent_id] |= sessions
        self.note_ids |= other.note_ids
        self.mention_agent_ids |= other.mention_agent_ids
        self.deliveries_due = self.deliveries_due or other.deliveries_due

    def __bool__(self) -> bool:
        return bool(
            self.chat_ids
            or self.session_ids
            or self.queue
            or self.presence
            or self.signed_out
            or self.note_ids
            or self.mention_agent_ids
            or self.deliveries_due
        )


# The changes of the current thread's transactions while pushes are held (see
# `pushes_held`), instead of pushed at each commit.
_held = threading.local()


def _pending() -> Changes:
    connection = transaction.get_connection()
    changes = getattr(connection, "console_changes", None)
    if changes is None:
        changes = connection.console_changes = Changes()
    return changes


def _flush_on_commit() -> None:
    """Flush this transaction's changes after commit (at once outside a transaction).

    Registered per note, not once per transaction: a savepoint rolled back takes its
    callbacks with it, and any one left flushes everything noted.
    """
    transaction.on_commit(_flush, robust=True)


def chats_changed(chat_ids: Iterable[str], *, new: bool = False) -> None:
    """Messages were stored (`new`: their sessions' rows change too) or changed in place
    (an edit, a delivery state)."""
    chat_ids = set(chat_ids)
    if chat_ids:
        changes = _pending()
        changes.chat_ids |= chat_ids
        if new:
            changes.new_chat_ids |= chat_ids
        _flush_on_commit()


def session_changed(session: Session, *, previous_agent_id: str | None = None) -> None:
    """A session's row in the list changed: opened, assigned, transferred, ended, read."""
    changes = _pending()
    changes.session_ids.add(session.pk)
    if previous_agent_id and previous_agent_id != session.cs_id:
        changes.previous_agents[session.pk].add(previous_agent_id)
    _flush_on_commit()


def queue_changed() -> None:
    _pending().queue = True
    _flush_on_commit()


def deliveries_due() -> None:
    """Wake the delivery workers of every process after commit (their group; in this
    process the delivery_due signal already did)."""
    _pending().deliveries_due = True
    _flush_on_commit()


def presence_changed(agent_id: str, *, online: bool) -> None:
    _pending().presence[agent_id] = online
    _flush_on_commit()


def notes_changed(note_ids: Iterable[str]) -> None:
    """Notes were written: the consoles showing their sessions add them."""
    _pending().note_ids |= set(note_ids)
    _flush_on_commit()


def mentions_changed(agent_ids: Iterable[str]) -> None:
    """These agents' unread mentions changed: their badges get the new count."""
    _pending().mention_agent_ids |= set(agent_ids)
    _flush_on_commit()


def console_signed_out(agent_id: str, *, session_key: str | None = None) -> None:
    """Close the consoles of one signed-out session, or of all the agent's sessions
    (`session_key` None: its password changed or it was disabled). Without this an
    open tab would go on receiving pushes after its session was gone."""
    _pending().signed_out[agent_id].add(session_key and session_key_digest(session_key))
    _flush_on_commit()


def session_key_digest(session_key: str) -> str:
    """What a frame carries instead of the session key, which is a credential."""
    return hashlib.sha256(session_key.encode()).hexdigest()


def channel_layer_prepare() -> None:
    """Build the channel layer at start: built lazily, the first push after commit
    imports channels-redis and redis-py (about 100 ms) while the next updates wait."""
    get_channel_layer()


@contextmanager
def pushes_held(*, into: Changes) -> Iterator[None]:
    """Hold back the pushes of what commits in this block, merged into `into`, for the
    caller to push later (`changes_push`).

    The bot's services run so (telegram_gateway/db.py): a handler, and the next
    getUpdates, then wait for the commit only, not for the reads and sends of the push.
    """
    _held.changes = into
    try:
        yield
    finally:
        _held.changes = None


def _flush() -> None:
    connection = transaction.get_connection()
    changes = getattr(connection, "console_changes", None)
    if changes is None:
        return  # an earlier callback of this transaction sent everything
    del connection.console_changes
    held = getattr(_held, "changes", None)
    if held is not None:
        held.merge(changes)
        return
    changes_push(changes)


def changes_push(changes: Changes, *, handed_over_at: float | None = None) -> None:
    """Read what `changes` names and send each group its frame (after commit).

    `handed_over_at`: when (time.monotonic()) a caller that held them got them; the
    push's latency runs from then.
    """
    handed_over_at = handed_over_at or time.monotonic()
    layer = _layer_heard()
    if layer is None:
        return
    if changes.deliveries_due:
        async_to_sync(_send)(layer, _WAKE)
    frames = _frames(changes)
    if frames:
        async_to_sync(_send)(layer, frames)
        console_push_seconds.observe(time.monotonic() - handed_over_at)


async def changes_push_from_loop(changes: Changes, *, handed_over_at: float) -> None:
    """`changes_push` for code on an event loop: the reads in a worker thread, the sends
    on the loop itself. A thread never waits for the loop, which at daphne's shutdown had
    stopped under it: the process then hung at exit joining that thread."""
    layer = _layer_heard()
    if layer is None:
        return
    if changes.deliveries_due:
        await _send(layer, _WAKE)
    frames = await sync_to_async(_frames, thread_sensitive=False)(changes)
    if frames:
        await _send(layer, frames)
        console_push_seconds.observe(time.monotonic() - handed_over_at)


def _layer_heard() -> BaseChannelLayer | None:
    """The channel layer, unless no console can hear a push: skip the reads then."""
    layer = get_channel_layer()
    if layer is None or (isinstance(layer, InMemoryChannelLayer) and not layer.groups):
        return None  # no console in this process, and no other process can hear it
    return layer


def _frames(changes: Changes) -> dict[str, list[dict]]:
    from conversations.selectors import (
        chat_reply_targets_attach,
        session_rows,
        session_waiting_queue,
    )

    frames: dict[str, list[dict]] = defaultdict(list)

    def send(agent_id: str | None, event: dict) -> None:
        if agent_id:
            frames[agent_group(agent_id)].append(event)
        frames[GROUP_ADMINS].append(event)

    chats = (
        list(
            Chat.objects.filter(pk__in=changes.chat_ids)
            .select_related("session")
            .order_by("created_at", "id")
        )
        if changes.chat_ids
        else []
    )
    session_ids = changes.session_ids | {
        chat.session_id for chat in chats if chat.pk in changes.new_chat_ids
    }
    if session_ids:
        for session in session_rows().filter(pk__in=session_ids):
            send(session.cs_id, {"kind": "session", "session": session_to_wire(session)})
            for agent_id in changes.previous_agents.get(session.pk, ()):
                gone = {"kind": "session_gone", "session_id": session.pk}
                frames[agent_group(agent_id)].append(gone)
    chat_reply_targets_attach(chats=chats)
    for chat in chats:
        send(chat.session.cs_id, {"kind": "chat", "chat": chat_to_wire(chat)})
    if changes.queue:
        frames[GROUP_ALL].append({"kind": "queue", "waiting": session_waiting_queue().count()})
    for agent_id, online in changes.presence.items():
        # Admins too: their workspace shows every agent's state and load.
        send(agent_id, {"kind": "presence", "agent_id": agent_id, "online": online})
    for agent_id, sessions in changes.signed_out.items():
        for session in sessions:
            frames[agent_group(agent_id)].append({"kind": "signed_out", "session": session})
    _note_frames(changes, frames, send)
    return frames


# What wakes the delivery workers; sent before the consoles' frames are read, so the
# reply leaves while they are.
_WAKE = {DELIVERIES_GROUP: [{"kind": "deliveries_due"}]}


def _note_frames(changes: Changes, frames: dict[str, list[dict]], send) -> None:
    """Notes to the consoles of those who may see their sessions (and the agents they
    mention, who may open them read-only); each mentioned agent its unread count."""
    from conversations.models import Mention, Note
    from conversations.note_selectors import mention_unread_counts

    if changes.note_ids:
        notes = Note.objects.filter(pk__in=changes.note_ids).select_related("session", "author")
        mentioned: dict[str, set[str]] = defaultdict(set)
        pairs = Mention.objects.filter(note_id__in=changes.note_ids)
        for note_id, agent_id in pairs.values_list("note_id", "agent_id"):
            mentioned[note_id].add(agent_id)
        for note in notes.order_by("created_at", "id"):
            event = {"kind": "note", "note": note_to_wire(note)}
            send(note.session.cs_id, event)
            for agent_id in mentioned[note.pk] - {note.session.cs_id}:
                frames[agent_group(agent_id)].append(event)
    if changes.mention_agent_ids:
        counts = mention_unread_counts(agent_ids=changes.mention_agent_ids)
        for agent_id in changes.mention_agent_ids:
            event = {"kind": "mention", "unread": counts.get(agent_id, 0)}
            frames[agent_group(agent_id)].append(event)


async def _send(layer: BaseChannelLayer, frames: dict[str, list[dict]]) -> None:
    """Send each group its frame, all at once: a batch that opens a dozen sessions
    pushes to a dozen agents, and one Redis round trip after another would add up."""

    async def send(group: str, events: list[dict]) -> None:
        try:
            await layer.group_send(group, {"type": FRAME_TYPE, "events": events})
        except Exception:  # a push is a hint: the commit it follows stands
            logger.exception("console push to %s failed", group)

    await asyncio.gather(*(send(group, events) for group, events in frames.items()))


# The wire: plain values only (channels-redis packs frames with msgpack).


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def chat_to_wire(chat: Chat) -> dict:
    """The chat's public fields, and `reply_target_id` (see `chat_reply_targets_attach`)."""
    wire = {name: getattr(chat, name) for name in Chat.PUBLIC_FIELDS}
    return {
        **wire,
        "created_at": _when(chat.created_at),
        "edited_at": _when(chat.edited_at),
        "reply_target_id": getattr(chat, "reply_target_id", None),
        # Whether the console may offer "Reply": Telegram answers only messages it holds.
        "telegram_message_id": chat.telegram_message_id,
    }


def chat_from_wire(data: dict) -> Chat:
    fields = {key: value for key, value in data.items() if key != "reply_target_id"}
    chat = Chat(
        **{
            **fields,
            "created_at": parse_datetime(data["created_at"]),
            "edited_at": data["edited_at"] and parse_datetime(data["edited_at"]),
        }
    )
    chat.reply_target_id = data.get("reply_target_id")
    return chat


def note_to_wire(note) -> dict:
    return {
        "id": note.pk,
        "session_id": note.session_id,
        "author_name": note.author.name if note.author else None,
        "text": note.text,
        "created_at": _when(note.created_at),
    }


def session_to_wire(session: Session) -> dict:
    """A `session_rows()` row: what the list shows of it."""
    return {
        "id": session.pk,
        "status": session.status,
        "created_at": _when(session.created_at),
        "last_activity_at": _when(session.last_activity_at),
        "client": {
            "name": session.client.name,
            "username": session.client.username,
            "unreachable_since": _when(session.client.unreachable_since),
            # Flood control's mark: the list row and the header show "flooding" until then.
            "flooding_until": _when(session.client.flooding_until),
        },
        "cs_id": session.cs_id,
        "cs_name": session.cs.name if session.cs else None,
        "unread_count": session.unread_count,
        "last_message": session.last_message,
        "last_message_type": session.last_message_type,
        "last_message_at": _when(session.last_message_at),
    }


def session_from_wire(data: dict) -> Session:
    session = Session(
        id=data["id"],
        status=data["status"],
        created_at=parse_datetime(data["created_at"]),
        last_activity_at=parse_datetime(data["last_activity_at"]),
        client=Client(
            **{
                **data["client"],
                "unreachable_since": data["client"]["unreachable_since"]
                and parse_datetime(data["client"]["unreachable_since"]),
                "flooding_until": data["client"].get("flooding_until")
                and parse_datetime(data["client"]["flooding_until"]),
            }
        ),
        cs_id=data["cs_id"],
    )
    session.cs = User(id=data["cs_id"], name=data["cs_name"]) if data["cs_id"] else None
    session.unread_count = data["unread_count"]
    session.last_message = data["last_message"]
    session.last_message_type = data["last_message_type"]
    session.last_message_at = data["last_message_at"] and parse_datetime(data["last_message_at"])
    return session
