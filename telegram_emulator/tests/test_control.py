"""The threaded runner, the HTTP control API and the CLI, from synchronous code."""

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from telegram_emulator import EmulatorThread, make_bot

PROJECT = Path(__file__).resolve().parents[2]


def call(url: str, payload=None, method=None):
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_http_control_api_injects_and_lists_sent(emulator, bot_token):
    control = f"{emulator.base_url}/_emulator"
    call(f"{control}/users", {"user_id": 42, "first_name": "Alice"})
    update = call(f"{control}/inject/message", {"user_id": 42, "text": "help!"})["result"]
    photo = call(f"{control}/inject/photo", {"user_id": 42, "data_b64": "iVBORw=="})["result"]

    async def bot_answers():
        bot = make_bot(emulator.base_url, bot_token)
        try:
            updates = await bot.get_updates()
            await bot.send_message(42, f"got {len(updates)} updates")
        finally:
            await bot.session.close()

    asyncio.run(bot_answers())

    assert update["message"]["text"] == "help!"
    assert photo["message"]["photo"][-1]["file_size"] == 4
    sent = call(f"{control}/sent?chat_id=42")["result"]
    assert [(s["method"], s["text"]) for s in sent] == [("sendMessage", "got 2 updates")]
    assert call(f"{control}/stats")["result"]["requests"]["sendMessage"] == 1
    assert call(f"{control}/users")["result"][0]["first_name"] == "Alice"


def test_http_control_faults_reset_and_batch(emulator, bot_token):
    control = f"{emulator.base_url}/_emulator"
    call(f"{control}/faults", {"method": "getMe", "status": 500})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{emulator.base_url}/bot{bot_token}/getMe", timeout=5)
    assert caught.value.code == 500
    assert call(f"{emulator.base_url}/bot{bot_token}/getMe")["ok"] is True

    items = [{"kind": "message", "user_id": 7, "text": f"m{i}"} for i in range(50)]
    results = call(f"{control}/inject/batch", {"items": items})["result"]
    assert [r["update_id"] for r in results] == list(range(1, 51))
    assert len(call(f"{control}/updates")["result"]) == 50

    blob = base64.b64encode(b"doc").decode()
    file_id = call(f"{control}/files", {"data_b64": blob, "filename": "a.txt"})["result"]["file_id"]
    with urllib.request.urlopen(f"{control}/files/{file_id}", timeout=5) as response:
        assert response.read() == b"doc"

    call(f"{control}/reset", {})
    assert call(f"{control}/updates")["result"] == []
    assert call(f"{control}/stats")["result"]["requests"] == {}


def test_sent_long_poll_waits_for_the_bot(emulator, bot_token):
    emulator.add_user(42, "Alice")

    def reply_soon():
        time.sleep(0.2)
        call(f"{emulator.base_url}/bot{bot_token}/sendMessage", {"chat_id": 42, "text": "hi"})

    threading.Thread(target=reply_soon).start()
    sent = call(f"{emulator.base_url}/_emulator/sent?since_id=0&wait=5")["result"]
    assert [s["text"] for s in sent] == ["hi"]
    assert [r.text for r in emulator.wait_for_sent(1, timeout=1)] == ["hi"]


def test_control_calls_from_another_thread_wake_a_long_poll(emulator, bot_token):
    results = []

    def poll():
        async def run():
            bot = make_bot(emulator.base_url, bot_token)
            try:
                results.extend(await bot.get_updates(timeout=10))
            finally:
                await bot.session.close()

        asyncio.run(run())

    started = time.monotonic()
    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.3)
    emulator.inject_message(42, "wake up")
    poller.join(5)

    assert [u.message.text for u in results] == ["wake up"]
    assert time.monotonic() - started < 3


def test_concurrent_injection_keeps_ids_unique(emulator):
    def inject(user_id):
        for i in range(100):
            emulator.inject_message(user_id, f"{user_id}-{i}")

    threads = [threading.Thread(target=inject, args=(u,)) for u in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    updates = emulator.pending_updates()
    assert [u["update_id"] for u in updates] == list(range(1, 801))
    for user_id in range(1, 9):
        ids = [u["message"]["message_id"] for u in updates if u["message"]["chat"]["id"] == user_id]
        assert ids == list(range(1, 101))


def test_emulator_thread_without_fixture():
    with EmulatorThread(["1:A"], limits_enabled=False) as emulator:
        assert call(f"{emulator.base_url}/bot1:A/getMe")["result"]["id"] == 1
        base_url = emulator.base_url
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{base_url}/bot1:A/getMe", timeout=1)


def test_cli_serves_until_sigterm():
    process = subprocess.Popen(
        [sys.executable, "-m", "telegram_emulator", "--port", "0", "--token", "5:CLI"],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    try:
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert call(f"{base_url}/bot5:CLI/getMe")["result"]["id"] == 5
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
        process.stdout.close()
        process.stderr.close()


def test_an_album_arrives_as_one_message_per_item_sharing_its_id(emulator, bot_token):
    emulator.add_user(42, "Alice")
    updates = emulator.inject_album(42, [b"\x89PNG one", b"\x89PNG two", b"\x89PNG 3"], "trip")
    control = f"{emulator.base_url}/_emulator"
    over_http = call(
        f"{control}/inject/album",
        {"user_id": 42, "items_b64": ["iVBORw==", "iVBORw=="], "kind": "document"},
    )["result"]

    messages = [u["message"] for u in updates]
    assert len({m["media_group_id"] for m in messages}) == 1
    assert [m.get("caption") for m in messages] == ["trip", None, None]
    assert all(m["photo"] for m in messages)
    assert len({m["message_id"] for m in messages}) == 3
    assert [u["message"]["document"]["file_name"] for u in over_http] == ["document.bin"] * 2
    assert over_http[0]["message"]["media_group_id"] != messages[0]["media_group_id"]
    with pytest.raises(ValueError, match="2 to 10"):
        emulator.inject_album(42, [b"\x89PNG alone"])
