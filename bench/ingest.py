"""Ingest benchmark: Telegram updates through emulator → `manage.py runbot` → MariaDB.

    .venv/bin/python bench/ingest.py [--clients 1000] [--per-client 10] [--webhook]

Prints end-to-end updates/s, the bot's peak RSS, and the raw ceiling measured in
the same run: single-row INSERT + COMMIT of an equivalent chat row through
mysqlclient, one connection, no ORM. Needs a MariaDB/MySQL server
(BENCH_DATABASE_URL, default mysql://root@127.0.0.1:3306/helpdesk_bench; the
database is dropped and re-created).

`--webhook`: then, on a fresh database, the same updates POSTed to the webhook of two
daphne processes (taken in turn, 40 requests at once like Telegram's default
max_connections; with one `manage.py deliver` sending the notices, as runbot does
when polling, and Redis between them: BENCH_REDIS_URL, default
redis://127.0.0.1:6379/12, flushed), printed beside polling's updates/s. Both modes
check that every update was stored exactly once.
"""

import argparse
import asyncio
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import MySQLdb
import redis
from common import BASE_DIR, TOKEN, bot_environment, fresh_database
from django.db import connection

from accounts.models import User
from conversations.models import Chat
from helpdesk.ids import new_cuid
from telegram_emulator import EmulatorThread

WEBHOOK_SECRET = "bench-webhook-secret"
RETRIES = 20  # of one update before the run is given up
ASGI_APP = "helpdesk.asgi:application"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")


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


def agents_add() -> None:
    for n in (1, 2, 3):
        User.objects.create_user(f"cs{n}@bench.local", f"CS {n}", "x", status_online=True)


def load() -> str:
    return "load average " + ", ".join(f"{n:.2f}" for n in os.getloadavg())


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def aiogram_import_floor_mb() -> float:
    """Peak RSS of a Python that only imports aiogram: the bot's floor, for reference."""
    subprocess.run([sys.executable, "-c", "import aiogram.types"], check=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def clients_add(emulator, clients: int) -> None:
    for n in range(clients):
        emulator.add_user(10_000 + n, f"Client {n}", username=f"client{n}")


def updates_inject(emulator, clients: int, per_client: int) -> list[dict]:
    """The same updates for both modes: `per_client` rounds of a message from each client."""
    return [
        emulator.inject_message(10_000 + n, f"message {round_} from client {n} 👋")
        for round_ in range(per_client)
        for n in range(clients)
    ]


def stored_once(total: int) -> str:
    """Every update stored, and none twice (Telegram's message ids are unique per chat)."""
    messages = Chat.objects.filter(sender_type=Chat.SenderType.CLIENT)
    distinct = messages.values("session__client_id", "telegram_message_id").distinct().count()
    stored = messages.count()
    verdict = "each once" if stored == distinct == total else "NOT each once"
    return f"{stored} stored, {distinct} distinct: {verdict}"


def polling_run(args) -> dict:
    """Updates through `manage.py runbot` polling getUpdates."""
    total = args.clients * args.per_client
    # Replies (queue/connected notices) go out at Telegram's pace in production; here
    # the emulator's limits are off so the figure measures ingestion alone.
    with EmulatorThread([TOKEN]) as emulator:
        emulator.set_limits(enabled=False)
        clients_add(emulator, args.clients)
        bot = subprocess.Popen(
            [sys.executable, "manage.py", "runbot"],
            cwd=BASE_DIR,
            env=bot_environment(emulator.base_url),
        )
        try:
            while not emulator.requests("getUpdates"):
                time.sleep(0.05)
            started = time.perf_counter()
            updates_inject(emulator, args.clients, args.per_client)
            injected = time.perf_counter()
            # Clients' messages only: the queue/connected notices are chats too.
            messages = Chat.objects.filter(sender_type=Chat.SenderType.CLIENT)
            while messages.count() < total:
                time.sleep(0.1)
            elapsed = time.perf_counter() - started
            rss = peak_rss_mb(bot.pid)
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(60)
    time.sleep(1)  # a last duplicate would show now
    return {
        "elapsed": elapsed,
        "injected": injected - started,
        "rss": rss,
        "once": stored_once(total),
    }


async def webhook_post(
    updates: list[dict], bases: list[str], concurrency: int
) -> tuple[int, dict[int, int]]:
    """POST the updates in order, as Telegram does: up to `concurrency` at once, each
    until it is answered 2xx, the processes taken in turn (nginx's round-robin).

    Returns the retries, and how many updates each process took.
    """
    import aiohttp

    queue: asyncio.Queue[tuple[int, dict]] = asyncio.Queue()
    for index, update in enumerate(updates):
        queue.put_nowait((index, update))
    retries = 0
    taken: dict[int, int] = dict.fromkeys(range(len(bases)), 0)
    headers = {SECRET_HEADER: WEBHOOK_SECRET}

    async def sender(session: aiohttp.ClientSession) -> None:
        nonlocal retries
        while not queue.empty():
            index, update = queue.get_nowait()
            process = index % len(bases)
            for attempt in range(RETRIES + 1):
                try:
                    async with session.post(bases[process], json=update, headers=headers) as r:
                        answer = f"{r.status} {(await r.text())[:200]}"
                        if 200 <= r.status < 300:
                            break
                except aiohttp.ClientError as error:
                    answer = repr(error)
                if attempt == RETRIES:
                    raise SystemExit(f"update {index} refused {RETRIES} times: {answer}")
                retries += 1
                await asyncio.sleep(0.5)
            taken[process] += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(sender(session) for _ in range(concurrency)))
    return retries, taken


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def webhook_run(args) -> dict:
    """The same updates POSTed to the webhook of two daphne processes, and one
    `manage.py deliver` sending the notices (runbot sends them in polling mode)."""
    total = args.clients * args.per_client
    with EmulatorThread([TOKEN]) as emulator:
        emulator.set_limits(enabled=False)
        clients_add(emulator, args.clients)
        # Queued in the emulator, never fetched: only their JSON is used here.
        updates = updates_inject(emulator, args.clients, args.per_client)
        env = {
            **bot_environment(emulator.base_url),
            "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "REDIS_URL": REDIS_URL,
            "ALLOWED_HOSTS": "127.0.0.1",
        }
        ports = [free_port() for _ in range(args.webhook_processes)]
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), ASGI_APP],
                cwd=BASE_DIR,
                env=env,
                stdout=subprocess.DEVNULL,  # daphne logs every request
            )
            for port in ports
        ]
        processes.append(
            subprocess.Popen([sys.executable, "manage.py", "deliver"], cwd=BASE_DIR, env=env)
        )
        try:
            deadline = time.monotonic() + 120
            while not all(port_open(port) for port in ports):
                if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                    raise SystemExit("daphne did not start")
                time.sleep(0.1)
            bases = [f"http://127.0.0.1:{port}/telegram/webhook/" for port in ports]
            started = time.perf_counter()
            retries, taken = asyncio.run(webhook_post(updates, bases, args.concurrency))
            elapsed = time.perf_counter() - started
            rss = max(peak_rss_mb(p.pid) for p in processes[: len(ports)])
        finally:
            killed = processes_stop(processes)
    return {
        "elapsed": elapsed,
        "rss": rss,
        "retries": retries,
        "taken": taken,
        "once": stored_once(total),
        "killed": killed,
    }


def processes_stop(processes: list[subprocess.Popen], grace: float = 30) -> list[str]:
    """SIGTERM, then SIGKILL what is still running after `grace` seconds; returns those."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    killed = []
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            killed.append(" ".join(process.args[1:]))
    return killed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--per-client", type=int, default=10)
    parser.add_argument(
        "--webhook",
        action="store_true",
        help="then the same updates through the webhook of daphne processes",
    )
    parser.add_argument("--webhook-processes", type=int, default=2)
    parser.add_argument(
        "--concurrency", type=int, default=40, help="webhook requests at once (max_connections)"
    )
    args = parser.parse_args()
    total = args.clients * args.per_client

    fresh_database()
    agents_add()
    ceiling = raw_insert_ceiling()
    floor = aiogram_import_floor_mb()
    print(f"before polling:       {load()}")
    polling = polling_run(args)
    print(f"after polling:        {load()}")

    print(f"updates:              {total} from {args.clients} clients ({polling['once']})")
    print(f"injection took:       {polling['injected']:.2f} s")
    rate = total / polling["elapsed"]
    print(f"end to end:           {rate:,.0f} updates/s ({polling['elapsed']:.2f} s)")
    print(f"raw ceiling:          {ceiling:,.0f} single-row INSERT+COMMIT/s")
    print(f"ratio to ceiling:     {total / polling['elapsed'] / ceiling:.2f}")
    print(f"bot peak RSS:         {polling['rss']:.0f} MB (import aiogram alone: {floor:.0f} MB)")
    if not args.webhook:
        return

    redis.Redis.from_url(REDIS_URL).flushdb()
    fresh_database()
    agents_add()
    print(f"before webhook:       {load()}")
    webhook = webhook_run(args)
    print(f"after webhook:        {load()}")
    share = ", ".join(str(n) for n in webhook["taken"].values())
    print(
        f"webhook:              {total / webhook['elapsed']:,.0f} updates/s "
        f"({webhook['elapsed']:.2f} s; {args.webhook_processes} daphne processes, "
        f"{args.concurrency} requests at once, REDIS_URL={REDIS_URL})"
    )
    print(f"  updates taken:      {share} by process; {webhook['retries']} retried")
    print(f"  stored:             {webhook['once']}")
    print(f"  daphne peak RSS:    {webhook['rss']:.0f} MB (largest)")
    if webhook["killed"]:
        for command in webhook["killed"]:
            print(f"  SIGKILLed:          {command} (still running 30 s after SIGTERM)")
    print(f"polling, same run:    {total / polling['elapsed']:,.0f} updates/s")


if __name__ == "__main__":
    main()
