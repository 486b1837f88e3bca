"""The console over channels-redis, as several daphne processes run it in production.

redis-py 8 gave sockets a 5 s timeout that tore down every idle consumer
(channels_redis#422); this holds a console idle past that and then pushes to it.
"""

import asyncio
import os
import socket

import pytest
from channels.db import database_sync_to_async

from conversations import services
from conversations.tests.test_console_live import connected, incoming, next_events

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def redis_reachable() -> bool:
    try:
        socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def redis_layer(settings):
    if not redis_reachable():
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(
                f"Redis is required (REQUIRE_REDIS=1) but {REDIS_HOST}:{REDIS_PORT} is down"
            )
        pytest.skip(f"no Redis at {REDIS_HOST}:{REDIS_PORT}")
    # A database of its own, so a test never reads another run's messages.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://{REDIS_HOST}:{REDIS_PORT}/13"]},
        }
    }


async def test_an_idle_console_still_gets_pushes_after_five_seconds(redis_layer, cs_user):
    await database_sync_to_async(services.agent_presence_set)(agent=cs_user, online=True)
    console = await connected(cs_user)

    await asyncio.sleep(6.5)  # idle past redis-py 8's 5 s socket timeout
    result = await database_sync_to_async(services.chat_record_incoming)(
        incoming=incoming("601", "still there?")
    )

    message = await next_events(console, "chat", timeout=5)
    assert message["chat_id"] == result.chat.pk and "still there?" in message["html"]
    await console.disconnect()
