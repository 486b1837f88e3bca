"""Reusable pytest fixtures; import them from a conftest.py::

    from telegram_emulator.pytest_fixtures import bot_token, emulator  # noqa: F401

``emulator`` is a started ``EmulatorThread`` (works for sync and async tests alike);
``async_emulator`` runs on the test's own loop; ``emulated_bot`` is a real aiogram ``Bot``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from .client import make_bot
from .server import BotAPIEmulator
from .thread import EmulatorThread

if TYPE_CHECKING:
    from aiogram import Bot

BOT_TOKEN = "123456:TEST-TOKEN"  # noqa: S105 (a fake token the emulator knows)


@pytest.fixture
def bot_token() -> str:
    """The token registered with the emulator fixtures."""
    return BOT_TOKEN


@pytest.fixture
def emulator(bot_token: str) -> Iterator[EmulatorThread]:
    """A Bot API emulator serving from a background thread, with ``bot_token`` registered."""
    with EmulatorThread([bot_token], webhook_retry_base=0.05) as running:
        yield running


@pytest_asyncio.fixture
async def async_emulator(bot_token: str) -> AsyncIterator[BotAPIEmulator]:
    """A Bot API emulator on the test's event loop, with ``bot_token`` registered."""
    running = BotAPIEmulator([bot_token], webhook_retry_base=0.05)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest_asyncio.fixture
async def emulated_bot(async_emulator: BotAPIEmulator, bot_token: str) -> AsyncIterator[Bot]:
    """A real aiogram Bot talking to ``async_emulator``."""
    bot = make_bot(async_emulator.base_url, bot_token)
    try:
        yield bot
    finally:
        await bot.session.close()
