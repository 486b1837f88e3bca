"""Flood limits shaped like Telegram's: ~30 messages/s per bot, ~1/s per chat.

Telegram tolerates short bursts and then answers 429 with ``retry_after``; token buckets
reproduce that: a bucket holds ``burst`` tokens and refills at ``rate`` per second.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    rate: float
    burst: float
    tokens: float = -1.0
    stamp: float = 0.0

    def wait_time(self, now: float) -> float:
        """Refill, then return seconds until one token is available (0 when it is)."""
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 - 1e-6 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


@dataclass
class LimitSettings:
    """Knobs of the flood limits; the defaults follow Telegram's published guidance."""

    global_rate: float = 30.0
    global_burst: float = 30.0
    chat_rate: float = 1.0
    chat_burst: float = 3.0
    group_rate: float = 20 / 60  # 20 messages per minute in one group
    group_burst: float = 20.0


@dataclass
class RateLimiter:
    """Per-bot limiter; callers hold the emulator lock."""

    settings: LimitSettings = field(default_factory=LimitSettings)
    clock: Callable[[], float] = time.monotonic
    _global: dict[int, TokenBucket] = field(default_factory=dict)
    _chats: dict[tuple[int, int], TokenBucket] = field(default_factory=dict)
    _groups: dict[tuple[int, int], TokenBucket] = field(default_factory=dict)

    def check(self, bot_id: int, chat_id: int) -> int | None:
        """Consume one send, or return ``retry_after`` (whole seconds ≥ 1) if over a limit."""
        s, now = self.settings, self.clock()
        buckets = [
            self._global.setdefault(bot_id, TokenBucket(s.global_rate, s.global_burst)),
            self._chats.setdefault((bot_id, chat_id), TokenBucket(s.chat_rate, s.chat_burst)),
        ]
        if chat_id < 0:
            buckets.append(
                self._groups.setdefault((bot_id, chat_id), TokenBucket(s.group_rate, s.group_burst))
            )
        wait = max(bucket.wait_time(now) for bucket in buckets)
        if wait > 0:
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.take()
        return None

    def reset(self) -> None:
        self._global.clear()
        self._chats.clear()
        self._groups.clear()
