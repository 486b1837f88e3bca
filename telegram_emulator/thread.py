"""Run the emulator on its own event loop in a background thread, for synchronous code."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

from .server import BotAPIEmulator

T = TypeVar("T")


class EmulatorThread(BotAPIEmulator):
    """A BotAPIEmulator serving from a daemon thread; use as ``with EmulatorThread(...)``.

    Control methods (add_user, inject_message, sent, fail_next, ...) are thread-safe and
    may be called from the test thread while the server runs. Don't await ``start()`` /
    ``stop()`` yourself; the context manager (or start_thread/stop_thread) does it.
    """

    def __init__(
        self, tokens: Iterable[str] = (), *, host: str = "127.0.0.1", port: int = 0, **kwargs: Any
    ) -> None:
        super().__init__(tokens, **kwargs)
        self._bind = (host, port)
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None

    def start_thread(self, timeout: float = 10.0) -> str:
        """Start serving in the background; return the base URL once it listens."""
        if self._thread is not None:
            raise RuntimeError("already running")
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._thread_loop = loop
            try:
                loop.run_until_complete(self.start(*self._bind))
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.stop())
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=serve, name="bot-api-emulator", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("the emulator did not start in time")
        if failure:
            self._thread = None
            raise failure[0]
        return self.base_url

    def stop_thread(self, timeout: float = 10.0) -> None:
        """Stop the server and join its thread."""
        thread, loop = self._thread, self._thread_loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = self._thread_loop = None

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
        """Run a coroutine on the emulator's loop from another thread and return its result."""
        if self._thread_loop is None:
            raise RuntimeError("the emulator thread is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._thread_loop).result(timeout)

    def __enter__(self) -> EmulatorThread:
        self.start_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_thread()
