"""What the processes count for Prometheus, and the functions that count it.

Counters, histograms and gauges here live in the process that changes them. With
PROMETHEUS_MULTIPROC_DIR set (before prometheus_client is imported: the settings read
`.env` first), every process of a host writes them to files in that directory and
`/metrics`, served by any web process, adds them up; without it `/metrics` shows the
serving process's own (right for one `serve` process). What the database knows (the
delivery backlog, the queue, sessions, agents) is read at scrape time instead, see
`helpdesk/metrics_view.py`, so it is right however many processes serve.

This module imports nothing of the apps: every layer may count through it.
"""

import atexit
import os
import time
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram, multiprocess, values

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if MULTIPROCESS_DIR:
    # prometheus_client chose where values live when it was imported: refuse a setting
    # it did not see in time, or every process's counts would stay its own.
    if values.ValueClass is values.MutexValue:
        raise RuntimeError(
            "prometheus_client was imported before PROMETHEUS_MULTIPROC_DIR was set; "
            "set it in the environment (or .env) of every process"
        )
    os.makedirs(MULTIPROCESS_DIR, exist_ok=True)  # before any metric opens its file
    # A live gauge (consoles) must drop what a process that stopped had set.
    atexit.register(multiprocess.mark_process_dead, os.getpid())

# Seconds; Bot API calls take tens of milliseconds, a slow upload several seconds.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

updates_received = Counter(
    "helpdesk_telegram_updates_received",
    "Updates the bot received from Telegram, by how (polling or webhook).",
    ["source"],
)
for source in ("polling", "webhook"):
    updates_received.labels(source)  # shown at 0 before the first update
client_messages_stored = Counter(
    "helpdesk_client_messages_stored",
    "Clients' messages stored (a redelivered one counts once).",
)
client_messages_held_back = Counter(
    "helpdesk_client_messages_held_back",
    "Clients' messages not stored because the client is blocked or floods.",
)
deliveries_sent = Counter(
    "helpdesk_deliveries_sent",
    "Agents' replies and the desk's notices Telegram accepted.",
)
deliveries_failed = Counter(
    "helpdesk_deliveries_failed",
    "Sends Telegram did not accept, by reason; outcome: retried later, or failed for good.",
    ["reason", "outcome"],
)
telegram_rate_limited = Counter(
    "helpdesk_telegram_rate_limited",
    "Bot API calls Telegram answered 429 (flood control), by method.",
    ["method"],
)
telegram_api_seconds = Histogram(
    "helpdesk_telegram_api_seconds",
    "Bot API calls' duration, by method, whatever their answer (getUpdates not included).",
    ["method"],
    buckets=LATENCY_BUCKETS,
)
telegram_api_last_success = Gauge(
    "helpdesk_telegram_api_last_success_timestamp_seconds",
    "When a Bot API call last succeeded (Unix time).",
    multiprocess_mode="max",
)
telegram_update_last_received = Gauge(
    "helpdesk_telegram_update_last_received_timestamp_seconds",
    "When the bot last received an update (Unix time).",
    multiprocess_mode="max",
)
console_connections = Gauge(
    "helpdesk_console_connections",
    "Agents' consoles connected by websocket now.",
    multiprocess_mode="livesum",
)
console_push_seconds = Histogram(
    "helpdesk_console_push_seconds",
    "From committed changes handed to the pusher to every console group's send done.",
    buckets=LATENCY_BUCKETS,
)

# This process's last moments, for a page that shows the transport's state (Unix time;
# None: not yet). The gauges above carry the same across processes.
last_api_success_at: float | None = None
last_update_received_at: float | None = None


def forget_dead_processes(directory: str) -> None:
    """Drop the live gauges of this host's processes that died without exiting.

    A process killed outright (SIGKILL, the OOM killer) never runs its atexit hook, so
    its files would count its consoles as connected forever. The directory is one per
    host, so a PID that no longer exists here is a dead process's.
    """
    for path in Path(directory).glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, directory)
        except PermissionError:
            pass  # alive, under another user


def telegram_api_succeeded() -> None:
    global last_api_success_at
    last_api_success_at = time.time()
    telegram_api_last_success.set(last_api_success_at)


def telegram_updates_received(source: str, count: int = 1) -> None:
    """`count` updates came in by `source` ("polling" or "webhook")."""
    global last_update_received_at
    updates_received.labels(source).inc(count)
    last_update_received_at = time.time()
    telegram_update_last_received.set(last_update_received_at)


def client_messages_recorded(*, stored: int, held_back: int) -> None:
    client_messages_stored.inc(stored)
    client_messages_held_back.inc(held_back)
