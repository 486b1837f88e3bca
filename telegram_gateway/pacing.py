"""Keep sends under Telegram's limits ourselves, so Telegram never has to answer 429."""

import asyncio

from django.conf import settings

from telegram_gateway.loops import PerEventLoop


class SendPacer:
    """Hands out send slots: `rate` per second overall, one per `chat_interval` per chat.

    Slots are reserved in call order, so waiting senders are served first come, first served.
    """

    def __init__(self, *, rate: float, chat_interval: float) -> None:
        self.gap = 1 / rate
        self.chat_interval = chat_interval
        self._next_any = 0.0
        self._next_for_chat: dict[int, float] = {}

    async def wait_turn(self, chat_id: int) -> None:
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next_any, self._next_for_chat.get(chat_id, 0.0))
        self._next_any = slot + self.gap
        self._next_for_chat[chat_id] = slot + self.chat_interval
        if len(self._next_for_chat) > 10_000:
            self._forget_before(now)
        if slot > now:
            await asyncio.sleep(slot - now)

    async def wait_action_turn(self) -> None:
        """A slot for a chat action ("typing…"): one of the bot's overall rate only.

        Telegram (and the emulator, see telegram_emulator/limits.py) do not count chat
        actions against a chat's message limit, so an action leaves the chat's slot to
        the reply it announces; it still spends the overall rate, the budget every
        request of the bot shares.
        """
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next_any)
        self._next_any = slot + self.gap
        if slot > now:
            await asyncio.sleep(slot - now)

    def hold(self, chat_id: int, seconds: float) -> None:
        """Telegram said 429 anyway (another process sends too): wait as long as it asks."""
        until = asyncio.get_running_loop().time() + seconds
        self._next_for_chat[chat_id] = max(self._next_for_chat.get(chat_id, 0.0), until)

    def _forget_before(self, now: float) -> None:
        self._next_for_chat = {c: t for c, t in self._next_for_chat.items() if t > now}


# The pacer shared by everything that sends from this event loop.
pacer = PerEventLoop(
    lambda: SendPacer(
        rate=settings.TELEGRAM_SEND_RATE, chat_interval=settings.TELEGRAM_CHAT_SEND_INTERVAL
    )
)
