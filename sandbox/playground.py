"""The sandbox's Bot API emulator, started by `manage.py serve` when it has no bot token."""

from telegram_emulator import BotAPIEmulator

SANDBOX_TOKEN = "1000001:SANDBOX"  # noqa: S105 (the emulator is its only server)

_state: dict = {"emulator": None}


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
    _state["emulator"] = emulator


def sandbox_disable() -> None:
    _state["emulator"] = None


def sandbox_emulator() -> BotAPIEmulator | None:
    return _state["emulator"]
