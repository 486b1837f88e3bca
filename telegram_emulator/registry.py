"""The table of Bot API methods the emulator implements, keyed case-insensitively."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import EmulatorCore
    from .records import BotRecord
    from .wire import Params

Handler = Callable[["EmulatorCore", "BotRecord", "Params"], Any | Awaitable[Any]]


@dataclass(frozen=True)
class Method:
    name: str  # canonical spelling, e.g. "sendMessage"
    handler: Handler
    is_async: bool


@dataclass(frozen=True)
class Described:
    """A result that Telegram accompanies with a human description ("Webhook was set")."""

    result: Any
    description: str


METHODS: dict[str, Method] = {}


def api_method(name: str) -> Callable[[Handler], Handler]:
    """Register a handler under a Bot API method name (Telegram ignores the case)."""

    def register(handler: Handler) -> Handler:
        METHODS[name.lower()] = Method(name, handler, inspect.iscoroutinefunction(handler))
        return handler

    return register


def lookup(name: str) -> Method | None:
    return METHODS.get(name.lower())
