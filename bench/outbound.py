"""Outbound benchmark: agents' replies through `manage.py deliver` → emulator (limits on).

    .venv/bin/python bench/outbound.py [--chats 200] [--per-chat 10]

Commits 2,000 replies to 200 chats at once, lets the delivery worker send them
to the Bot API emulator with Telegram's flood limits on, and prints messages/s,
the 429s served, and p50/p99 from each reply's commit to Telegram's acceptance;
then the same latency under a steady 20 replies/s, without a backlog.
Needs MariaDB (BENCH_DATABASE_URL, see common.py).
"""

import argparse
import signal
import subprocess
import sys
import time

from common import BASE_DIR, TOKEN, bot_environment, fresh_database, percentile

from accounts.models import User
from conversations.models import Chat, Client, Session
from conversations.services import chat_send
from telegram_emulator import EmulatorThread


def wait_for(emulator, worker, count: int) -> None:
    deadline = time.monotonic() + 600
    while len(emulator.sent(method="sendMessage")) < count:
        if time.monotonic() > deadline or worker.poll() is not None:
            raise SystemExit("delivery did not finish")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--per-chat", type=int, default=10)
    args = parser.parse_args()
    total = args.chats * args.per_chat

    fresh_database()
    agent = User.objects.create_user("cs1@bench.local", "CS 1", "x", status_online=True)
    with EmulatorThread([TOKEN]) as emulator:  # Telegram's limits on
        sessions = []
        for n in range(args.chats):
            emulator.add_user(20_000 + n, f"Client {n}")
            client = Client.objects.create(telegram_id=str(20_000 + n), name=f"Client {n}")
            sessions.append(Session.objects.create(client=client, cs=agent))

        committed = {}
        for round_ in range(args.per_chat):
            for session in sessions:
                text = f"reply {round_} to {session.client.telegram_id}"
                chat_send(session=session, agent=agent, text=text)
                committed[text] = time.monotonic()

        worker = subprocess.Popen(
            [sys.executable, "manage.py", "deliver"],
            cwd=BASE_DIR,
            env=bot_environment(emulator.base_url),
        )
        try:
            wait_for(emulator, worker, total)
            records = emulator.sent(method="sendMessage")
            rate_limited = emulator.rate_limited
            # Then a steady 20 replies/s for 15 s: latency without a backlog.
            steady = {}
            for n in range(300):
                session = sessions[n % len(sessions)]
                text = f"steady {n} to {session.client.telegram_id}"
                chat_send(session=session, agent=agent, text=text)
                steady[text] = time.monotonic()
                time.sleep(0.05)
            wait_for(emulator, worker, total + len(steady))
            steady_records = [r for r in emulator.sent(method="sendMessage") if r.text in steady]
            steady_rate_limited = emulator.rate_limited - rate_limited
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(60)

    latencies = [r.timestamp - committed[r.text] for r in records]
    first_send = min(r.timestamp for r in records)
    elapsed = max(r.timestamp for r in records) - first_send
    sent = Chat.objects.filter(delivery_status=Chat.DeliveryStatus.SENT).count()
    print(f"replies:                 {total} to {args.chats} chats ({sent} marked SENT in all)")
    print(f"throughput:              {(len(records) - 1) / elapsed:.1f} messages/s")
    print(f"429s served:             {rate_limited}")
    print(f"commit → accepted p50:   {percentile(latencies, 0.50):.1f} s")
    print(f"commit → accepted p99:   {percentile(latencies, 0.99):.1f} s")
    print("(all committed at once, so that latency is mostly queueing at 30/s)")
    steady_latencies = [r.timestamp - steady[r.text] for r in steady_records]
    print(
        f"steady 20/s, p50 / p99:  {percentile(steady_latencies, 0.5) * 1000:.0f} ms / "
        f"{percentile(steady_latencies, 0.99) * 1000:.0f} ms ({steady_rate_limited} x 429)"
    )


if __name__ == "__main__":
    main()
