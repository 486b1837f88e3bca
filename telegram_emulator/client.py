"""Point a real aiogram Bot at an emulator (or any Bot API server) by base URL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiogram import Bot


def make_bot(base_url: str, token: str, **session_kwargs: Any) -> Bot:
    """Return ``Bot(token)`` talking to ``base_url``; close it with ``await bot.session.close()``.

    ``is_local`` stays False so downloads go over HTTP rather than the local disk.
    """
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    class LoopbackSession(AiohttpSession):
        """Close without aiogram's 250 ms grace period, which only lets SSL connections
        drain; plain HTTP on loopback has none, and tests close many sessions."""

        async def close(self) -> None:
            if self._session is not None and not self._session.closed:
                await self._session.close()

    session = LoopbackSession(api=TelegramAPIServer.from_base(base_url), **session_kwargs)
    return Bot(token, session=session)
