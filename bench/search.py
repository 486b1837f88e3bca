"""Search benchmark (issue 14.8): message-text search at 100,000 sessions, 1,000,000 chats.

    .venv/bin/python bench/search.py [--sessions 100000] [--chats 1000000] [--agents 50]
        [--repeat 20] [--skip-load]

1. Bulk-loads (unless --skip-load reuses the last load) agents and an admin, clients,
   sessions (most ENDED) and chats whose texts mix English and Indonesian words, order
   numbers like #10234, emoji and a few rare words, some of them the desk's notices;
   then OPTIMIZE TABLE (merges the FULLTEXT index's insert cache) and ANALYZE TABLE.
2. Times `search_for_agent` (the selector the console and the API call) in process, on
   the real database: for a CS (over its own sessions, ended ones too) and for the admin
   (all), over a mix of queries: a rare word, a common word, an order number, an emoji,
   an Indonesian word, a short word, a client's name. Prints p50/p95/max per user and per
   query kind, and the machine's load. Target: p95 < 200 ms.

Needs MariaDB (BENCH_DATABASE_URL, default
mysql://root@127.0.0.1:3306/helpdesk_bench_search: its own database, so --skip-load can
reuse a load the other benchmarks would drop).
"""

import os

os.environ.setdefault("BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/helpdesk_bench_search")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["DEBUG"] = "false"

import argparse
import random
import time
from datetime import datetime, timedelta

import MySQLdb
from common import fresh_database, percentile
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection

from accounts.models import User
from conversations.search import search_for_agent
from helpdesk.ids import new_cuid

ENGLISH = [
    "order",
    "package",
    "delivery",
    "refund",
    "payment",
    "invoice",
    "account",
    "password",
    "login",
    "error",
    "app",
    "please",
    "help",
    "thanks",
    "status",
    "tracking",
    "number",
    "address",
    "change",
    "cancel",
    "shipped",
    "arrived",
    "yesterday",
    "today",
    "tomorrow",
    "week",
    "still",
    "waiting",
    "sorry",
    "okay",
    "sure",
    "checking",
    "the",
    "my",
    "your",
    "is",
    "was",
    "not",
    "yet",
    "can",
    "we",
    "you",
    "it",
    "this",
    "that",
    "with",
    "for",
    "from",
    "to",
    "on",
    "in",
    "about",
]
INDONESIAN = [
    "pesanan",
    "saya",
    "belum",
    "sampai",
    "tolong",
    "bantu",
    "terima",
    "kasih",
    "sudah",
    "bayar",
    "transfer",
    "rekening",
    "nomor",
    "resi",
    "kapan",
    "dikirim",
    "barang",
    "rusak",
    "tukar",
    "kembali",
    "dana",
    "mohon",
    "ditunggu",
    "baik",
    "kak",
    "ya",
    "di",
    "ke",
    "dan",
    "yang",
    "ini",
    "itu",
    "tidak",
    "bisa",
    "minta",
]
EMOJI = ["🙏", "😊", "👍", "😡", "📦", "❤️", "😭", "🔥"]
RARE = ["kulkas", "warranty", "blender", "voucher", "garansi"]
FIRST_NAMES = [
    "Budi",
    "Siti",
    "Agus",
    "Dewi",
    "Andi",
    "Rina",
    "Eko",
    "Sri",
    "Joko",
    "Wati",
    "John",
    "Mary",
    "David",
    "Sarah",
    "Emma",
]
LAST_NAMES = [
    "Santoso",
    "Wijaya",
    "Saputra",
    "Hidayat",
    "Kusuma",
    "Pratama",
    "Smith",
    "Johnson",
    "Brown",
    "Lim",
    "Tan",
]
# The desk's own words (greeting, queue place): never search results.
NOTICES = [
    "Thank you for writing. An agent will answer you soon.",
    "Terima kasih telah menghubungi kami. Agen kami akan segera membalas.",
]
EPOCH = datetime(1970, 1, 1)
SECOND = 1_000_000
DAY = 86_400 * SECOND
TARGET_MS = 200


def _when(at_us: int) -> str:
    return (EPOCH + timedelta(microseconds=at_us)).isoformat(" ")


def _cuid(at_us: int, counter: int, rng: random.Random) -> str:
    """A CUID-shaped id that starts with its row's time, as `new_cuid`'s do."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"

    def b36(number: int, width: int) -> str:
        out = ""
        for _ in range(width):
            number, digit = divmod(number, 36)
            out = digits[digit] + out
        return out

    return f"c{b36(at_us // 1000, 8)}{b36(counter, 4)}bnch{b36(rng.getrandbits(40), 8)}"


def _text(rng: random.Random) -> str:
    words = rng.choices(ENGLISH if rng.random() < 0.5 else INDONESIAN, k=rng.randint(3, 25))
    roll = rng.random()
    if roll < 0.08:
        words.insert(rng.randrange(len(words)), f"#{rng.randint(10000, 99999)}")
    elif roll < 0.14:
        words.append(rng.choice(EMOJI))
    elif roll < 0.1405:
        words.insert(rng.randrange(len(words)), rng.choice(RARE))
    return " ".join(words).capitalize() + rng.choice(".?!")


def _insert(raw, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    cursor = raw.cursor()
    cursor.max_stmt_length = 1 << 20
    marks = ", ".join(["%s"] * len(columns))
    cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
    raw.commit()


def bulk_load(args: argparse.Namespace) -> None:
    rng = random.Random(20261203)
    started = time.perf_counter()
    fresh_database()
    password = make_password("bench")
    users = [
        User(email=f"cs{n}@bench.local", name=f"Agent {n:02d}", password=password, role="CS")
        for n in range(1, args.agents + 1)
    ] + [User(email="admin@bench.local", name="Admin", password=password, role="ADMIN")]
    User.objects.bulk_create(users)
    agent_ids = [user.id for user in users[:-1]]
    raw = MySQLdb.connect(**connection.get_connection_params())
    cursor = raw.cursor()
    cursor.execute("SET foreign_key_checks = 0")
    now_us = int(time.time() * SECOND)
    n_clients = max(1, args.sessions // 2)
    client_ids, rows = [], []
    for n in range(n_clients):
        client_ids.append(new_cuid())
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        username = f"{first}{last[:3]}{n}".lower() if rng.random() < 0.6 else None
        created = _when(now_us - 200 * DAY)
        rows.append((client_ids[n], str(100_000_000 + n), f"{first} {last}", username, created))
    for start in range(0, len(rows), 20_000):
        _insert(
            raw,
            "clients",
            ("id", "telegram_id", "name", "username", "created_at"),
            rows[start : start + 20_000],
        )
    per_session = args.chats // args.sessions
    extra = args.chats - per_session * args.sessions
    sessions, chats, counter, active_left = [], [], 0, args.sessions * 3 // 100
    times = sorted(rng.randrange(now_us - 180 * DAY, now_us - DAY) for _ in range(args.sessions))
    active_clients = set()
    for index in range(args.sessions - 1, -1, -1):
        created = times[index]
        client = client_ids[index % n_clients]
        status = "ENDED"
        if active_left and client not in active_clients:
            status, active_left = "ACTIVE", active_left - 1
            active_clients.add(client)
        counter += 1
        session_id = _cuid(created, counter, rng)
        cs_id = agent_ids[index % len(agent_ids)]
        count = max(1, per_session + rng.randint(-per_session // 2, per_session // 2))
        count += 1 if index < extra else 0
        at = created
        for n in range(count):
            at += rng.randrange(SECOND, 120 * SECOND)
            counter += 1
            notice = n == 0 or rng.random() < 0.02
            sender = "CS" if notice or rng.random() < 0.45 else "CLIENT"
            text = rng.choice(NOTICES) if notice else _text(rng)
            chats.append(
                (_cuid(at, counter, rng), session_id, sender, "TEXT", text, 1, _when(at), notice)
            )
        ended = _when(at + 60 * SECOND) if status == "ENDED" else None
        sessions.append((session_id, client, cs_id, status, _when(created), ended, _when(at)))
        if len(chats) >= 20_000:
            _flush(raw, sessions, chats)
    _flush(raw, sessions, chats)
    print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    raw.close()
    # The FULLTEXT index stays during the load: dropped and re-added afterwards, MariaDB
    # 10.11 kept the table's old FTS_DOC_IDs and the new index found nothing.
    with connection.cursor() as cursor:
        cursor.execute("OPTIMIZE TABLE chats")  # merges the index's insert cache
        cursor.fetchall()
        for table in ("clients", "sessions", "chats"):
            cursor.execute(f"ANALYZE TABLE {table}")
            cursor.fetchall()
    print(f"OPTIMIZE + ANALYZE in {time.perf_counter() - started:.0f} s", flush=True)


def _flush(raw, sessions: list, chats: list) -> None:
    _insert(
        raw,
        "sessions",
        ("id", "client_id", "cs_id", "status", "created_at", "ended_at", "last_activity_at"),
        sessions,
    )
    _insert(
        raw,
        "chats",
        (
            "id",
            "session_id",
            "sender_type",
            "message_type",
            "message",
            "is_read",
            "created_at",
            "is_notice",
        ),
        chats,
    )
    sessions.clear()
    chats.clear()


QUERIES = {
    "rare word": ["kulkas", "warranty", "garansi", "voucher", "blender"],
    "common word": ["delivery", "pesanan", "refund", "belum", "payment"],
    "order number": ["#10234", "#55555", "#98765", "#40404", "#71717"],
    "emoji": ["🙏", "📦", "😡", "🔥", "😭"],
    "Indonesian word": ["rekening", "dikirim", "tolong bantu", "terima kasih", "ditunggu"],
}
# Timed and shown apart from the mix: the client box, words too short for the
# index, and a word only the desk's notices hold (all of them excluded).
EXTRA_QUERIES = {
    "short word": ["ya", "kak"],
    "client name": ["Budi", "@sitisan1", "100000042"],
    "notice-only word": ["agent", "segera"],
}


def time_searches(repeat: int) -> None:
    admin = User.objects.get(email="admin@bench.local")
    cs = User.objects.get(email="cs1@bench.local")
    for user, label in ((cs, "CS"), (admin, "ADMIN")):
        for query in [q for qs in QUERIES.values() for q in qs][:5]:
            search_for_agent(user=user, q=query)  # warm the buffer pool a little
        everything, found = [], {}
        for kind, queries in {**QUERIES, **EXTRA_QUERIES}.items():
            times = []
            for round_ in range(repeat):
                query = queries[round_ % len(queries)]
                started = time.perf_counter()
                results = search_for_agent(user=user, q=query)
                times.append((time.perf_counter() - started) * 1000)
                found[query] = len(results)
            if kind in QUERIES:
                everything += times
            print(
                f"{label:5} {kind:16} p50 {percentile(times, 0.5):7.1f} ms  "
                f"p95 {percentile(times, 0.95):7.1f} ms  max {max(times):7.1f} ms",
                flush=True,
            )
        p95 = percentile(everything, 0.95)
        verdict = "OK" if p95 < TARGET_MS else "OVER TARGET"
        print(
            f"{label:5} {'mix (first 5)':16} p50 {percentile(everything, 0.5):7.1f} ms  "
            f"p95 {p95:7.1f} ms  ({len(everything)} searches; target p95 < {TARGET_MS} ms: "
            f"{verdict})"
        )
        print(f"      results per query (at most 50): {found}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--chats", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()
    if not args.skip_load:
        bulk_load(args)
    else:
        call_command("migrate", verbosity=0)  # a reused load gets the newer columns
    with connection.cursor() as cursor:
        for table in ("sessions", "chats"):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            print(f"{table}: {cursor.fetchone()[0]:,} rows")
    print("load average (1, 5, 15 min):", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    time_searches(args.repeat)
    print("load average after:", " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
