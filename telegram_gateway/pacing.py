"""Keep sends under Telegram's limits ourselves, so Telegram never has to answer 429.

Telegram's limits are the bot's, not a process's: with several delivery workers (and a
runbot) the slots are handed out in Redis, when one is configured, so the processes
together stay under them. Without Redis one process sends, and its own pacer suffices.
"""

import asyncio
import logging

from django.conf import settings

from telegram_gateway.loops import PerEventLoop

logger = logging.getLogger(__name__)


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

    async def hold(self, chat_id: int, seconds: float) -> None:
        """Telegram said 429 anyway (a send outside our pacing): wait as long as it asks."""
        until = asyncio.get_running_loop().time() + seconds
        self._next_for_chat[chat_id] = max(self._next_for_chat.get(chat_id, 0.0), until)

    def _forget_before(self, now: float) -> None:
        self._next_for_chat = {c: t for c, t in self._next_for_chat.items() if t > now}


# Reserves the next slot, overall and for one chat, in Redis's clock: the processes'
# own clocks may differ. Returns how many seconds to wait for it. KEYS: the bot's key,
# then the chat's (none for a chat action). ARGV: the gap between any two sends, the
# gap between two sends to the chat, and a hold: the chat waits at least that long.
_RESERVE_SLOT = """
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local gap, chat_gap, hold = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local function next_free(key)
    local value = tonumber(redis.call('GET', key))
    if value and value > now then return value end
    return now
end
local function keep(key, value)
    local expires_ms = math.ceil((value - now) * 1000) + 1000
    redis.call('SET', key, string.format('%.6f', value), 'PX', expires_ms)
end
if hold > 0 then
    keep(KEYS[2], math.max(next_free(KEYS[2]), now + hold))
    return '0'
end
local slot = next_free(KEYS[1])
if KEYS[2] then slot = math.max(slot, next_free(KEYS[2])) end
keep(KEYS[1], slot + gap)
if KEYS[2] then keep(KEYS[2], slot + chat_gap) end
return string.format('%.6f', slot - now)
"""


class SharedSendPacer(SendPacer):
    """The same slots, shared through Redis by every process that sends for the bot.

    If Redis cannot be reached, this process paces alone (its own slots, as without
    Redis) rather than stop sending: at worst Telegram answers 429 and the reply is
    retried after the wait it asks for.
    """

    def __init__(self, *, rate: float, chat_interval: float, redis_url: str, bot_id: str):
        super().__init__(rate=rate, chat_interval=chat_interval)
        from redis.asyncio import Redis  # installed with channels-redis

        self._redis = Redis.from_url(redis_url)
        self._reserve = self._redis.register_script(_RESERVE_SLOT)
        self._prefix = f"telegram:pace:{bot_id}"
        self._warned = False

    async def _wait_for_slot(self, chat_id: int | None, *, hold: float = 0.0) -> bool:
        keys = [f"{self._prefix}:all"]
        if chat_id is not None:
            keys.append(f"{self._prefix}:chat:{chat_id}")
        try:
            wait = float(await self._reserve(keys=keys, args=[self.gap, self.chat_interval, hold]))
        except Exception as error:  # Redis down or restarting
            if not self._warned:
                logger.warning("pacing sends in this process only: Redis failed (%r)", error)
                self._warned = True
            return False
        self._warned = False
        if wait > 0:
            await asyncio.sleep(wait)
        return True

    async def wait_turn(self, chat_id: int) -> None:
        if not await self._wait_for_slot(chat_id):
            await super().wait_turn(chat_id)

    async def wait_action_turn(self) -> None:
        if not await self._wait_for_slot(None):
            await super().wait_action_turn()

    async def hold(self, chat_id: int, seconds: float) -> None:
        await super().hold(chat_id, seconds)
        await self._wait_for_slot(chat_id, hold=max(seconds, 0.001))


def _pacer_for_this_loop() -> SendPacer:
    rate, chat_interval = settings.TELEGRAM_SEND_RATE, settings.TELEGRAM_CHAT_SEND_INTERVAL
    if settings.REDIS_URL:
        return SharedSendPacer(
            rate=rate,
            chat_interval=chat_interval,
            redis_url=settings.REDIS_URL,
            bot_id=settings.TELEGRAM_BOT_TOKEN.split(":", 1)[0],
        )
    return SendPacer(rate=rate, chat_interval=chat_interval)


# The pacer shared by everything that sends from this event loop.
pacer = PerEventLoop(_pacer_for_this_loop)
