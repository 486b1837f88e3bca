"""Ingest benchmark: Telegram updates through emulator → `manage.py runbot` → MariaDB.

    .venv/bin/python bench/ingest.py [--clients 1000] [--per-client 10]

Prints end-to-end updates/s, the bot's peak RSS, and the raw ceiling measured in
the same run: single-row INSERT + COMMIT of an equivalent chat row through
mysqlclient, one connection, no ORM. Needs a MariaDB/MySQL server
(BENCH_DATABASE_URL, default mysql://root@127.0.0.1:3306/helpdesk_bench; the
database is dropped and re-created).
"""

import argparse
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import MySQLdb
from common import BASE_DIR, TOKEN, bot_environment, fresh_database
from django.db import connection

from accounts.models import User
from conversations.models import Chat
from helpdesk.ids import new_cuid
from telegram_emulator import EmulatorThread


def raw_insert_ceiling(rows: int = 2000) -> float:
    """Rows/s for single-row INSERT + COMMIT of a chat through mysqlclient."""
    from conversations.models import Client, Session

    client = Client.objects.create(telegram_id="ceiling", name="Ceiling")
    session = Session.objects.create(client=client)
    params = connection.get_connection_params()
    raw = MySQLdb.connect(**params)
    cursor = raw.cursor()
    sql = (
        "INSERT INTO chats (id, session_id, sender_type, message_type, message, is_read, "
        "created_at, telegram_message_id, telegram_file_id) "
        "VALUES (%s, %s, 'CLIENT', 'TEXT', %s, 0, NOW(6), %s, '')"
    )
    started = time.perf_counter()
    for n in range(rows):
        cursor.execute(sql, (new_cuid(), session.id, f"raw message {n}", n))
        raw.commit()
    elapsed = time.perf_counter() - started
    cursor.execute("DELETE FROM chats WHERE session_id = %s", (session.id,))
    raw.commit()
    raw.close()
    session.delete()
    client.delete()
    return rows / elapsed


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def aiogram_import_floor_mb() -> float:
    """Peak RSS of a Python that only imports aiogram: the bot's floor, for reference."""
    subprocess.run([sys.executable, "-c", "import aiogram.types"], check=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--per-client", type=int, default=10)
    args = parser.parse_args()
    total = args.clients * args.per_client

    fresh_database()
    for n in (1, 2, 3):
        User.objects.create_user(f"cs{n}@bench.local", f"CS {n}", "x", status_online=True)
    ceiling = raw_insert_ceiling()
    floor = aiogram_import_floor_mb()

    # Replies (queue/connected notices) go out at Telegram's pace in production; here
    # the emulator's limits are off so the figure measures ingestion alone.
    with EmulatorThread([TOKEN]) as emulator:
        emulator.set_limits(enabled=False)
        for n in range(args.clients):
            emulator.add_user(10_000 + n, f"Client {n}", username=f"client{n}")
        bot = subprocess.Popen(
            [sys.executable, "manage.py", "runbot"],
            cwd=BASE_DIR,
            env=bot_environment(emulator.base_url),
        )
        try:
            while not emulator.requests("getUpdates"):
                time.sleep(0.05)
            started = time.perf_counter()
            for round_ in range(args.per_client):
                for n in range(args.clients):
                    emulator.inject_message(10_000 + n, f"message {round_} from client {n} 👋")
            injected = time.perf_counter()
            # Clients' messages only: the queue/connected notices are chats too.
            messages = Chat.objects.filter(sender_type=Chat.SenderType.CLIENT)
            while (stored := messages.count()) < total:
                time.sleep(0.1)
            elapsed = time.perf_counter() - started
            rss = peak_rss_mb(bot.pid)
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(60)

    print(f"updates:              {total} from {args.clients} clients ({stored} stored)")
    print(f"injection took:       {injected - started:.2f} s")
    print(f"end to end:           {total / elapsed:,.0f} updates/s ({elapsed:.2f} s)")
    print(f"raw ceiling:          {ceiling:,.0f} single-row INSERT+COMMIT/s")
    print(f"ratio to ceiling:     {total / elapsed / ceiling:.2f}")
    print(f"bot peak RSS:         {rss:.0f} MB (import aiogram alone: {floor:.0f} MB)")


if __name__ == "__main__":
    main()
