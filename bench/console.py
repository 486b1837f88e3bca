"""Console benchmark: the agent console's pages and live pushes at 100,000 sessions.

    .venv/bin/python bench/console.py [--sessions 100000] [--chats 1000000] [--agents 50]
        [--rate 100] [--seconds 30] [--skip-load] [--workspace-only] [--skip-push]

    A quick run: --sessions 5000 --chats 50000 --seconds 5 --push-clients 100
    (with BENCH_DATABASE_URL set to another database, to keep the full load).

1. Bulk-loads agents (+1 admin), sessions/2 clients, the sessions (most ENDED, a few
   thousand ACTIVE over the agents, some waiting) and the chats (skewed: a few
   sessions hold thousands; 3% replies, a quarter of the client's photos in albums of
   2-4) with multi-row INSERTs, then ANALYZE TABLE.
2. Times the console's pages in process (Django's test client, DEBUG off, the real
   database): p50/p95/max server time and the queries each page runs. The workspace
   (#13): opening a session as the list does (the work-pane fragment, HX-Request:
   true; target p95 < 50 ms) over 200 sessions, the 100 longest and 100 short, each by
   its agent; and the whole workspace page at those addresses, for comparison.
3. Serves the console with daphne and a Redis channel layer (CONSOLE_PRESENCE_GRACE=0:
   no heartbeat writes), connects one websocket per agent (in a child process), runs
   `manage.py runbot` against the Bot API emulator, and injects client messages: first
   one per client (each opens and allocates a session), then a steady rate for
   --seconds, timing injection → the "chat" frame carrying the message at its agent.
   Each agent opens the workspace as a browser does: loads /console/ (and its CSRF
   cookie) and connects the websocket the page names (/ws/console/?lang=..; half the
   agents in Indonesian), so each frame carries console/_message.html as rendered there.
   --trace splits that at the bot's group_send (a Redis MONITOR, which adds some load);
   --dump keeps every message's times. runbot assigns the waiting sessions when it
   starts and tells their clients; injection begins once those notices are sent, and
   the sessions are put back, and the push phase's clients removed, afterwards.

BENCH_BOT_CMD replaces `python manage.py runbot` (to run the bot under a profiler,
e.g. `py-spy record -o bot.svg -- .venv/bin/python manage.py runbot`).

Needs MariaDB (BENCH_DATABASE_URL, default
mysql://root@127.0.0.1:3306/helpdesk_bench_console: its own database, so --skip-load
can reuse a load the other benchmarks would drop; it is dropped and re-created unless
--skip-load) and Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/5, flushed).
"""

import os

os.environ.setdefault("BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/helpdesk_bench_console")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["DEBUG"] = "false"
# The test client's host, and daphne's.
os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1"

import argparse
import asyncio
import json
import multiprocessing
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timedelta
from itertools import zip_longest
from pathlib import Path

import MySQLdb
from common import BASE_DIR, TOKEN, bot_environment, fresh_database, percentile
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection
from django.test import Client as WebClient
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from conversations.models import Chat, Session, SessionAssignment
from conversations.selectors import session_waiting_queue
from conversations.services import chat_file_url
from helpdesk.ids import new_cuid

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
PUSH_TELEGRAM_IDS = 7_000_000_000  # the push phase's clients; loaded ones start at 100,000,000
TOKEN_RE = re.compile(r"bench-token-(\d+)-end")
SEARCH = "Budi"  # a first name: the admin's search matches ~1/40 of the clients
WORKSPACE_SESSIONS = 200  # distinct sessions the workspace is opened on: half long, half short
WORKSPACE_TARGET_MS = 50  # issue #13: opening a session in the workspace, p95

# --- bulk load ------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words(
    "Budi Siti Agus Dewi Andi Rina Eko Sri Joko Wati Hendra Yuni Rudi Lina Bayu Maya "
    "Dimas Putri Fajar Ayu John Mary David Sarah Michael Linda James Emma Robert Olivia "
    "Ahmad Nur Rizky Indah Taufik Ratna Wahyu Fitri Arif Sinta"
)
LAST_NAMES = _words(
    "Santoso Wijaya Saputra Hidayat Kusuma Pratama Nugroho Setiawan Halim Gunawan "
    "Siregar Nasution Lubis Harahap Tanjung Simanjuntak Smith Johnson Brown Taylor "
    "Wilson Moore Clark Lewis Walker Hall Young King Wright Scott Green Baker Adams "
    "Nelson Hill Lim Tan Wong Chandra Susanto"
)
WORDS = _words(
    "order package delivery refund payment invoice account password login error app "
    "please help thanks status tracking number address change cancel shipped arrived "
    "yesterday today tomorrow week the a my your is was not yet can could would we you "
    "it this that with for from to on in about still waiting sorry okay sure checking "
    "pesanan saya belum sampai tolong bantu terima kasih sudah bayar transfer rekening "
    "nomor resi kapan dikirim barang rusak tukar kembali dana mohon ditunggu baik kak"
)
B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
PAIRS = [a + b for a in B36 for b in B36]  # two base-36 digits per lookup
EPOCH = datetime(1970, 1, 1)  # naive UTC: what Django writes to MySQL with USE_TZ
SECOND = 1_000_000
DAY = 86_400 * SECOND


def _b36(number: int, pairs: int) -> str:
    out = ""
    for _ in range(pairs):
        number, digit = divmod(number, 1296)
        out = PAIRS[digit] + out
    return out


class CuidMaker:
    """CUID-shaped ids ('c', ms time, counter, fingerprint, randomness: 25 characters),
    stamped with the row's own time, several times faster than `new_cuid`."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.counter, self.fingerprint = rng, 0, new_cuid()[13:17]

    def __call__(self, at_us: int) -> str:
        self.counter += 1
        return (
            f"c{_b36(at_us // 1000, 4)}{_b36(self.counter % 1296**2, 2)}"
            f"{self.fingerprint}{_b36(self.rng.getrandbits(41) % 36**8, 4)}"
        )


def _when(at_us: int) -> str:
    return (EPOCH + timedelta(microseconds=at_us)).isoformat(" ")


class Inserter:
    """Multi-row INSERTs through mysqlclient (executemany folds rows into 1 MB statements),
    committed every `commit_every` rows."""

    def __init__(self, raw, table: str, columns: tuple[str, ...], commit_every: int = 20_000):
        self.raw, self.cursor = raw, raw.cursor()
        self.cursor.max_stmt_length = 1 << 20
        placeholders = ", ".join(["%s"] * len(columns))
        self.sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
        self.rows: list[tuple] = []
        self.commit_every, self.count = commit_every, 0

    def add(self, row: tuple) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.commit_every:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.cursor.executemany(self.sql, self.rows)
            self.raw.commit()
            self.count += len(self.rows)
            self.rows = []


SESSION_COLUMNS = (
    "id",
    "client_id",
    "cs_id",
    "status",
    "created_at",
    "ended_at",
    "last_activity_at",
    "unread_since",
)
CHAT_COLUMNS = (
    "id",
    "session_id",
    "sender_type",
    "message_type",
    "message",
    "file_url",
    "is_read",
    "created_at",
    "telegram_message_id",
    "telegram_file_id",
    "local_file",
    "delivery_status",
    "delivery_error",
    "delivery_attempts",
    "delivery_parts_sent",
    "media_group_id",
    "reply_to_message_id",
)


def _create_users(agents: int) -> list[str]:
    password = make_password("bench")
    now = datetime.now().astimezone()
    users = [
        User(
            email=f"cs{n}@bench.local",
            name=f"Agent {n:02d}",
            password=password,
            role=User.Role.CS,
            status_online=True,
            created_at=now,
        )
        for n in range(1, agents + 1)
    ]
    users.append(
        User(email="admin@bench.local", name="Admin", password=password, role=User.Role.ADMIN)
    )
    User.objects.bulk_create(users)
    return [user.id for user in users[:agents]]


def bulk_load(args: argparse.Namespace) -> dict[str, float]:
    """Fill a fresh database; return the phases' seconds."""
    rng = random.Random(20250601)
    make_id = CuidMaker(rng)
    phases = {}
    started = time.perf_counter()
    fresh_database()
    agent_ids = _create_users(args.agents)
    phases["schema + users"] = time.perf_counter() - started

    started = time.perf_counter()
    n_sessions, n_clients = args.sessions, max(1, args.sessions // 2)
    now_us = int(time.time() * SECOND)
    times = sorted(
        rng.randrange(now_us - 180 * DAY, now_us - 600 * SECOND) for _ in range(n_sessions)
    )
    # Every client has a session; the rest go mostly to a fifth of the clients (regulars).
    regulars = max(1, n_clients // 5)
    owners = list(range(n_clients)) + [
        rng.randrange(regulars) if rng.random() < 0.7 else rng.randrange(n_clients)
        for _ in range(n_sessions - n_clients)
    ]
    rng.shuffle(owners)
    # ACTIVE: the newest session of that many clients (nobody has two); the newest of
    # those are still waiting, the others are spread evenly over the agents.
    target_active = args.active or max(2 * args.agents, n_sessions * 3 // 100)
    active, seen = [], set()
    for index in range(n_sessions - 1, -1, -1):
        if len(active) >= target_active:
            break
        if owners[index] not in seen:
            active.append(index)
        seen.add(owners[index])
    waiting = set(active[: len(active) // 15])
    assigned = active[len(active) // 15 :]
    rng.shuffle(assigned)
    agent_of = {index: agent_ids[k % len(agent_ids)] for k, index in enumerate(assigned)}
    active = set(active)

    # Chats per session: a few long conversations (some ACTIVE, of the first agent),
    # waiting ones short, the rest Pareto-skewed.
    counts = [0] * n_sessions
    n_long = max(1, n_sessions // 5000)
    long_max = max(20, min(3000, args.chats // (n_long * 5)))
    first_agent_active = [i for i in assigned if agent_of[i] == agent_ids[0]][:3]
    old_ended = [i for i in range(n_sessions // 2) if i not in active]
    long_sessions = first_agent_active + rng.sample(
        old_ended, min(len(old_ended), max(0, n_long - len(first_agent_active)))
    )
    for index in long_sessions:
        counts[index] = rng.randint(long_max // 3, long_max)
    for index in waiting:
        counts[index] = rng.randint(1, 3)
    special = set(long_sessions) | waiting
    others = [i for i in range(n_sessions) if i not in special]
    remaining = args.chats - sum(counts)
    weights = [min(rng.paretovariate(1.5), 60.0) for _ in others]
    scale = max(0, remaining - len(others)) / sum(weights)
    for index, weight in zip(others, weights, strict=True):
        counts[index] = 1 + int(weight * scale)
    for _ in range(remaining - sum(counts[i] for i in others)):
        counts[rng.choice(others)] += 1

    # Clients, created a little before their first session.
    first_seen = {}
    for index, owner in enumerate(owners):
        first_seen.setdefault(owner, times[index])
    client_ids = {}
    params = connection.get_connection_params()
    raw = MySQLdb.connect(**params)
    raw.cursor().execute("SET unique_checks = 0, foreign_key_checks = 0")
    clients = Inserter(
        raw, "clients", ("id", "telegram_id", "name", "username", "created_at", "language_code")
    )
    for owner in sorted(first_seen, key=first_seen.get):
        at = first_seen[owner] - rng.randrange(SECOND, 3600 * SECOND)
        client_ids[owner] = make_id(at)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        username = f"{first}{last[:3]}{owner}".lower() if rng.random() < 0.6 else None
        language = "id" if rng.random() < 0.6 else "en"
        clients.add(
            (
                client_ids[owner],
                str(100_000_000 + owner),
                f"{first} {last}",
                username,
                _when(at),
                language,
            )
        )
    clients.flush()
    phases["clients"] = time.perf_counter() - started

    started = time.perf_counter()
    texts = [
        " ".join(rng.choices(WORDS, k=rng.randint(2, 30))).capitalize() + rng.choice(".?!")
        for _ in range(20_000)
    ]
    links = [f"Order status: https://shop.example.com/orders/{n}" for n in range(1000)]
    sessions = Inserter(raw, "sessions", SESSION_COLUMNS)
    chats = Inserter(raw, "chats", CHAT_COLUMNS)
    message_ids = dict.fromkeys(range(n_clients), 0)  # Telegram's per-chat message ids
    for index in range(n_sessions):
        created, owner, count = times[index], owners[index], counts[index]
        session_id = make_id(created)
        status = "ACTIVE" if index in active else "ENDED"
        cs_id = agent_of.get(index)
        if status == "ENDED":
            cs_id = rng.choice(agent_ids) if rng.random() < 0.99 else None
        # Gaps: about a minute, squeezed so the last message is before now; 3% in bursts.
        room = now_us - 60 * SECOND - created
        mean_gap = max(1000, min(90 * SECOND, room // (2 * count)))
        at, senders = created, []
        sender = "CLIENT"
        for n in range(count):
            if n:
                at += 0 if rng.random() < 0.03 else int(rng.expovariate(1 / mean_gap)) + 1000
                if cs_id and rng.random() < 0.6:
                    sender = "CS" if sender == "CLIENT" else "CLIENT"
            senders.append((at, sender))
        # Unread: the client's trailing messages in 40% of the assigned ACTIVE sessions
        # and 2% of the ENDED ones (last words after the agent left), everything in a
        # waiting one.
        unread_from = count
        if index in waiting:
            unread_from = 0
        elif rng.random() < (0.4 if status == "ACTIVE" else 0.02):
            unread_from = count
            while unread_from and senders[unread_from - 1][1] == "CLIENT":
                unread_from -= 1
        unread_since = next(
            (_when(at) for at, sender in senders[unread_from:] if sender == "CLIENT"), None
        )
        ended_at = _when(at + rng.randrange(10, 600) * SECOND) if status == "ENDED" else None
        last_activity = _when(senders[-1][0] if senders else created)
        sessions.add(
            (
                session_id,
                client_ids[owner],
                cs_id,
                status,
                _when(created),
                ended_at,
                last_activity,
                unread_since,
            )
        )
        album, album_left = "", 0
        for n, (at, sender) in enumerate(senders):
            chat_id = make_id(at)
            message_ids[owner] += 1
            roll = rng.random()
            file_url, file_id, local_file, kind = None, "", "", "TEXT"
            text = rng.choice(texts)
            # Replies (3%) answer one of the session's previous 20 messages.
            reply_to = None
            if n and rng.random() < 0.03:
                reply_to = message_ids[owner] - rng.randint(1, min(n, 20))
            # Albums: a quarter of the client's photos start one of 2-4 parts, each its
            # own row with one media_group_id (the conversation groups them).
            if sender != "CLIENT" or not album_left:
                album, album_left = "", 0
            if sender == "CLIENT":
                if album_left:
                    album_left -= 1
                    kind, name, text = "IMAGE", "photo.jpg", ""
                elif roll < 0.04:
                    kind, name, text = "IMAGE", "photo.jpg", ""
                    if rng.random() < 0.25:
                        album = str(13_000_000_000_000_000 + rng.getrandbits(50))
                        album_left = rng.randint(1, 3)
                elif roll < 0.07:
                    kind, name = "FILE", "document.pdf"
                elif roll < 0.08:
                    kind, name = "VIDEO", "video.mp4"
                elif roll < 0.10:
                    kind, text = "LINK", rng.choice(links)
                if kind in ("IMAGE", "FILE", "VIDEO"):
                    file_url = chat_file_url(chat_id=chat_id, file_name=name)
                    file_id = f"AgACAgUAAx{chat_id}"
                delivery = ("", "", 0, 0)
            else:
                if roll < 0.03:
                    kind, text = "LINK", rng.choice(links)
                elif roll < 0.05:
                    kind, local_file = "FILE", "chats/2025/06/invoice.pdf"
                    file_url = chat_file_url(chat_id=chat_id, file_name="invoice.pdf")
                delivery = ("SENT", "", 1, 1)
                if status == "ENDED" and rng.random() < 0.003:
                    delivery = ("FAILED", "Forbidden: bot was blocked by the user", 1, 0)
            chats.add(
                (
                    chat_id,
                    session_id,
                    sender,
                    kind,
                    text,
                    file_url,
                    0 if n >= unread_from and sender == "CLIENT" else 1,
                    _when(at),
                    message_ids[owner],
                    file_id,
                    local_file,
                    *delivery,
                    album,
                    reply_to,
                )
            )
        if len(chats.rows) >= 20_000:
            sessions.flush()
            chats.flush()
    sessions.flush()
    chats.flush()
    phases["sessions + chats"] = time.perf_counter() - started

    started = time.perf_counter()
    cursor = raw.cursor()
    for table in ("users", "clients", "sessions", "chats"):
        cursor.execute(f"ANALYZE TABLE {table}")
        cursor.fetchall()
    raw.close()
    phases["ANALYZE TABLE"] = time.perf_counter() - started
    return phases


def table_sizes(
    tables: tuple[str, ...] = ("clients", "sessions", "chats"),
) -> list[tuple[str, int, float]]:
    """Each table's rows and megabytes (data and indexes), for the load's report."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, (data_length + index_length) / 1048576 FROM "
            "information_schema.tables WHERE table_schema = DATABASE()"
        )
        sizes = dict(cursor.fetchall())
        result = []
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            result.append((table, cursor.fetchone()[0], float(sizes.get(table, 0))))
    return result


# --- page timing ----------------------------------------------------------------------


def _agents() -> list[User]:
    agents = User.objects.filter(role=User.Role.CS, email__endswith="@bench.local")
    return sorted(agents, key=lambda a: int(a.email.split("@")[0].removeprefix("cs")))


def _fixtures() -> dict:
    """What the pages are timed on, read from the database (so --skip-load works)."""
    with connection.cursor() as cursor:
        per_session = (
            "SELECT s.id, s.cs_id, COUNT(*) AS n FROM sessions s JOIN chats c "
            "ON c.session_id = s.id WHERE s.status = 'ACTIVE' AND s.cs_id IS NOT NULL "
            "GROUP BY s.id, s.cs_id "
        )
        cursor.execute(per_session + "ORDER BY n DESC LIMIT 1")
        long = cursor.fetchone()
        cursor.execute(per_session + "HAVING n BETWEEN 5 AND 20 ORDER BY s.id LIMIT 50")
        short = cursor.fetchall()
        cursor.execute(
            "SELECT id FROM chats WHERE session_id = %s ORDER BY created_at, id", [long[0]]
        )
        ids = [row[0] for row in cursor.fetchall()]
        # The workspace is timed over many sessions: the longest histories (any
        # status: mostly old ENDED ones) and as many short ones spread over the rest.
        cursor.execute(
            "SELECT s.id, s.cs_id, COUNT(*) AS n FROM sessions s JOIN chats c "
            "ON c.session_id = s.id GROUP BY s.id, s.cs_id"
        )
        counted = sorted(cursor.fetchall(), key=lambda row: (-row[2], row[0]))
    step = max(1, (len(ids) - 200) // 20)
    befores = ids[100 : len(ids) - 100 : step][:20] or ids[-1:]
    half = WORKSPACE_SESSIONS // 2
    longest = counted[:half]
    shorter = [row for row in counted[half:] if 1 <= row[2] <= 20]
    spread = shorter[:: max(1, len(shorter) // half)][:half]
    # Alternating, so a run cut short by --page-budget still times both kinds.
    mixed = [row for pair in zip_longest(longest, spread) for row in pair if row]
    return {"long": long, "short": short, "befores": befores, "workspace": mixed}


def _timed_get(client: WebClient, url: str, headers: dict | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (this process: Django, not MariaDB) of one request."""
    started, cpu = time.perf_counter(), time.process_time()
    response = client.get(url, headers=headers)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if response.status_code != 200:
        raise SystemExit(f"GET {url}: HTTP {response.status_code}")
    return elapsed, cpu


def time_page(targets: list[tuple], requests: int, budget: float) -> dict[str, object]:
    """Warm up, count one request's queries, then time `requests` requests round-robin
    over `targets`, each (client, url[, headers]) (fewer, at least 3, when a slow page
    runs out of `budget` seconds). Many targets: warm-up requests on a few of them (and
    one per client), so most timed requests open a session MariaDB has not just read."""
    warm = targets[:10] if len(targets) > 10 else targets * 2 if len(targets) > 1 else targets * 3
    # A test client loads the middleware on its first request (WhiteNoise scans the
    # static files: ~100 ms), which a running server does once: one request per client.
    for target in {id(target[0]): target for target in targets}.values():
        _timed_get(*target)
    for target in warm:
        if _timed_get(*target)[0] > 1:
            break  # a slow page: one warm-up is enough
    with CaptureQueriesContext(connection) as captured:
        _timed_get(*targets[0])
    # Read now: the next request's request_started signal empties the query log.
    queries = list(captured.captured_queries)
    slowest = max(queries, key=lambda q: float(q["time"]))
    times, cpu, deadline = [], [], time.perf_counter() + budget
    for n in range(requests):
        elapsed, used = _timed_get(*targets[n % len(targets)])
        times.append(elapsed)
        cpu.append(used)
        if time.perf_counter() > deadline and len(times) >= 3:
            break
    return {
        "times": times,
        "cpu": cpu,
        "queries": len(queries),
        "sql_ms": sum(float(q["time"]) for q in queries) * 1000,
        "slowest_ms": float(slowest["time"]) * 1000,
        "slowest_sql": slowest["sql"],
    }


def logged_in(user: User) -> WebClient:
    client = WebClient()
    client.force_login(user)
    return client


def time_pages(args: argparse.Namespace) -> dict[str, dict]:
    agents = _agents()
    admin = User.objects.get(email="admin@bench.local")
    fixtures = _fixtures()
    by_id = {agent.id: agent for agent in agents}
    agent_clients = {agent.id: logged_in(agent) for agent in agents}
    admin_client = logged_in(admin)
    long_id, long_cs, long_n = fixtures["long"]
    long_client = agent_clients[long_cs]
    pages = {
        f"CS list (/console/, {len(agents)} agents)": [
            (agent_clients[a.id], "/console/") for a in agents
        ],
        "CS list ?order=waiting": [
            (agent_clients[a.id], "/console/?order=waiting") for a in agents
        ],
        "ADMIN list (/console/)": [(admin_client, "/console/")],
        "ADMIN list ?order=waiting": [(admin_client, "/console/?order=waiting")],
        "ADMIN list, page 100": [(admin_client, "/console/?page=100")],
        "ADMIN list ?status=ACTIVE": [(admin_client, "/console/?status=ACTIVE")],
        f"ADMIN list ?status=ENDED&q={SEARCH}": [
            (admin_client, f"/console/?status=ENDED&q={SEARCH}")
        ],
        f"conversation, long ({long_n} chats)": [(long_client, f"/console/sessions/{long_id}/")],
        f"conversation, short (5-20 chats, {len(fixtures['short'])} sessions)": [
            (agent_clients[cs], f"/console/sessions/{sid}/") for sid, cs, _n in fixtures["short"]
        ],
        "load older (?before=, long session)": [
            (long_client, f"/console/sessions/{long_id}/?before={chat_id}")
            for chat_id in fixtures["befores"]
        ],
    }
    # The workspace (issue #13): opening a session swaps #work with the fragment
    # (HX-Request: true); a deep link, a reload or back/forward gets the whole page.
    # Each session is opened by its agent, or by the admin when nobody served it.
    workspace = fixtures["workspace"]
    opener = {sid: agent_clients.get(cs, admin_client) for sid, cs, _n in workspace}
    sizes = sorted(n for _sid, _cs, n in workspace)
    described = (
        f"{len(workspace)} sessions of {sizes[0]}-{sizes[-1]} chats" if sizes else "no sessions"
    )
    fragment = [
        (opener[sid], f"/console/sessions/{sid}/", {"HX-Request": "true"})
        for sid, _cs, _n in workspace
    ]
    pages[f"workspace fragment (HX-Request), {described}"] = fragment
    pages["workspace full page, the same sessions"] = [
        (opener[sid], f"/console/sessions/{sid}/") for sid, _cs, _n in workspace
    ]
    targets_ms = dict.fromkeys(pages, 100.0)
    targets_ms[f"workspace fragment (HX-Request), {described}"] = WORKSPACE_TARGET_MS
    assert all(cs in by_id for _sid, cs, _n in fixtures["short"])
    results = {}
    for name, targets in pages.items():
        if args.workspace_only and not name.startswith("workspace"):
            continue
        results[name] = time_page(targets, args.requests, args.page_budget)
        results[name]["target_ms"] = targets_ms[name]
        if name.startswith("workspace fragment"):
            by_size = {sid: n for sid, _cs, n in workspace}
            results[name]["split"] = _split_by_size(results[name], fragment, by_size)
        print_page(name, results[name])
    return results


def _split_by_size(result: dict, targets: list[tuple], by_size: dict[str, int]) -> dict:
    """The fragment's times apart for long (over 20 chats) and short sessions."""
    split: dict[str, list[float]] = {"long": [], "short": []}
    for n, elapsed in enumerate(result["times"]):
        session_id = targets[n % len(targets)][1].split("/")[-2]
        split["long" if by_size[session_id] > 20 else "short"].append(elapsed)
    return split


def print_page(name: str, result: dict) -> None:
    times = [t * 1000 for t in result["times"]]
    print(
        f"  {name:<46} n={len(times):<4} p50 {percentile(times, 0.5):7.1f}  "
        f"p95 {percentile(times, 0.95):7.1f}  max {max(times):7.1f} ms | "
        f"CPU p50 {percentile(result['cpu'], 0.5) * 1000:5.1f} ms | {result['queries']:>2} "
        f"queries, {result['sql_ms']:.0f} ms (slowest {result['slowest_ms']:.0f})",
        flush=True,
    )
    for part, seconds in result.get("split", {}).items():
        if seconds:
            values = [t * 1000 for t in seconds]
            print(
                f"    of which {part + ' sessions':<36} n={len(values):<4} "
                f"p50 {percentile(values, 0.5):7.1f}  p95 {percentile(values, 0.95):7.1f}  "
                f"max {max(values):7.1f} ms",
                flush=True,
            )


def connect_cost_ms() -> float:
    """One new database connection (+ its init_command): what CONN_MAX_AGE=0 adds per request."""
    params = connection.get_connection_params()
    started = time.perf_counter()
    for _ in range(20):
        MySQLdb.connect(**params).close()
    return (time.perf_counter() - started) / 20 * 1000


# --- push latency ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("daphne exited during start-up")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("daphne did not start")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pid_of(*names: str) -> int | None:
    for name in names:
        found = subprocess.run(["pidof", name], capture_output=True, text=True, check=False)
        if found.stdout.split():
            return int(found.stdout.split()[0])
    return None


def listen(origin: str, cookies: list[str], conn) -> None:
    """Child process: each agent opens the workspace and its websocket; send back when
    each token's chat frame came."""
    try:
        asyncio.run(_listen(origin, cookies, conn))
    except BaseException as error:  # tell the parent at once rather than let it wait
        conn.send({"error": repr(error)})
        raise


LIVE_URL_RE = re.compile(r'data-live-url="([^"]+)"')


async def _open_workspace(origin: str, cookie: str):
    """Load the workspace page as the browser does (its CSRF cookie comes with it: the
    consumer renders forms in the pushed fragments with it) and connect its websocket
    where the page says (/ws/console/?lang=<the page's language>)."""
    import aiohttp
    from yarl import URL

    jar = aiohttp.CookieJar(unsafe=True)  # an IP address's cookies
    jar.update_cookies({settings.SESSION_COOKIE_NAME: cookie}, URL(origin))
    http = aiohttp.ClientSession(cookie_jar=jar)
    async with http.get(f"{origin}/console/") as response:
        page = await response.text()
    found = LIVE_URL_RE.search(page)
    if response.status != 200 or not found:
        await http.close()
        raise SystemExit(f"the workspace page did not load: HTTP {response.status}")
    live_url = found[1].replace("&amp;", "&")
    ws = await http.ws_connect(
        "ws" + origin.removeprefix("http") + live_url,
        headers={"Origin": origin},
        autoping=True,
    )
    return http, ws, live_url


async def _listen(origin: str, cookies: list[str], conn) -> None:
    import aiohttp

    arrivals: dict[int, tuple[float, int]] = {}
    stats = {"frames": 0, "chat_events": 0, "duplicates": 0, "closed": 0, "events": {}}

    async def receive(ws, agent: int) -> None:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            now = time.monotonic()
            stats["frames"] += 1
            for event in json.loads(message.data)["events"]:
                kind = event.get("kind")
                stats["events"][kind] = stats["events"].get(kind, 0) + 1
                if kind != "chat":
                    continue
                stats["chat_events"] += 1
                # The workspace's message repeats its text (the quote a reply would show).
                for token in {int(match[1]) for match in TOKEN_RE.finditer(event["html"])}:
                    if token in arrivals:
                        stats["duplicates"] += 1
                    else:
                        arrivals[token] = (now, agent)
        stats["closed"] += 1

    opened = [await _open_workspace(origin, cookie) for cookie in cookies]
    sockets = [ws for _http, ws, _url in opened]
    tasks = [asyncio.create_task(receive(ws, n)) for n, ws in enumerate(sockets)]
    await asyncio.sleep(0.5)  # a refused login closes at once (code 4401)
    closed = [ws.close_code for ws in sockets if ws.closed]
    live_urls = sorted({url for _http, _ws, url in opened})
    conn.send({"ready": len(sockets) - len(closed), "close_codes": closed, "urls": live_urls})
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)  # "stop"
    for http, ws, _url in opened:
        await ws.close()
        await http.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    conn.send({"arrivals": arrivals, "stats": stats})


def _push_cleanup(telegram_ids: list[str]) -> None:
    """Remove the push phase's clients and everything of theirs (a previous run's too)."""
    with connection.cursor() as cursor:
        marks = ", ".join(["%s"] * len(telegram_ids))
        cursor.execute(f"SELECT id FROM clients WHERE telegram_id IN ({marks})", telegram_ids)
        client_ids = [row[0] for row in cursor.fetchall()]
        if not client_ids:
            return
        marks = ", ".join(["%s"] * len(client_ids))
        sessions = f"SELECT id FROM sessions WHERE client_id IN ({marks})"
        for table in ("chats", "session_assignments", "csat_ratings", "notes"):
            cursor.execute(f"DELETE FROM {table} WHERE session_id IN ({sessions})", client_ids)
        cursor.execute(f"DELETE FROM sessions WHERE client_id IN ({marks})", client_ids)
        cursor.execute(f"DELETE FROM clients WHERE id IN ({marks})", client_ids)


def _inject(emulator, items: list[tuple[int, int]], rate: float) -> tuple[dict[int, float], float]:
    """Inject (client, token) messages at `rate`/s on a fixed schedule; return injection
    times by token and the achieved rate."""
    injected = {}
    started = time.monotonic()
    for n, (user_id, token) in enumerate(items):
        due = started + n / rate
        if (delay := due - time.monotonic()) > 0:
            time.sleep(delay)
        injected[token] = time.monotonic()
        emulator.inject_message(
            user_id, f"hello, a question about my order bench-token-{token}-end"
        )
    elapsed = time.monotonic() - started
    return injected, (len(items) - 1) / elapsed if elapsed > 0 else float("inf")


def _trace_group_sends(stop: threading.Event, sends: dict[int, float]) -> None:
    """Note when the bot's group_send of each token reached Redis (MONITOR, server clock),
    splitting injection → frame into the bot's part and Redis → daphne → websocket."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    db = client.connection_pool.connection_kwargs.get("db", 0)
    offset = time.time() - time.monotonic()
    with client.monitor() as monitor:
        for command in monitor.listen():
            if stop.is_set():
                return
            if command.get("db") != db or not command["command"].startswith("EVAL"):
                continue
            for match in TOKEN_RE.finditer(command["command"]):
                sends.setdefault(int(match[1]), command["time"] - offset)


def measure_push(args: argparse.Namespace) -> dict:
    import redis

    from telegram_emulator import EmulatorThread

    redis.Redis.from_url(REDIS_URL).flushdb()
    agents = _agents()[: args.agents]
    # Half the consoles in Indonesian: the consumer renders each frame in its page's language.
    for n, agent in enumerate(agents):
        agent.language = "id" if n % 2 else "en"
    User.objects.bulk_update(agents, ["language"])
    User.objects.filter(role=User.Role.CS).update(status_online=False)
    User.objects.filter(pk__in=[a.pk for a in agents]).update(
        status_online=True, console_seen_at=None
    )
    telegram_ids = [PUSH_TELEGRAM_IDS + n for n in range(args.push_clients)]
    _push_cleanup([str(t) for t in telegram_ids])
    # runbot assigns the waiting sessions when it starts; they are put back afterwards.
    waiting_ids = list(session_waiting_queue().values_list("id", flat=True))
    cookies = [logged_in(agent).cookies[settings.SESSION_COOKIE_NAME].value for agent in agents]
    connection.close()

    port = _free_port()
    env = {
        **os.environ,
        "REDIS_URL": REDIS_URL,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "false",
        "CONSOLE_PRESENCE_GRACE": "0",  # no heartbeat writes during the measurement
    }
    log = tempfile.NamedTemporaryFile("w+", prefix="bench-console-", suffix=".log", delete=False)  # noqa: SIM115
    daphne = subprocess.Popen(
        [
            str(BASE_DIR / ".venv/bin/daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "-v",
            "0",
            "helpdesk.asgi:application",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    processes = [daphne]
    tracing = threading.Event()
    listener = None
    try:
        _wait_for_port(port, daphne)
        # A running server has served pages: its first request imports the URLconf
        # (and with it aiogram), blocking daphne's event loop meanwhile.
        started = time.monotonic()
        urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=120).read()
        first_request = time.monotonic() - started
        parent_end, child_end = multiprocessing.get_context("spawn").Pipe()
        listener = multiprocessing.get_context("spawn").Process(
            target=listen,
            args=(f"http://127.0.0.1:{port}", cookies, child_end),
        )
        listener.start()
        if not parent_end.poll(300):
            raise SystemExit("the websocket clients did not connect")
        ready = parent_end.recv()
        if "error" in ready:
            raise SystemExit(f"the websocket clients failed: {ready['error']}; see {log.name}")
        live_urls = ready["urls"]
        if ready["ready"] != len(agents):
            raise SystemExit(f"only {ready['ready']} websockets stayed open: {ready}")

        group_sends: dict[int, float] = {}
        if args.trace:
            threading.Thread(
                target=_trace_group_sends, args=(tracing, group_sends), daemon=True
            ).start()
        with EmulatorThread([TOKEN]) as emulator:
            emulator.set_limits(enabled=False)
            for n, telegram_id in enumerate(telegram_ids):
                emulator.add_user(telegram_id, f"Push {n}", username=f"push{n}")
            bot = subprocess.Popen(
                os.environ.get("BENCH_BOT_CMD", f"{sys.executable} manage.py runbot").split(),
                cwd=BASE_DIR,
                env={**bot_environment(emulator.base_url), "REDIS_URL": REDIS_URL},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            processes.append(bot)
            while not emulator.requests("getUpdates"):
                if bot.poll() is not None:
                    raise SystemExit("runbot exited during start-up")
                time.sleep(0.05)
            # The start-up drain tells each waiting client who answers (paced, ~28/s) and
            # pushes every change: let that finish, or phase 1 measures it too.
            drained_at = time.monotonic()
            while emulator.requests("sendMessage") < len(waiting_ids):
                if time.monotonic() - drained_at > 120:
                    raise SystemExit("the start-up drain's notices were not all sent")
                time.sleep(0.1)
            drain_seconds = time.monotonic() - drained_at
            time.sleep(1)

            # Phase 1: each client's first message opens (and allocates) its session.
            order = list(telegram_ids)
            random.Random(7).shuffle(order)
            opening = [(user_id, n) for n, user_id in enumerate(order)]
            opened_at, opening_rate = _inject(emulator, opening, args.rate)
            time.sleep(5)
            # Phase 2, the measurement: steady traffic in the sessions now open.
            total = int(args.rate * args.seconds)
            steady = [(order[n % len(order)], len(order) + n) for n in range(total)]
            watched = {"daphne": daphne.pid, "runbot": bot.pid, "bench": os.getpid()}
            watched["websocket clients"] = listener.pid
            for name, binaries in (
                ("mariadb", ("mariadbd", "mysqld")),
                ("redis", ("redis-server",)),
            ):
                if pid := _pid_of(*binaries):
                    watched[name] = pid
            cpu_before = {name: _cpu_seconds(pid) for name, pid in watched.items()}
            load_before = os.getloadavg()[0]
            wall = time.monotonic()
            sent_at, steady_rate = _inject(emulator, steady, args.rate)
            wall = time.monotonic() - wall
            cpu = {name: _cpu_seconds(pid) - cpu_before[name] for name, pid in watched.items()}
            load_after = os.getloadavg()[0]
            time.sleep(10)  # stragglers
            bot.send_signal(signal.SIGTERM)
            bot.wait(60)
        parent_end.send("stop")
        if not parent_end.poll(60):
            raise SystemExit("the websocket clients did not report")
        report = parent_end.recv()
        if "error" in report:
            raise SystemExit(f"the websocket clients failed: {report['error']}; see {log.name}")
        listener.join(30)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
        tracing.set()
        if listener is not None and listener.is_alive():
            listener.terminate()
        log.close()
        connection.close()
        _push_cleanup([str(t) for t in telegram_ids])
        User.objects.filter(role=User.Role.CS).update(status_online=True)
        Chat.objects.filter(session__in=waiting_ids, sender_type=Chat.SenderType.CS).delete()
        SessionAssignment.objects.filter(session__in=waiting_ids).delete()
        Session.objects.filter(pk__in=waiting_ids).update(cs=None, first_assigned_at=None)

    arrivals = report["arrivals"]

    def latencies(injected: dict[int, float]) -> tuple[list[float], int]:
        found = [(arrivals[t][0] - at) * 1000 for t, at in injected.items() if t in arrivals]
        return found, len(injected) - len(found)

    if args.dump:
        rows = [
            {
                "token": t,
                "injected": at,
                "group_send": group_sends.get(t),
                "arrived": arrivals.get(t, (None,))[0],
            }
            for t, at in sorted({**opened_at, **sent_at}.items())
        ]
        Path(args.dump).parent.mkdir(parents=True, exist_ok=True)
        Path(args.dump).write_text(json.dumps(rows))
    steady_ms, steady_missing = latencies(sent_at)
    bot_ms = [(group_sends[t] - at) * 1000 for t, at in sent_at.items() if t in group_sends]
    layer_ms = [
        (arrivals[t][0] - group_sends[t]) * 1000
        for t in sent_at
        if t in group_sends and t in arrivals
    ]
    opening_ms, opening_missing = latencies(opened_at)
    receivers = {arrivals[t][1] for t in sent_at if t in arrivals}
    return {
        "steady": steady_ms,
        "steady_missing": steady_missing,
        "steady_rate": steady_rate,
        "steady_count": len(sent_at),
        "opening": opening_ms,
        "opening_missing": opening_missing,
        "opening_rate": opening_rate,
        "opening_count": len(opened_at),
        "receivers": len(receivers),
        "stats": report["stats"],
        "cpu": {name: seconds / wall * 100 for name, seconds in cpu.items()},
        "load": (load_before, load_after),
        "log": log.name,
        "first_request": first_request,
        "drained": len(waiting_ids),
        "drain_seconds": drain_seconds,
        "bot": bot_ms,
        "layer": layer_ms,
        "live_urls": live_urls,
    }


def print_push(result: dict, args: argparse.Namespace) -> None:
    def line(name: str, values: list[float]) -> str:
        if not values:
            return f"  {name:<34} no frames arrived"
        return (
            f"  {name:<34} p50 {percentile(values, 0.5):6.1f}  p95 {percentile(values, 0.95):6.1f}"
            f"  p99 {percentile(values, 0.99):6.1f}  max {max(values):7.1f} ms"
        )

    print(
        f"\nPush: injection → chat frame at the agent ({args.agents} agents' workspaces open, "
        f"daphne + channels-redis, runbot)"
    )
    print(
        "  each agent loaded /console/ and connected where the page says: "
        + ", ".join(result["live_urls"])
        + "; frames rendered with console/_message.html"
    )
    print(
        line(
            f"steady ({result['steady_count']} msgs, {result['steady_rate']:.1f}/s)",
            result["steady"],
        )
    )
    print(f"    never arrived: {result['steady_missing']}")
    if result["bot"]:
        print(line("  of which bot: inject → group_send", result["bot"]))
        print(line("  and Redis → daphne → websocket", result["layer"]))
    print(
        line(
            f"opening ({result['opening_count']} new sessions, {result['opening_rate']:.1f}/s)",
            result["opening"],
        )
    )
    print(f"    never arrived: {result['opening_missing']}")
    stats = result["stats"]
    print(
        f"  frames received {stats['frames']}, events {stats['events']}, duplicate chat "
        f"frames {stats['duplicates']}, agents that received the steady messages "
        f"{result['receivers']}"
    )
    cpu = ", ".join(f"{name} {percent:.0f}%" for name, percent in result["cpu"].items())
    print(
        f"  CPU during the steady phase (of one core): {cpu}; load average "
        f"{result['load'][0]:.2f} → {result['load'][1]:.2f} on {os.cpu_count()} cores"
    )
    print(
        f"  daphne's first HTTP request (before the measurement): {result['first_request']:.1f} s"
    )
    print(
        f"  runbot's start-up drain (before the measurement): {result['drained']} waiting "
        f"sessions assigned, their clients told in {result['drain_seconds']:.1f} s"
    )
    print(f"  daphne/runbot log: {result['log']}")


# --- main -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--chats", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--active", type=int, default=0, help="ACTIVE sessions (default 3%%)")
    parser.add_argument("--rate", type=float, default=100, help="client messages/s injected")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--push-clients", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--page-budget", type=float, default=90, help="seconds per page at most")
    parser.add_argument(
        "--trace",
        action="store_true",
        help="split the push latency at the bot's group_send (a Redis MONITOR: adds load)",
    )
    parser.add_argument("--dump", help="write each push message's times to this JSON file")
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded database")
    parser.add_argument("--skip-pages", action="store_true")
    parser.add_argument(
        "--workspace-only", action="store_true", help="of the pages, time only the workspace's"
    )
    parser.add_argument("--skip-push", action="store_true")
    args = parser.parse_args()
    print(
        f"database {settings.DATABASES['default']['NAME']}, load average {os.getloadavg()[0]:.2f}"
    )

    load_seconds = None
    if args.skip_load:
        # The schema may have moved on since the load: bring the kept database along.
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"migrated the kept database in {time.perf_counter() - started:.1f} s")
    else:
        phases = bulk_load(args)
        load_seconds = sum(phases.values())
        print(
            f"Bulk load: {load_seconds:.1f} s ("
            + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items())
            + ")"
        )
    for table, rows, megabytes in table_sizes():
        print(f"  {table:<9} {rows:>9,} rows  {megabytes:7.1f} MB")

    pages = {}
    if not args.skip_pages:
        load = os.getloadavg()[0]
        print(f"\nPages: server time in process (test client, DEBUG off), load average {load:.2f}")
        print("  (ms; CPU = this process's, i.e. Django's; queries and SQL time of one request)")
        pages = time_pages(args)
        print(
            "  (one persistent connection; CONN_MAX_AGE=0 adds a connect per request: "
            f"{connect_cost_ms():.1f} ms)"
        )
        for name, result in pages.items():
            if percentile(result["times"], 0.95) * 1000 >= result["target_ms"]:
                print(f"  slowest query of {name}: {result['slowest_ms']:.0f} ms")
                print(f"    {result['slowest_sql'][:1500]}")

    push = None
    if not args.skip_push:
        push = measure_push(args)
        print_push(push, args)

    print(f"\nSummary (load average now {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
    print(f"  {'':<44}{'target':<16}{'p50':>10}{'p95/p99':>10}")
    if load_seconds is not None:
        loaded = f"bulk load ({args.sessions // 1000}k sessions, {args.chats // 1000}k chats)"
        print(f"  {loaded:<44}{'minutes':<16}{'':>10}{load_seconds:>8.0f} s")
    for name, result in pages.items():
        times = [t * 1000 for t in result["times"]]
        p95, target = percentile(times, 0.95), result["target_ms"]
        print(
            f"  {name[:42]:<44}{f'p95 < {target:.0f} ms':<16}{percentile(times, 0.5):>10.1f}"
            f"{p95:>10.1f}  {'ok' if p95 < target else 'MISSED'}"
        )
    if push is not None:
        for key, name in (("steady", "push, steady"), ("opening", "push, session-opening burst")):
            values, lost = push[key], push[f"{key}_missing"]
            if not values:
                print(f"  {name:<44}{'p99 < 100 ms':<16}   nothing arrived ({lost} lost)")
                continue
            p99 = percentile(values, 0.99)
            verdict = "ok" if p99 < 100 and not lost else "MISSED"
            print(
                f"  {name:<44}{'p99 < 100 ms':<16}{percentile(values, 0.5):>10.1f}{p99:>10.1f}"
                f"  {verdict}, {lost} never arrived"
            )


if __name__ == "__main__":
    main()
