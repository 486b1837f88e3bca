"""Run the synchronous services from the bot's event loop, surviving database outages."""

from collections.abc import Callable
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.db import InterfaceError, OperationalError, connection

T = TypeVar("T")

# Errors worth retrying the whole update for: the database went away, a lock wait
# timed out or a deadlock victim was chosen. Anything else is a bug or bad input.
TRANSIENT_DATABASE_ERRORS = (OperationalError, InterfaceError)


def _run(func: Callable[..., T], kwargs: dict) -> T:
    try:
        return func(**kwargs)
    except TRANSIENT_DATABASE_ERRORS:
        # This worker thread's connection may be dead: drop it so a retry reconnects.
        connection.close()
        raise


async def call_service(func: Callable[..., T], /, **kwargs) -> T:
    """Call a service in a worker thread, so updates of different chats run in parallel."""
    return await sync_to_async(_run, thread_sensitive=False)(func, kwargs)
