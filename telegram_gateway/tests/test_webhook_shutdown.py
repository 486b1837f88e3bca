"""A daphne process taking webhook updates stops on SIGTERM (found by bench/ingest.py:
its pushes waited in worker threads for an event loop that shutdown had stopped, and
the process hung at exit joining them)."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conversations.models import Chat
from conversations.tests.test_console_redis import REDIS_HOST, REDIS_PORT, redis_layer  # noqa: F401
from helpdesk.tests.processes import BASE_DIR, free_port, mariadb_url
from telegram_gateway.tests.conftest import wait_until
from telegram_gateway.views import SECRET_HEADER

SECRET = "shutdown_webhook-secret"


def update(update_id: int) -> bytes:
    person = {"id": 6000 + update_id % 50, "is_bot": False, "first_name": "Ann"}
    message = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {**person, "type": "private"},
        "from": person,
        "text": f"hello {update_id}",
    }
    return json.dumps({"update_id": update_id, "message": message}).encode()


def post(port: int, update_id: int) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/telegram/webhook/",
        data=update(update_id),
        headers={"Content-Type": "application/json", SECRET_HEADER: SECRET},
    )
    with contextlib.suppress(OSError):  # the process is stopping: refused or cut off
        urllib.request.urlopen(request, timeout=10).close()


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("redis_layer")
def test_daphne_stops_on_sigterm_in_the_middle_of_webhook_traffic(emulator, bot_token, tmp_path):
    port = free_port()
    environment = {
        **os.environ,
        "ENV_FILE": "/dev/null",
        "SECRET_KEY": "test",
        "DATABASE_URL": mariadb_url(),
        "REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/13",
        "TELEGRAM_BOT_TOKEN": bot_token,
        "TELEGRAM_API_BASE": emulator.base_url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    log_path = tmp_path / "daphne.log"
    daphne = Path(sys.executable).with_name("daphne")
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(daphne), "-b", "127.0.0.1", "-p", str(port), "helpdesk.asgi:application"],
            cwd=BASE_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until(lambda: _up(port), timeout=120)
        with ThreadPoolExecutor(max_workers=20) as pool:
            posts = [pool.submit(post, port, update_id) for update_id in range(1, 301)]
            time.sleep(1.5)  # traffic in full flow
            process.send_signal(signal.SIGTERM)
            stopping = time.monotonic()
            for done in posts:
                done.result()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"daphne did not stop within 30 s of SIGTERM:\n{log_path.read_text()}")
        stopped_after = time.monotonic() - stopping
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert stopped_after < 15, log_path.read_text()
    # It was busy when told to stop: the updates it had taken in are stored.
    assert Chat.objects.filter(sender_type=Chat.SenderType.CLIENT).exists()


def _up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return answer.status == 200
    except (OSError, urllib.error.URLError):
        return False
