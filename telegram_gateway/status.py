"""The transport's health as every process of the desk sees it: the panel's figures and
the warnings admins get in the top bar (issue 16).

Processes write what they saw (an update, a Bot API call that worked, getWebhookInfo,
a failed send) into one row and a table of failures; any web process reads them.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from conversations.models import Chat
from telegram_gateway.models import DeliveryFailure, TransportStatus

WEBHOOK_CHECK_EVERY = timedelta(seconds=60)
FAILURES_SHOWN_FOR = timedelta(hours=1)
FAILURES_KEPT_FOR = timedelta(days=1)
# When a warning shows (issue 16): each is a sign that clients' messages or agents'
# replies are not flowing, or soon will not be.
WEBHOOK_ERRORS_WITHIN = timedelta(minutes=10)
OLDEST_PENDING_LIMIT = timedelta(seconds=60)
API_SILENCE_LIMIT = timedelta(minutes=5)


def _row() -> TransportStatus:
    return TransportStatus.objects.get_or_create(pk=TransportStatus.ROW)[0]


def transport_seen(
    *, update_at: datetime | None = None, api_success_at: datetime | None = None
) -> None:
    """Note the newest update received and Bot API call that worked (never moving back)."""
    _row()
    row = TransportStatus.objects.filter(pk=TransportStatus.ROW)
    if update_at is not None:
        row.filter(Q(last_update_at__isnull=True) | Q(last_update_at__lt=update_at)).update(
            last_update_at=update_at
        )
    if api_success_at is not None:
        row.filter(
            Q(last_api_success_at__isnull=True) | Q(last_api_success_at__lt=api_success_at)
        ).update(last_api_success_at=api_success_at)


def webhook_check_claim() -> bool:
    """Whether this process asks getWebhookInfo now: once a minute among all of them."""
    _row()
    now = timezone.now()
    return bool(
        TransportStatus.objects.filter(pk=TransportStatus.ROW)
        .filter(
            Q(webhook_checked_at__isnull=True)
            | Q(webhook_checked_at__lte=now - WEBHOOK_CHECK_EVERY + timedelta(seconds=5))
        )
        .update(webhook_checked_at=now)
    )


@transaction.atomic
def webhook_info_record(
    *, url: str, pending_update_count: int, last_error_at: datetime | None, last_error_message: str
) -> None:
    """Keep what getWebhookInfo said, and the count before, to tell a growing backlog."""
    row = TransportStatus.objects.select_for_update().get_or_create(pk=TransportStatus.ROW)[0]
    row.previous_pending_update_count = row.pending_update_count
    row.pending_update_count = pending_update_count
    row.webhook_url = url
    row.last_error_at = last_error_at
    row.last_error_message = last_error_message[:255]
    row.webhook_checked_at = timezone.now()
    row.save()


def webhook_url_known() -> str:
    """The address Telegram delivered to at the last check ("" when polling)."""
    row = TransportStatus.objects.filter(pk=TransportStatus.ROW).only("webhook_url").first()
    return row.webhook_url if row else ""


def delivery_failure_record(*, reason: str, permanent: bool) -> None:
    DeliveryFailure.objects.create(at=timezone.now(), reason=reason, permanent=permanent)


def delivery_failures_prune() -> int:
    """Forget failures older than a day; the panel shows the last hour."""
    deleted, _ = DeliveryFailure.objects.filter(at__lt=timezone.now() - FAILURES_KEPT_FOR).delete()
    return deleted


@dataclass(frozen=True)
class FailureCount:
    reason: str
    given_up: int
    retried: int


@dataclass(frozen=True)
class TransportReport:
    """The transport panel: what flows, what waits, what failed, and what is wrong."""

    status: TransportStatus
    mode: str  # "webhook", "polling" or "" (no bot configured)
    pending_replies: int
    oldest_pending_reply_at: datetime | None
    failures: list[FailureCount]
    problems: list[str] = field(default_factory=list)


def transport_report(*, with_failures: bool = True) -> TransportReport:
    """Three queries, whatever the traffic: the status row, the backlog, the failures."""
    now = timezone.now()
    status = TransportStatus.objects.filter(pk=TransportStatus.ROW).first() or TransportStatus()
    backlog = Chat.objects.filter(
        sender_type=Chat.SenderType.CS,
        delivery_status__in=[Chat.DeliveryStatus.PENDING, Chat.DeliveryStatus.SENDING],
    ).aggregate(count=Count("pk"), oldest=Min("created_at"))
    failures = []
    if with_failures:
        rows = (
            DeliveryFailure.objects.filter(at__gte=now - FAILURES_SHOWN_FOR)
            .values("reason")
            .annotate(
                given_up=Count("pk", filter=Q(permanent=True)),
                retried=Count("pk", filter=Q(permanent=False)),
            )
            .order_by("reason")
        )
        failures = [FailureCount(**row) for row in rows]
    if not settings.TELEGRAM_BOT_TOKEN:
        mode = ""
    elif status.webhook_url:
        mode = "webhook"
    else:
        mode = "polling"
    report = TransportReport(
        status=status,
        mode=mode,
        pending_replies=backlog["count"],
        oldest_pending_reply_at=backlog["oldest"],
        failures=failures,
    )
    report.problems.extend(_problems(report, now))
    return report


def _problems(report: TransportReport, now: datetime) -> list[str]:
    if not report.mode:
        return []  # no Telegram (the sandbox): nothing can fail to flow
    status, problems = report.status, []
    if status.last_error_at and status.last_error_at >= now - WEBHOOK_ERRORS_WITHIN:
        problems.append(
            _("Telegram cannot deliver to the webhook: %(error)s")
            % {"error": status.last_error_message or _("no reason given")}
        )
    if (
        status.pending_update_count
        and status.previous_pending_update_count is not None
        and status.pending_update_count > status.previous_pending_update_count
    ):
        problems.append(
            _("Updates are piling up at Telegram: %(count)d waiting.")
            % {"count": status.pending_update_count}
        )
    oldest = report.oldest_pending_reply_at
    if oldest and now - oldest > OLDEST_PENDING_LIMIT:
        problems.append(
            _("Replies are not leaving: the oldest has waited %(duration)s.")
            % {"duration": timesince(oldest, now)}
        )
    if not status.last_api_success_at or now - status.last_api_success_at > API_SILENCE_LIMIT:
        problems.append(_("No call to Telegram has worked for 5 minutes."))
    return problems
