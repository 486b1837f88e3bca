import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
from django.db import OperationalError

from telegram_emulator.pytest_fixtures import bot_token, emulator  # noqa: F401
from telegram_gateway.bot import build_bot, build_dispatcher
from telegram_gateway.delivery import DeliveryWorker
from telegram_gateway.polling import UpdatePoller

T = TypeVar("T")


class BotThread:
    """The real bot on its own loop against the emulator: poller and/or delivery worker."""

    def __init__(self, base_url: str, token: str, *, poll: bool = True, deliver: bool = True):
        self.base_url, self.token = base_url, token
        self.poll, self.deliver = poll, deliver
        self.ready = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self.poller: UpdatePoller | None = None
        self.worker: DeliveryWorker | None = None

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stop_event = asyncio.Event()
        bot = build_bot(self.token, self.base_url)
        jobs = []
        if self.poll:
            self.poller = UpdatePoller(
                bot, build_dispatcher(), stop=self.stop_event, poll_timeout=1
            )
            jobs.append(self.poller.run())
        if self.deliver:
            self.worker = DeliveryWorker(bot, stop=self.stop_event)
            jobs.append(self.worker.run())
        self.ready.set()
        try:
            await asyncio.gather(*jobs)
        finally:
            await bot.session.close()

    def start(self) -> "BotThread":
        self.thread.start()
        self.ready.wait(5)
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(15)
        assert not self.thread.is_alive(), "the bot did not stop"


@pytest.fixture
def running_bot(emulator, bot_token, transactional_db) -> Iterator[BotThread]:  # noqa: F811
    bot = BotThread(emulator.base_url, bot_token).start()
    yield bot
    bot.stop()


@pytest.fixture
def start_worker(emulator, bot_token, transactional_db):  # noqa: F811
    """Start delivery workers (no polling) against the emulator; all stopped at teardown."""
    started = []

    def start() -> BotThread:
        worker = BotThread(emulator.base_url, bot_token, poll=False).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.thread.is_alive():
            worker.stop()


@pytest.fixture
def agent(make_user):
    """The CS the tests' sessions belong to."""
    return make_user("cs1@helpdesk.com", name="CS One")


@pytest.fixture
def online_agent(agent):
    """The CS, on duty: new clients' sessions go to it."""
    from accounts.models import User

    User.objects.filter(pk=agent.pk).update(status_online=True)
    return agent


def reply_waiting(bot_api, agent, telegram_id: int, text: str):
    """A reply the agent stored for a Telegram user, waiting for a delivery worker."""
    from conversations.models import Client, Session
    from conversations.services import chat_send

    bot_api.add_user(telegram_id, "Ann")
    client = Client.objects.create(telegram_id=str(telegram_id), name="Ann")
    session = Session.objects.create(client=client, cs=agent)
    return chat_send(session=session, agent=agent, text=text)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def unlocked(action: Callable[[], T]) -> T:
    """Run `action` (a write), again while SQLite's shared in-memory test database has a
    table locked by the bot's thread: SQLite answers that at once, MariaDB waits."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return action()
        except OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> object:
    """Poll until `condition()` is truthy (the bot works in other threads)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if result := condition():
                return result
        except OperationalError:
            pass  # SQLite's shared in-memory test database locks whole tables briefly
        time.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout}s")


def bot_env(api_base: str, token: str, database_url: str, **settings: str) -> dict:
    """The environment of a `runbot` or `deliver` process: this one's, minus what would
    change how it runs (Redis, the log format), plus `settings`."""
    env = {
        **os.environ,
        "ENV_FILE": "/dev/null",
        "SECRET_KEY": "test",
        "DATABASE_URL": database_url,
        "TELEGRAM_API_BASE": api_base,
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_POLL_TIMEOUT": "1",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("REDIS_URL", "LOG_FORMAT", "LOG_LEVEL"):
        env.pop(name, None)
    return {**env, **settings}
