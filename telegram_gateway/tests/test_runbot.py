"""`manage.py runbot` as operators run it: a real process, the emulator, the real database."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from conversations.models import Chat
from helpdesk.tests.processes import mariadb_url
from telegram_gateway.tests.conftest import bot_env, reply_waiting, wait_until
from telegram_gateway.tests.tcp_proxy import CuttableProxy

BASE_DIR = Path(__file__).resolve().parents[2]
ANN = 7001


def client_chats():
    """What clients wrote (the desk's notices are chats too, sent as CS)."""
    return Chat.objects.filter(sender_type=Chat.SenderType.CLIENT)


def runbot(
    *,
    api_base: str,
    token: str,
    database_url: str = "sqlite:////nonexistent/x.db",
    command: str = "runbot",
    environment: dict[str, str] | None = None,
):
    environment = bot_env(api_base, token, database_url, **(environment or {}))
    return subprocess.Popen(
        [sys.executable, "manage.py", command],
        cwd=BASE_DIR,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 60) -> str:
    output, _ = process.communicate(timeout=timeout)
    return output


def wait_for_output(process: subprocess.Popen, needle: str, timeout: float = 60) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen.append(line)
        if needle in line:
            return "".join(seen)
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"{needle!r} not in output:\n{''.join(seen)}")


class TestStartAndStop:
    def test_it_logs_the_bots_username_and_stops_cleanly_on_sigterm(self, emulator, bot_token):
        process = runbot(api_base=emulator.base_url, token=bot_token)
        wait_for_output(process, "bot @")
        process.send_signal(signal.SIGTERM)
        output = finish(process)
        assert process.returncode == 0, output
        assert "Traceback" not in output
        assert "stopped" in output

    def test_sigint_stops_it_too(self, emulator, bot_token):
        process = runbot(api_base=emulator.base_url, token=bot_token)
        wait_for_output(process, "is running")
        process.send_signal(signal.SIGINT)
        output = finish(process)
        assert process.returncode == 0, output
        assert "Traceback" not in output

    def test_a_missing_token_is_a_clear_error(self, emulator):
        process = runbot(api_base=emulator.base_url, token="")
        output = finish(process)
        assert process.returncode == 1
        assert "TELEGRAM_BOT_TOKEN is not set" in output
        assert "Traceback" not in output

    def test_a_rejected_token_is_a_clear_error(self, emulator):
        process = runbot(api_base=emulator.base_url, token="999:NOT-REGISTERED")
        output = finish(process)
        assert process.returncode == 1
        assert "Telegram rejected TELEGRAM_BOT_TOKEN" in output
        assert "Traceback" not in output

    def test_an_unreachable_api_is_a_clear_error(self, bot_token):
        process = runbot(api_base="http://127.0.0.1:9", token=bot_token)
        output = finish(process, timeout=60)
        assert process.returncode == 1
        assert "Cannot reach the Bot API" in output
        assert "Traceback" not in output


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
class TestNothingLostNothingDoubled:
    def test_a_database_outage_delays_updates_but_loses_none(
        self, emulator, bot_token, online_agent
    ):
        emulator.add_user(ANN, "Ann")
        with CuttableProxy("127.0.0.1", int(connection.settings_dict["PORT"] or 3306)) as proxy:
            process = runbot(
                api_base=emulator.base_url, token=bot_token, database_url=mariadb_url(proxy.port)
            )
            try:
                wait_for_output(process, "is running")
                emulator.inject_message(ANN, "before")
                wait_until(lambda: client_chats().filter(message="before").exists(), timeout=60)
                # Stored is not yet acknowledged: the row shows before COMMIT's answer
                # crosses the proxy. Cut once the bot confirmed it to Telegram.
                wait_until(lambda: not emulator.pending_updates(), timeout=60)

                proxy.cut()
                for n in range(5):
                    emulator.inject_message(ANN, f"during {n}")
                time.sleep(20)  # a 30 s backoff cap would be mid-way through a 16 s wait
                # Not stored, so not confirmed: Telegram still holds them.
                assert client_chats().count() == 1
                assert len(emulator.pending_updates()) == 5
                proxy.restore()
                restored_at = time.monotonic()

                wait_until(lambda: client_chats().count() == 6, timeout=60)
                resumed_after = time.monotonic() - restored_at
                assert resumed_after < 5, f"resumed {resumed_after:.1f} s after the database"
                emulator.inject_message(ANN, "after")
                wait_until(lambda: client_chats().filter(message="after").exists())
            finally:
                process.send_signal(signal.SIGTERM)
                output = finish(process, timeout=30)
        assert [c.message for c in client_chats().order_by("created_at", "id")] == [
            "before",
            *(f"during {n}" for n in range(5)),
            "after",
        ]
        assert "database unavailable" in output
        assert process.returncode == 0, output

    def test_a_crash_redelivers_the_batch_and_nothing_is_stored_twice(
        self, emulator, bot_token, online_agent
    ):
        database_url = mariadb_url()
        users = range(ANN, ANN + 20)
        for user in users:
            emulator.add_user(user, f"Client {user}")
        for round_ in range(5):
            for user in users:
                emulator.inject_message(user, f"message {round_}")

        crashed = runbot(api_base=emulator.base_url, token=bot_token, database_url=database_url)
        wait_until(lambda: client_chats().count() >= 10, timeout=30)
        crashed.kill()  # SIGKILL: no chance to confirm anything
        finish(crashed)
        # Some stored updates were never confirmed: Telegram will deliver them again.
        assert client_chats().count() + len(emulator.pending_updates()) > 100

        restarted = runbot(api_base=emulator.base_url, token=bot_token, database_url=database_url)
        try:
            wait_until(lambda: client_chats().count() >= 100, timeout=60)
            wait_until(lambda: not emulator.pending_updates(), timeout=30)
        finally:
            restarted.send_signal(signal.SIGTERM)
            finish(restarted, timeout=30)
        assert client_chats().count() == 100
        # One session each, so one notice each: a redelivered batch adds none.
        assert Chat.objects.filter(is_notice=True).count() == len(users)
        for user in users:
            messages = client_chats().filter(session__client__telegram_id=str(user))
            assert list(
                messages.order_by("created_at", "id").values_list("message", flat=True)
            ) == [f"message {n}" for n in range(5)]


class TestDeliverCommand:
    def test_a_missing_token_is_a_clear_error(self, emulator):
        process = runbot(api_base=emulator.base_url, token="", command="deliver")
        output = finish(process)
        assert process.returncode == 1
        assert "TELEGRAM_BOT_TOKEN is not set" in output
        assert "Traceback" not in output

    @pytest.mark.mariadb
    @pytest.mark.django_db(transaction=True)
    def test_it_sends_pending_replies_and_stops_on_sigterm(self, emulator, bot_token, agent):
        chat = reply_waiting(emulator, agent, ANN, "sent by manage.py deliver")
        database_url = mariadb_url()

        process = runbot(
            api_base=emulator.base_url,
            token=bot_token,
            database_url=database_url,
            command="deliver",
        )
        try:
            # The first wait covers the process importing aiogram: seconds on a busy machine.
            wait_until(
                lambda: Chat.objects.filter(pk=chat.pk, delivery_status="SENT").exists(),
                timeout=60,
            )
        finally:
            process.send_signal(signal.SIGTERM)
            output = finish(process)
        assert [r.text for r in emulator.sent(chat_id=ANN)] == ["sent by manage.py deliver"]
        assert process.returncode == 0, output
        assert "Traceback" not in output
