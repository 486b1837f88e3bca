"""The sandbox's Bot API emulator and what one run of it remembers.

`manage.py serve` starts it when it has no bot token and SANDBOX is on. Everything a run
knows (which clients exist, what they wrote, who may create more) lives in one
`Playground`, made afresh at each start, so nothing of it outlives the process.
"""

import threading
from collections import deque
from dataclasses import dataclass, field

from telegram_emulator import BotAPIEmulator

SANDBOX_TOKEN = "1000001:SANDBOX"  # noqa: S105 (the emulator is its only server)


@dataclass
class Playground:
    """One run of the sandbox: its emulator and the transcripts of the clients played."""

    emulator: BotAPIEmulator
    lock: threading.Lock = field(default_factory=threading.Lock)
    client_log: dict[int, list[dict]] = field(default_factory=dict)  # what clients wrote
    last_client_id: int = 0  # 0 until the first client: then read from the database
    creations: dict[str, deque[float]] = field(default_factory=dict)  # rate-limit windows


_state: dict[str, Playground | None] = {"playground": None}


class Sandbox:
    """The running emulator that the sandbox pages play clients on."""

    token = SANDBOX_TOKEN

    def __init__(self, emulator: BotAPIEmulator) -> None:
        self.emulator = emulator
        self.base_url = emulator.base_url

    @classmethod
    async def start(cls) -> "Sandbox":
        emulator = BotAPIEmulator([SANDBOX_TOKEN])
        await emulator.start("127.0.0.1", 0)
        sandbox_enable(emulator)
        return cls(emulator)

    async def stop(self) -> None:
        sandbox_disable()
        await self.emulator.stop()


def sandbox_enable(emulator: BotAPIEmulator) -> None:
    """Start a new run on `emulator`: no clients, transcripts or ids carried over."""
    _state["playground"] = Playground(emulator)


def sandbox_disable() -> None:
    _state["playground"] = None


def sandbox_playground() -> Playground | None:
    return _state["playground"]


def sandbox_emulator() -> BotAPIEmulator | None:
    playground = _state["playground"]
    return None if playground is None else playground.emulator
