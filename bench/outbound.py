"""Outbound benchmark: replies committed here, sent by `manage.py deliver` workers (limits on).

    .venv/bin/python bench/outbound.py [--workers 2] [--chats 200] [--per-chat 10]
    .venv/bin/python bench/outbound.py --no-redis   # before: one worker, polling only

This process plays the web process: it commits agents' replies with `chat_send`,
whose after-commit announcement wakes the delivery workers of the other processes
through Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/11, flushed), and the
workers share Telegram's limits through it too. First 2,000 replies to 200 chats are
committed at once and sent to the Bot API emulator with Telegram's flood limits on:
messages/s and 429s. Then a steady 20 replies/s for 15 s: p50/p95/p99 from each
reply's commit to Telegram's acceptance, and 429s.

`--no-redis` runs the same without Redis: one worker, which finds replies committed
in another process only at its next look (DELIVERY_POLL_INTERVAL).
Needs MariaDB (BENCH_DATABASE_URL, see common.py).
"""

import argparse
import os

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--workers", type=int, default=2, help="`manage.py deliver` processes")
parser.add_argument("--no-redis", action="store_true", help="one worker, polling only")
parser.add_argument("--chats", type=int, default=200)
parser.add_argument("--per-chat", type=int, default=10)
parser.add_argument("--steady-rate", type=float, default=20, help="replies/s")
parser.add_argument("--steady-seconds", type=float, default=15)
args = parser.parse_args()
# Before Django is set up (common.py): the channel layer is chosen from it.
REDIS_URL = "" if args.no_redis else os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
os.environ["REDIS_URL"] = REDIS_URL

import asyncio  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from common import BASE_DIR, TOKEN, bot_environment, fresh_database, percentile  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402

from accounts.models import User  # noqa: E402
from conversations.events import DELIVERIES_GROUP  # noqa: E402
from conversations.models import Chat, Client, Session  # noqa: E402
from conversations.services import chat_send  # noqa: E402
from telegram_emulator import EmulatorThread  # noqa: E402


def reply_commit(session: Session, agent: User, text: str) -> float:
    """Commit a reply as a web request does; returns time.monotonic() at its commit.

    The stamp is the first after-commit callback, so it runs before chat_send's own
    (the workers' announcement, the consoles' push), as soon as the commit returns.
    """
    committed_at = []
    with transaction.atomic():
        transaction.on_commit(lambda: committed_at.append(time.monotonic()))
        chat_send(session=session, agent=agent, text=text)
    return committed_at[0]


def announcement_heard(session: Session, agent: User, text: str) -> tuple[bool, float]:
    """Commit one reply while listening on the workers' group: does its commit reach Redis?"""
    from asgiref.sync import sync_to_async
    from channels.layers import get_channel_layer

    async def listen() -> tuple[bool, float]:
        layer = get_channel_layer()
        channel = await layer.new_channel("bench.")
        await layer.group_add(DELIVERIES_GROUP, channel)
        try:
            committed_at = await sync_to_async(reply_commit)(session, agent, text)
            try:
                await asyncio.wait_for(layer.receive(channel), 2)
            except TimeoutError:
                return False, committed_at
            return True, committed_at
        finally:
            await layer.group_discard(DELIVERIES_GROUP, channel)

    return asyncio.run(listen())


def steady_commits(sessions: list[Session], agent: User) -> tuple[dict[str, float], list[float]]:
    """Commit replies at a steady rate the way daphne runs sync views: each in a thread
    of its own beside a running event loop, which the after-commit announcements reach
    Redis through (one connection, as in a web process), and a slow commit (a busy
    machine) does not hold up the next one's start.

    Returns each reply's commit time, and how long each chat_send took.
    """
    from asgiref.sync import sync_to_async

    committed: dict[str, float] = {}
    durations: list[float] = []

    def commit(session: Session, text: str) -> None:
        started = time.monotonic()
        committed[text] = reply_commit(session, agent, text)
        durations.append(committed[text] - started)

    async def run() -> None:
        gap = 1 / args.steady_rate
        commits = []
        next_at = time.monotonic()
        for n in range(int(args.steady_rate * args.steady_seconds)):
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            session = sessions[n % len(sessions)]
            text = f"steady {n} to {session.client.telegram_id}"
            commits.append(
                asyncio.create_task(sync_to_async(commit, thread_sensitive=False)(session, text))
            )
            next_at += gap
        await asyncio.gather(*commits)

    asyncio.run(run())
    return committed, durations


def wait_for(emulator, workers, texts: dict[str, float]) -> list:
    """The emulator's records of `texts`, once all are accepted."""
    deadline = time.monotonic() + 600
    while True:
        records = [r for r in emulator.sent(method="sendMessage") if r.text in texts]
        if len(records) >= len(texts):
            return records
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            raise SystemExit("delivery did not finish")
        time.sleep(0.05)


def load() -> str:
    return "load average " + ", ".join(f"{n:.2f}" for n in os.getloadavg())


def main() -> None:
    workers_count = 1 if args.no_redis else args.workers
    total = args.chats * args.per_chat
    if REDIS_URL:
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()

    fresh_database()
    agent = User.objects.create_user("cs1@bench.local", "CS 1", "x", status_online=True)
    print(f"before:                  {load()}")
    with EmulatorThread([TOKEN]) as emulator:  # Telegram's limits on
        sessions = []
        for n in range(args.chats):
            emulator.add_user(20_000 + n, f"Client {n}")
            client = Client.objects.create(telegram_id=str(20_000 + n), name=f"Client {n}")
            sessions.append(Session.objects.create(client=client, cs=agent))

        burst = {}
        heard = None
        for round_ in range(args.per_chat):
            for session in sessions:
                text = f"reply {round_} to {session.client.telegram_id}"
                if REDIS_URL and heard is None:
                    heard, burst[text] = announcement_heard(session, agent, text)
                else:
                    burst[text] = reply_commit(session, agent, text)

        workers = [
            subprocess.Popen(
                [sys.executable, "manage.py", "deliver"],
                cwd=BASE_DIR,
                env=bot_environment(emulator.base_url),
            )
            for _ in range(workers_count)
        ]
        try:
            records = wait_for(emulator, workers, burst)
            rate_limited = emulator.rate_limited
            load_after_burst = load()
            # Then a steady rate: latency without a backlog, across processes.
            steady, commit_seconds = steady_commits(sessions, agent)
            steady_records = wait_for(emulator, workers, steady)
            steady_rate_limited = emulator.rate_limited - rate_limited
            load_after_steady = load()
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(60)

    latencies = [r.timestamp - burst[r.text] for r in records]
    first_send = min(r.timestamp for r in records)
    elapsed = max(r.timestamp for r in records) - first_send
    sent = Chat.objects.filter(delivery_status=Chat.DeliveryStatus.SENT).count()
    accepted = len(emulator.sent(method="sendMessage"))
    print(
        f"settings:                {workers_count} deliver worker(s), "
        f"REDIS_URL={REDIS_URL or '(none)'}, "
        f"DELIVERY_POLL_INTERVAL={settings.DELIVERY_POLL_INTERVAL} s, "
        f"TELEGRAM_SEND_RATE={settings.TELEGRAM_SEND_RATE}/s, "
        f"TELEGRAM_CHAT_SEND_INTERVAL={settings.TELEGRAM_CHAT_SEND_INTERVAL} s, "
        f"DELIVERY_LEASE={settings.DELIVERY_LEASE} s"
    )
    if heard is not None:
        print(f"commit announced:        {'heard in Redis' if heard else 'NOT heard in Redis'}")
    print(f"replies:                 {total} to {args.chats} chats")
    print(f"throughput:              {(len(records) - 1) / elapsed:.1f} messages/s")
    print(f"429s served:             {rate_limited}")
    print(f"commit → accepted p50:   {percentile(latencies, 0.50):.1f} s")
    print(f"commit → accepted p99:   {percentile(latencies, 0.99):.1f} s")
    print("(all committed at once, so that latency is mostly queueing at 30/s)")
    print(f"after the burst:         {load_after_burst}")
    steady_latencies = [(r.timestamp - steady[r.text]) * 1000 for r in steady_records]
    stamps = sorted(steady.values())
    print(
        f"steady {(len(stamps) - 1) / (stamps[-1] - stamps[0]):.1f} replies/s for "
        f"{stamps[-1] - stamps[0]:.0f} s, commit → accepted p50 / p95 / p99 / max: "
        + " / ".join(f"{percentile(steady_latencies, f):.0f}" for f in (0.5, 0.95, 0.99, 1.0))
        + f" ms ({steady_rate_limited} x 429)"
    )
    print(
        f"  (chat_send here took p50 {percentile(commit_seconds, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(commit_seconds, 0.99) * 1000:.0f} ms)"
    )
    print(f"after the steady run:    {load_after_steady}")
    print(
        f"sent in all:             {accepted} accepted for {total + len(steady)} replies, "
        f"{sent} marked SENT"
    )


if __name__ == "__main__":
    main()
