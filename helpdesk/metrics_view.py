"""`/metrics`: Prometheus's text format, for a scraper holding METRICS_TOKEN or calling
from METRICS_ALLOWED_IPS; with neither set the page does not exist (404).

A signed-in agent or admin gets nothing more here than anyone: the figures describe
the whole desk, and a scraper has no browser session.

The processes' own counters come from helpdesk/metrics.py (every process's, added up,
with PROMETHEUS_MULTIPROC_DIR). What the database holds is read at scrape time, in a
fixed number of aggregate queries, whatever the tables' sizes.
"""

import ipaddress
import logging
import secrets
from collections.abc import Iterator
from functools import cache

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Min, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from helpdesk import metrics

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _address_allowed(address: str) -> bool:
    """REMOTE_ADDR, as for the login throttle: X-Forwarded-For is anyone's to forge."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.METRICS_ALLOWED_IPS)))


def _token_given(request: HttpRequest) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def metrics_refusal(request: HttpRequest) -> HttpResponse | None:
    """The answer to a request that may not read the metrics; None when it may."""
    expected = settings.METRICS_TOKEN
    if not expected and not settings.METRICS_ALLOWED_IPS:
        return HttpResponse("Not found.", status=404, content_type="text/plain")
    given = _token_given(request)
    if expected and given is not None and secrets.compare_digest(given.encode(), expected.encode()):
        return None
    if _address_allowed(request.META.get("REMOTE_ADDR", "")):
        return None
    if expected and given is None:
        response = HttpResponse(
            "A bearer token is required.", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse("Forbidden.", status=403, content_type="text/plain")


def _age(oldest, now) -> float:
    return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0


class DatabaseFigures:
    """The desk's state as the database holds it: right whatever process answers."""

    def collect(self) -> Iterator[Metric]:
        try:
            yield from self._figures()
        except DatabaseError as error:
            # The processes' own metrics still answer; this says why the rest are missing.
            logger.warning("metrics without database figures (%s)", type(error).__name__)
            yield GaugeMetricFamily(
                "helpdesk_metrics_database_up", "Whether the database answered.", value=0
            )

    def _figures(self) -> Iterator[Metric]:
        from accounts.models import User
        from conversations.models import Chat, Session

        now = timezone.now()
        Status = Chat.DeliveryStatus
        backlog = {
            row["delivery_status"]: row
            for row in Chat.objects.filter(
                sender_type=Chat.SenderType.CS, delivery_status__in=[Status.PENDING, Status.SENDING]
            )
            .values("delivery_status")
            .annotate(count=Count("pk"), oldest=Min("created_at"))
            .order_by()
        }
        waiting = Q(cs__isnull=True)
        sessions = Session.objects.filter(status=Session.Status.ACTIVE).aggregate(
            active=Count("pk"),
            waiting=Count("pk", filter=waiting),
            oldest_waiting=Min("created_at", filter=waiting),
        )
        agents_online = User.objects.filter(
            role=User.Role.CS, status_online=True, is_active=True
        ).count()

        yield GaugeMetricFamily(
            "helpdesk_metrics_database_up", "Whether the database answered.", value=1
        )
        pending = GaugeMetricFamily(
            "helpdesk_delivery_backlog",
            "Replies and notices not yet sent: waiting (pending) or being sent (sending).",
            labels=["status"],
        )
        for status in (Status.PENDING, Status.SENDING):
            pending.add_metric([status.lower()], backlog.get(status, {}).get("count", 0))
        yield pending
        oldest = min((row["oldest"] for row in backlog.values()), default=None)
        yield GaugeMetricFamily(
            "helpdesk_delivery_backlog_oldest_age_seconds",
            "Age of the oldest reply or notice not yet sent (0: none).",
            value=_age(oldest, now),
        )
        yield GaugeMetricFamily(
            "helpdesk_queue_length", "Active sessions waiting for an agent.", sessions["waiting"]
        )
        yield GaugeMetricFamily(
            "helpdesk_queue_oldest_wait_seconds",
            "How long the session longest in the queue has waited (0: none waits).",
            value=_age(sessions["oldest_waiting"], now),
        )
        yield GaugeMetricFamily(
            "helpdesk_sessions_active", "Sessions not ended.", value=sessions["active"]
        )
        yield GaugeMetricFamily(
            "helpdesk_agents_online", "Agents (CS) online to take sessions.", value=agents_online
        )


class ThisProcess:
    """prometheus_client's default registry: this process's metrics, and its CPU/memory."""

    def collect(self) -> Iterator[Metric]:
        return REGISTRY.collect()


def metrics_registry() -> CollectorRegistry:
    """What one scrape reads: every process's metrics (or this one's), and the database's."""
    registry = CollectorRegistry()
    if metrics.MULTIPROCESS_DIR:
        metrics.forget_dead_processes(metrics.MULTIPROCESS_DIR)
        MultiProcessCollector(registry, path=metrics.MULTIPROCESS_DIR)
    else:
        registry.register(ThisProcess())
    registry.register(DatabaseFigures())
    return registry


# Scrapers send no cookie and no CSRF token; an answer must never come from a cache.
@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics in Prometheus's text format, for a scraper allowed to read them."""
    refusal = metrics_refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)
