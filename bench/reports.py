"""Reports benchmark (issue 15): the reports page and API over 30 days at 100,000 sessions.

    .venv/bin/python bench/reports.py [--sessions 100000] [--chats 1000000] [--agents 50]
        [--days 365] [--requests 60] [--skip-load]

    A quick run: --sessions 5000 --chats 50000 --requests 10
    (with BENCH_DATABASE_URL set to another database, to keep the full load).

1. Bulk-loads (unless --skip-load reuses the last load) agents and an admin, clients,
   the sessions spread over --days days (busier on weekdays and in office hours, local
   time, so the heatmap is not flat; the newest few hundred still ACTIVE, 3% never
   assigned), their chats (skewed: most sessions short, a few long; a few of the desk's
   notices, which no measure counts), an assignment per assigned session (5% transferred:
   two) with its first reply taken from the chats, `first_assigned_at`, the survey on
   most ended sessions (`csat_asked_at`) and a rating on ~40% of those; multi-row INSERTs
   (bench/console.py's loader helpers), then ANALYZE TABLE.
2. Times, in process (Django's test client, DEBUG off, the real database), over the
   load's last 30 days (ending on the newest session's local day: today, right after a
   load, and as many sessions when --skip-load reuses an older one): the reports page
   (/console/reports/) as the ADMIN, as each CS and with `&agent=`;
   /api/reports/summary/ (JWT bearer) as the ADMIN and each CS; /api/csat/; and the
   CSV export (/console/reports/export.csv, streamed and read to the end; no target).
   Prints p50/p95/max, Django's CPU and the queries of one request per target, and the
   machine's load average. Target: p95 < 300 ms.

Needs MariaDB (BENCH_DATABASE_URL, default
mysql://root@127.0.0.1:3306/helpdesk_bench_reports: its own database, dropped and
re-created unless --skip-load). The desk's TIME_ZONE is Asia/Jakarta unless set.
"""

import os

os.environ.setdefault("BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/helpdesk_bench_reports")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("TIME_ZONE", "Asia/Jakarta")
os.environ["DEBUG"] = "false"
os.environ["ALLOWED_HOSTS"] = "testserver"  # the test client's host
os.environ.setdefault("SECRET_KEY", "bench-reports-secret-key-long-enough-for-hs256")

import argparse
import bisect
import itertools
import random
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import MySQLdb
from common import fresh_database, percentile
from console import (
    DAY,
    FIRST_NAMES,
    LAST_NAMES,
    SECOND,
    WORDS,
    CuidMaker,
    Inserter,
    _create_users,
    _when,
    connect_cost_ms,
    logged_in,
    table_sizes,
)
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.models import Max
from django.test import Client as WebClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from conversations.models import Session

TARGET_MS = 300  # issue 15: the reports page and the API, 30 days, p95
RANGE_DAYS = 30
# Relative sessions per local hour of the day and per weekday (Monday first).
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 8, 14, 18, 20, 19, 15, 17, 19, 18, 15, 12, 9, 7, 5, 4, 3, 2]
WEEKDAY_WEIGHTS = [10, 10, 10, 9, 9, 5, 3]
TABLES = ("users", "clients", "sessions", "chats", "session_assignments", "csat_ratings")

SESSION_COLUMNS = (
    "id",
    "client_id",
    "cs_id",
    "status",
    "created_at",
    "ended_at",
    "last_activity_at",
    "first_assigned_at",
    "csat_asked_at",
)
CHAT_COLUMNS = (
    "id",
    "session_id",
    "sender_type",
    "message_type",
    "message",
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
    "is_notice",
)
ASSIGNMENT_COLUMNS = ("id", "session_id", "agent_id", "assigned_at", "first_reply_at")
RATING_COLUMNS = ("id", "session_id", "agent_id", "rating", "comment", "created_at")

# --- bulk load ------------------------------------------------------------------------


def _start_times(rng: random.Random, n: int, days: int, now_us: int) -> list[int]:
    """`n` session starts over the last `days` days, weighted by local weekday and hour."""
    tz = ZoneInfo(settings.TIME_ZONE)
    first_hour = (datetime.now(tz) - timedelta(days=days)).replace(minute=0, second=0)
    slots, weights = [], []
    for h in range(days * 24):
        local = first_hour + timedelta(hours=h)
        slots.append(int(local.timestamp() * SECOND))
        weights.append(HOUR_WEIGHTS[local.hour] * WEEKDAY_WEIGHTS[local.weekday()])
    cumulative = list(itertools.accumulate(weights))
    latest = now_us - 3600 * SECOND  # each session's chats end before now
    times = []
    for _ in range(n):
        slot = bisect.bisect(cumulative, rng.random() * cumulative[-1])
        times.append(min(latest, slots[slot] + rng.randrange(3600 * SECOND)))
    return sorted(times)


def _chat_counts(rng: random.Random, n_sessions: int, n_chats: int) -> list[int]:
    """Chats per session summing to `n_chats`: Pareto-skewed, at least one each."""
    weights = [min(rng.paretovariate(1.5), 60.0) for _ in range(n_sessions)]
    scale = max(0, n_chats - n_sessions) / sum(weights)
    counts = [1 + int(w * scale) for w in weights]
    for _ in range(n_chats - sum(counts)):
        counts[rng.randrange(n_sessions)] += 1
    return counts


def _conversation(
    rng: random.Random, created: int, assigned: int | None, count: int, now_us: int
) -> list[tuple[int, str, bool]]:
    """(time, sender, is_notice) of a session's chats: the client opens it, the desk
    sometimes says it is queued (a notice), the agent answers after its assignment;
    gaps of about a minute, squeezed so the last one is before now."""
    chats = [(created, "CLIENT", False)]
    if assigned is not None and count > 2 and rng.random() < 0.05:
        chats.append((created + SECOND, "CS", True))
    gap = max(SECOND, min(60 * SECOND, (now_us - 60 * SECOND - created) // (2 * count)))
    at, sender = created + int(rng.expovariate(1 / gap)) + SECOND, "CLIENT"
    if assigned is not None:
        at, sender = max(at, assigned + int(rng.expovariate(1 / (90 * SECOND))) + SECOND), "CS"
    while len(chats) < count:
        chats.append((min(at, now_us - SECOND), sender, False))
        at += int(rng.expovariate(1 / gap)) + SECOND
        if assigned is not None and rng.random() < 0.6:
            sender = "CS" if sender == "CLIENT" else "CLIENT"
    return chats


class Loader:
    """Writes one session with its chats, assignments and rating through multi-row INSERTs."""

    def __init__(self, raw, rng: random.Random, agent_ids: list[str], now_us: int) -> None:
        self.rng, self.make_id, self.now_us = rng, CuidMaker(rng), now_us
        self.agent_ids = agent_ids
        # Some agents are busier than others.
        self.agent_weights = list(itertools.accumulate(1 + k % 5 for k in range(len(agent_ids))))
        self.texts = [" ".join(rng.choices(WORDS, k=rng.randint(2, 20))) for _ in range(5000)]
        self.sessions = Inserter(raw, "sessions", SESSION_COLUMNS)
        self.chats = Inserter(raw, "chats", CHAT_COLUMNS)
        self.assignments = Inserter(raw, "session_assignments", ASSIGNMENT_COLUMNS)
        self.ratings = Inserter(raw, "csat_ratings", RATING_COLUMNS)

    def agent(self, other_than: str | None = None) -> str:
        while True:
            total = self.agent_weights[-1]
            chosen = self.agent_ids[bisect.bisect(self.agent_weights, self.rng.random() * total)]
            if chosen != other_than or len(self.agent_ids) == 1:
                return chosen

    def assign(self, session_id: str, at: int, chats: list, other_than: str | None) -> str:
        """An assignment row at `at`, its first reply the first agent message since."""
        agent = self.agent(other_than)
        replied = next((t for t, s, notice in chats if s == "CS" and not notice and t >= at), None)
        self.assignments.add(
            (self.make_id(at), session_id, agent, _when(at), replied and _when(replied))
        )
        return agent

    def session(self, client_id: str, created: int, count: int, active: bool) -> None:
        rng, session_id = self.rng, self.make_id(created)
        # 3% were never assigned (nobody online; the client gave up): no agent, no wait.
        assigned = None if rng.random() < 0.03 else created + int(rng.expovariate(1 / 40e6))
        chats = _conversation(rng, created, assigned, count, self.now_us)
        last, cs_id = chats[-1][0], None
        if assigned is not None:
            cs_id = self.assign(session_id, assigned, chats, None)
            if rng.random() < 0.05:  # transferred halfway through, to another agent
                cs_id = self.assign(session_id, (assigned + last) // 2 + SECOND, chats, cs_id)
        ended = None if active else last + rng.randrange(10, 600) * SECOND
        asked = ended if ended and cs_id and rng.random() < 0.9 else None
        self.sessions.add(
            (
                session_id,
                client_id,
                cs_id,
                "ACTIVE" if active else "ENDED",
                _when(created),
                *(_when(t) if t is not None else None for t in (ended, last, assigned, asked)),
            )
        )
        if asked and rng.random() < 0.4:
            rating = rng.choices((1, 2, 3, 4, 5), (5, 5, 10, 30, 50))[0]
            rated = asked + int(rng.expovariate(1 / 120e6)) + SECOND
            comment = rng.choice(self.texts) if rng.random() < 0.2 else ""
            self.ratings.add(
                (self.make_id(rated), session_id, cs_id, rating, comment, _when(rated))
            )
        for n, (at, sender, notice) in enumerate(chats):
            delivery = ("SENT", "", 1, 1) if sender == "CS" else ("", "", 0, 0)
            text = "An agent will be with you shortly." if notice else rng.choice(self.texts)
            self.chats.add(
                (
                    *(self.make_id(at), session_id, sender, "TEXT", text, 1, _when(at), n + 1),
                    *("", "", *delivery, "", notice),
                )
            )
        if len(self.chats.rows) >= 20_000:
            self.flush()

    def flush(self) -> None:
        for inserter in (self.sessions, self.assignments, self.ratings, self.chats):
            inserter.flush()


def bulk_load(args: argparse.Namespace) -> dict[str, float]:
    """Fill a fresh database; return the phases' seconds."""
    rng = random.Random(20261203)
    phases = {}
    started = time.perf_counter()
    fresh_database()
    agent_ids = _create_users(args.agents)
    phases["schema + users"] = time.perf_counter() - started

    started = time.perf_counter()
    now_us = int(time.time() * SECOND)
    n_sessions, n_clients = args.sessions, max(1, args.sessions // 2)
    times = _start_times(rng, n_sessions, args.days, now_us)
    counts = _chat_counts(rng, n_sessions, args.chats)
    n_active = min(n_clients, max(2 * args.agents, n_sessions // 200))
    # ACTIVE: the newest sessions, each of its own client (one ACTIVE session a client).
    owners = [rng.randrange(n_clients) for _ in range(n_sessions - n_active)]
    owners += rng.sample(range(n_clients), n_active)
    raw = MySQLdb.connect(**connection.get_connection_params())
    raw.cursor().execute("SET unique_checks = 0, foreign_key_checks = 0")
    loader = Loader(raw, rng, agent_ids, now_us)
    clients = Inserter(
        raw, "clients", ("id", "telegram_id", "name", "username", "created_at", "language_code")
    )
    first = now_us - (args.days + 30) * DAY
    client_ids = [loader.make_id(first) for _ in range(n_clients)]
    for owner, client_id in enumerate(client_ids):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        clients.add((client_id, str(100_000_000 + owner), name, None, _when(first), "id"))
    clients.flush()
    phases["clients"] = time.perf_counter() - started

    started = time.perf_counter()
    for index, created in enumerate(times):
        active = index >= n_sessions - n_active
        loader.session(client_ids[owners[index]], created, counts[index], active)
    loader.flush()
    phases["sessions + chats + measures"] = time.perf_counter() - started

    started = time.perf_counter()
    cursor = raw.cursor()
    for table in TABLES:
        cursor.execute(f"ANALYZE TABLE {table}")
        cursor.fetchall()
    raw.close()
    phases["ANALYZE TABLE"] = time.perf_counter() - started
    return phases


# --- timing ---------------------------------------------------------------------------


def _get(client: WebClient, url: str, headers: dict) -> tuple[float, float, int]:
    """Wall and CPU seconds (this process: Django, not MariaDB) and bytes of one
    request, a streamed body read to its end."""
    started, cpu = time.perf_counter(), time.process_time()
    response = client.get(url, headers=headers)
    if response.status_code != 200:
        raise SystemExit(f"GET {url}: HTTP {response.status_code}")
    if response.streaming:
        size = sum(len(part) for part in response.streaming_content)
    else:
        size = len(response.content)
    return time.perf_counter() - started, time.process_time() - cpu, size


def time_target(targets: list[tuple], requests: int, budget: float) -> dict:
    """Warm up, count one request's queries, then time `requests` requests round-robin
    over `targets` (client, url, headers), fewer (at least 3) past `budget` seconds."""
    for target in {id(t[0]): t for t in targets}.values():  # middleware's first load
        _get(*target)
    for target in targets[:3]:
        _get(*target)
    with CaptureQueriesContext(connection) as captured:
        _, _, size = _get(*targets[0])
    queries = list(captured.captured_queries)
    times, cpu, deadline = [], [], time.perf_counter() + budget
    for n in range(requests):
        elapsed, used, _ = _get(*targets[n % len(targets)])
        times.append(elapsed)
        cpu.append(used)
        if time.perf_counter() > deadline and len(times) >= 3:
            break
    slowest = max(queries, key=lambda q: float(q["time"]), default={"time": 0, "sql": ""})
    return {
        "times": [t * 1000 for t in times],
        "cpu": [t * 1000 for t in cpu],
        "queries": len(queries),
        "sql_ms": sum(float(q["time"]) for q in queries) * 1000,
        "slowest_ms": float(slowest["time"]) * 1000,
        "slowest_sql": slowest["sql"],
        "bytes": size,
    }


def _bearer(user: User) -> dict:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


def time_reports(args: argparse.Namespace) -> dict[str, dict]:
    agents = list(User.objects.filter(role=User.Role.CS, email__endswith="@bench.local"))
    agents.sort(key=lambda a: int(a.email.split("@")[0].removeprefix("cs")))
    admin = User.objects.get(email="admin@bench.local")
    # The load's last 30 days (today's, right after a load): a load reused later with
    # --skip-load is timed over as many sessions.
    newest = Session.objects.aggregate(newest=Max("created_at"))["newest"]
    last = timezone.localdate(newest)
    dates = f"from={last - timedelta(days=RANGE_DAYS - 1)}&to={last}"
    print(f"  range: {dates}")
    page, summary, csat = "/console/reports/", "/api/reports/summary/", "/api/csat/"
    admin_web, api = logged_in(admin), WebClient()
    agent_web = {agent.id: logged_in(agent) for agent in agents}
    admin_jwt = _bearer(admin)
    agent_jwt = {agent.id: _bearer(agent) for agent in agents}
    targets = {
        "page, ADMIN": [(admin_web, f"{page}?{dates}", {})],
        f"page, CS ({len(agents)} agents)": [
            (agent_web[a.id], f"{page}?{dates}", {}) for a in agents
        ],
        "page, ADMIN &agent=": [(admin_web, f"{page}?{dates}&agent={a.id}", {}) for a in agents],
        "API summary, ADMIN": [(api, f"{summary}?{dates}", admin_jwt)],
        "API summary, CS": [(api, f"{summary}?{dates}", agent_jwt[a.id]) for a in agents],
        "API csat, ADMIN": [(api, f"{csat}?{dates}", admin_jwt)],
        "API csat, CS": [(api, f"{csat}?{dates}", agent_jwt[a.id]) for a in agents],
        "CSV export, ADMIN": [(admin_web, f"/console/reports/export.csv?{dates}", {})],
    }
    results = {}
    for name, target in targets.items():
        result = time_target(target, args.requests, args.budget)
        result["target_ms"] = None if name.startswith("CSV") else TARGET_MS
        times = result["times"]
        print(
            f"  {name:<28} n={len(times):<4} p50 {percentile(times, 0.5):7.1f}  "
            f"p95 {percentile(times, 0.95):7.1f}  max {max(times):7.1f} ms | "
            f"CPU p50 {percentile(result['cpu'], 0.5):5.1f} ms | "
            f"{result['queries']:>2} queries, {result['sql_ms']:.0f} ms SQL "
            f"(slowest {result['slowest_ms']:.0f}) | {result['bytes'] / 1024:.0f} KB",
            flush=True,
        )
        results[name] = result
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--chats", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--days", type=int, default=365, help="sessions spread over them")
    parser.add_argument("--requests", type=int, default=60, help="timed requests per target")
    parser.add_argument("--budget", type=float, default=60, help="seconds per target at most")
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded database")
    args = parser.parse_args()
    print(
        f"database {settings.DATABASES['default']['NAME']}, TIME_ZONE {settings.TIME_ZONE}, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
    )
    load_seconds = None
    if args.skip_load:
        call_command("migrate", verbosity=0)  # the schema may have moved on since the load
    else:
        phases = bulk_load(args)
        load_seconds = sum(phases.values())
        print(
            f"Bulk load: {load_seconds:.1f} s ("
            + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items())
            + ")"
        )
    for table, rows, megabytes in table_sizes(TABLES[1:]):
        print(f"  {table:<20} {rows:>9,} rows  {megabytes:7.1f} MB")

    load = os.getloadavg()
    print(
        f"\nReports over the last {RANGE_DAYS} days: server time in process (test client, "
        f"DEBUG off), load average {load[0]:.2f}"
    )
    print("  (ms; CPU = this process's, i.e. Django's; queries and SQL time of one request)")
    results = time_reports(args)
    print(
        "  (one persistent connection; CONN_MAX_AGE=0 adds a connect per request: "
        f"{connect_cost_ms():.1f} ms)"
    )
    print(f"\nSummary (load average now {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
    if load_seconds is not None:
        print(
            f"  bulk load ({args.sessions:,} sessions, {args.chats:,} chats): {load_seconds:.0f} s"
        )
    for name, result in results.items():
        times, target = result["times"], result["target_ms"]
        p95 = percentile(times, 0.95)
        verdict = "(no target)" if target is None else "ok" if p95 < target else "MISSED"
        goal = f"p95 < {target} ms" if target else ""
        print(
            f"  {name:<28}{goal:<16} p50 {percentile(times, 0.5):7.1f}  p95 {p95:7.1f}  "
            f"max {max(times):7.1f} ms  {result['queries']:>2} queries  {verdict}"
        )
        if target and p95 >= target:
            print(
                f"    slowest query ({result['slowest_ms']:.0f} ms): {result['slowest_sql'][:800]}"
            )


if __name__ == "__main__":
    main()
