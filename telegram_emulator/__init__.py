"""A Telegram Bot API emulator: a real HTTP server on loopback for tests and benchmarks.

Telegram is unreachable from here, so the bot talks to this instead, through aiogram's
configurable API server. See ``server.BotAPIEmulator`` (async), ``thread.EmulatorThread``
(sync, background thread) and ``python -m telegram_emulator`` (CLI).
"""

from .client import make_bot
from .errors import BotAPIError
from .limits import LimitSettings
from .records import SentFile, SentRecord
from .server import BotAPIEmulator
from .thread import EmulatorThread

__all__ = [
    "BotAPIEmulator",
    "BotAPIError",
    "EmulatorThread",
    "LimitSettings",
    "SentFile",
    "SentRecord",
    "make_bot",
]
