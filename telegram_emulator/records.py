"""The emulator's in-memory world: bots, users, chats, sent records and faults.

Plain dataclasses; every mutation happens under the emulator's lock (see ``core``).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any

# Updates Telegram sends when allowed_updates was never set (or set to []).
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def compact(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop None values: Telegram omits absent optional fields rather than sending null."""
    return {k: v for k, v in obj.items() if v is not None}


@dataclass
class UserRecord:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    is_premium: bool | None = None

    def as_user(self) -> dict[str, Any]:
        return compact(
            {
                "id": self.id,
                "is_bot": False,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
                "language_code": self.language_code,
                "is_premium": self.is_premium,
            }
        )

    def as_chat(self) -> dict[str, Any]:
        return compact(
            {
                "id": self.id,
                "type": "private",
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
            }
        )


@dataclass
class GroupRecord:
    id: int
    title: str
    type: str = "group"  # or "supergroup"
    username: str | None = None

    def as_chat(self) -> dict[str, Any]:
        return compact(
            {"id": self.id, "type": self.type, "title": self.title, "username": self.username}
        )


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    has_custom_certificate: bool = False
    last_error_date: int | None = None
    last_error_message: str | None = None
    task: asyncio.Task[None] | None = None


@dataclass
class BotRecord:
    token: str
    id: int
    username: str
    first_name: str
    updates: deque[dict[str, Any]] = field(default_factory=deque)
    next_update_id: int = 1
    allowed_updates: list[str] | None = None
    webhook: WebhookConfig | None = None
    message_ids: dict[int, int] = field(default_factory=dict)  # chat_id → last message_id
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    poller: asyncio.Future[str] | None = None
    listeners: set[asyncio.Future[str]] = field(default_factory=set)

    def clear(self) -> None:
        """Forget the bot's conversation state; waiters (long polls) keep waiting."""
        self.updates.clear()
        self.next_update_id = 1
        self.allowed_updates = None
        self.webhook = None
        self.message_ids.clear()
        self.messages.clear()
        self.commands.clear()

    def as_user(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def next_message_id(self, chat_id: int) -> int:
        """Message ids count per chat, shared by the user's and the bot's messages."""
        value = self.message_ids.get(chat_id, 0) + 1
        self.message_ids[chat_id] = value
        return value

    def allows(self, update: dict[str, Any]) -> bool:
        kind = next((k for k in update if k != "update_id"), None)
        if kind is None or not self.allowed_updates:
            return kind not in DEFAULT_EXCLUDED_UPDATES
        return kind in self.allowed_updates


@dataclass(frozen=True)
class SentFile:
    """A file the bot sent: uploaded bytes, or a reference (file_id / URL)."""

    field: str
    file_id: str
    data: bytes | None
    filename: str | None = None
    content_type: str | None = None
    source: str = "upload"  # "upload", "file_id" or "url"

    def to_json(self, *, with_data: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "field": self.field,
            "file_id": self.file_id,
            "filename": self.filename,
            "content_type": self.content_type,
            "source": self.source,
            "size": None if self.data is None else len(self.data),
        }
        if with_data and self.data is not None:
            out["data_b64"] = base64.b64encode(self.data).decode()
        return out


_record_ids = itertools.count(1)


@dataclass(frozen=True)
class SentRecord:
    """One successful call by which the bot acted on a chat (send, edit, delete, action)."""

    method: str
    bot_id: int
    chat_id: int | None
    timestamp: float  # time.monotonic() when served
    message_id: int | None = None
    text: str | None = None  # as sent, markup included
    caption: str | None = None
    parse_mode: str | None = None
    files: tuple[SentFile, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    message: dict[str, Any] | None = None  # the Message returned to the bot
    id: int = field(default_factory=lambda: next(_record_ids))

    def to_json(self, *, with_data: bool = False) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "bot_id": self.bot_id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "text": self.text,
            "caption": self.caption,
            "parse_mode": self.parse_mode,
            "timestamp": self.timestamp,
            "files": [f.to_json(with_data=with_data) for f in self.files],
            "params": self.params,
            "message": self.message,
        }


@dataclass
class Fault:
    """An injected failure for the next ``remaining`` calls of a method ("*" = any)."""

    method: str
    status: int
    remaining: int
    retry_after: int | None = None
    description: str | None = None
    body: str | None = None  # raw body instead of JSON (e.g. nginx's HTML 502 page)


@dataclass
class Delay:
    """Hold calls of a method for ``seconds`` before ("before") or after ("after") work."""

    method: str
    seconds: float
    remaining: int | None = None  # None: until cleared
    when: str = "before"
