"""What `runbot` and `deliver` write to standard error, as operators read it.

Real processes against the emulator: one line per event that matters (not one per
update), JSON lines tagged with the update or reply they are about, no bot token.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from helpdesk.tests.processes import command_running, manage, mariadb_url
from helpdesk.tests.test_logs import json_lines
from telegram_gateway.tests.conftest import bot_env, reply_waiting, wait_until

ANN = 7101


@contextmanager
def running(command: str, env: dict, stderr_path: Path) -> Iterator[Path]:
    """Run `manage.py <command>` until the block ends; its stderr alone in a file."""
    with command_running(command, env=env, log_path=stderr_path, stderr_only=True) as process:
        yield stderr_path
    assert process.returncode == 0, stderr_path.read_text()


@pytest.fixture(scope="module")
def migrated_database(tmp_path_factory) -> str:
    """A database of the processes' own (SQLite), so this runs in either test pass."""
    path = tmp_path_factory.mktemp("logs-db") / "db.sqlite3"
    # Writers wait their turn rather than fail at once with "database is locked".
    url = f"sqlite:///{path}?transaction_mode=IMMEDIATE"
    manage("migrate", "--noinput", env={**bot_env("", "", url), "LOG_LEVEL": "WARNING"})
    return url


def test_a_backlog_drains_in_a_few_lines_not_one_per_update(
    emulator, bot_token, migrated_database, tmp_path
):
    clients = range(ANN, ANN + 5)
    for client in clients:
        emulator.add_user(client, f"Client {client}")
        for n in range(40):
            emulator.inject_message(client, f"backlog {n}")
    env = bot_env(emulator.base_url, bot_token, migrated_database)
    with running("runbot", env, tmp_path / "stderr.log"):
        wait_until(lambda: not emulator.pending_updates(), timeout=60)
    lines = (tmp_path / "stderr.log").read_text().splitlines()

    # Start and stop, and what went wrong if anything did: not 200 lines.
    assert "stopped after 200 update(s)" in lines[-1]
    assert len(lines) < 20, "\n".join(lines)


def test_json_lines_carry_the_update_or_reply_they_are_about(
    emulator, bot_token, migrated_database, tmp_path
):
    emulator.add_user(ANN + 10, "Ann")
    update = emulator.inject_message(ANN + 10, "hello")
    # The desk's queue notice is refused once, then sent: a line about that reply.
    emulator.fail_next("sendMessage", 500)
    env = bot_env(
        emulator.base_url, bot_token, migrated_database, LOG_FORMAT="json", LOG_LEVEL="DEBUG"
    )
    with running("runbot", env, tmp_path / "stderr.log"):
        wait_until(lambda: emulator.sent(chat_id=ANN + 10), timeout=60)
    stderr = (tmp_path / "stderr.log").read_text()
    records = json_lines(stderr)

    handled = [r for r in records if r["message"].startswith("Update id=")]
    assert [(r["message"].split()[1], r["update_id"]) for r in handled] == [
        (f"id={update['update_id']}", update["update_id"])
    ]
    retried = [r for r in records if re.match(r"reply \S+ will be retried", r["message"])]
    assert retried
    for record in retried:
        assert record["message"].split()[1] == str(record["reply_id"])
    assert bot_token not in stderr


def test_an_update_retried_through_a_database_outage_is_one_warning_each_time(
    emulator, bot_token, tmp_path
):
    emulator.add_user(ANN, "Ann")
    update = emulator.inject_message(ANN, "during the outage")
    # Malformed, and quoting the token: skipped, and the line says so without it.
    emulator.inject_update({"message": f"see /bot{bot_token}/getMe"})
    gone = "sqlite:////nonexistent/helpdesk.sqlite3"
    # DEBUG: aiogram's own per-update lines are on too.
    env = bot_env(emulator.base_url, bot_token, gone, LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    with running("runbot", env, tmp_path / "stderr.log") as stderr_path:
        retry = f"database unavailable for update {update['update_id']}"
        wait_until(lambda: stderr_path.read_text().count(retry) >= 2, timeout=60)
    stderr = (tmp_path / "stderr.log").read_text()
    records = json_lines(stderr)

    about_it = [r for r in records if r.get("update_id") == update["update_id"]]
    assert {(r["level"], r["logger"]) for r in about_it} == {
        ("WARNING", "telegram_gateway.polling")
    }
    assert all(r["message"].startswith(retry) for r in about_it)
    assert not [r for r in records if "exc_info" in r]
    assert "not handled" not in stderr
    skipped = [r for r in records if r["message"].startswith("malformed update")]
    assert len(skipped) == 1
    assert "bot<redacted>/getMe" in skipped[0]["message"]
    assert bot_token not in stderr


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_deliver_writes_json_lines_about_each_reply(emulator, bot_token, agent, tmp_path):
    from conversations.models import Chat

    chat = reply_waiting(emulator, agent, ANN, "sent by manage.py deliver")
    emulator.fail_next("sendMessage", 502)
    env = bot_env(emulator.base_url, bot_token, mariadb_url(), LOG_FORMAT="json")

    with running("deliver", env, tmp_path / "stderr.log"):
        wait_until(
            lambda: Chat.objects.filter(pk=chat.pk, delivery_status="SENT").exists(),
            timeout=60,
        )
    stderr = (tmp_path / "stderr.log").read_text()
    records = json_lines(stderr)

    about_it = [r for r in records if r["message"].startswith(f"reply {chat.pk} ")]
    assert about_it, stderr
    assert {str(r["reply_id"]) for r in about_it} == {str(chat.pk)}
    assert bot_token not in stderr
