"""One object per event loop: what holds futures or an HTTP session cannot cross loops."""

import asyncio
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerEventLoop(Generic[T]):
    """Call it inside a running loop to get that loop's instance, made by `factory` once.

    daphne and runbot run one loop; WSGI and tests make many, and each gets its own.
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self.factory = factory
        self.instances: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = (
            weakref.WeakKeyDictionary()
        )

    def __call__(self) -> T:
        loop = asyncio.get_running_loop()
        if loop not in self.instances:
            self.instances[loop] = self.factory()
        return self.instances[loop]
