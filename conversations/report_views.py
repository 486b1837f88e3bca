"""The reports page and its CSV, over the selectors of conversations.reports.

Both take `from`, `to` (YYYY-MM-DD, inclusive, in settings.TIME_ZONE) and, for an
ADMIN, `agent`; a CS always gets its own figures whatever `agent` says. A bad range is
a 400: the page shows why next to the filters, the CSV answers the sentence.
"""

import csv
from collections.abc import AsyncIterator, Iterator
from itertools import islice

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from conversations.report_charts import (
    report_agent_rows,
    report_charts,
    report_daily_rows,
    report_headlines,
    report_heatmap_rows,
)
from conversations.reports import (
    ReportRangeError,
    report_agent_check,
    report_agents,
    report_range_parse,
    report_sessions_rows,
    report_summary,
)


def _filters(request: HttpRequest) -> dict[str, str]:
    """The filters as typed, for the form and the CSV link."""
    names = ("from", "to", "agent") if request.user.is_admin else ("from", "to")
    return {name: request.GET.get(name, "").strip()[:40] for name in names}


@never_cache
@require_GET
@login_required
def reports(request: HttpRequest) -> HttpResponse:
    """The headline figures, charts, heatmap and per-agent table of a date range."""
    typed = _filters(request)
    context = {"typed": typed, "agents": report_agents(user=request.user)}
    try:
        report_range = report_range_parse(typed["from"], typed["to"])
        agent_id = report_agent_check(user=request.user, agent_id=typed.get("agent"))
    except ReportRangeError as error:
        context["error"] = error.message
        return render(request, "console/reports.html", context, status=400)
    summary = report_summary(user=request.user, report_range=report_range, agent_id=agent_id)
    shown = {"from": summary["from"], "to": summary["to"]}
    if request.user.is_admin and agent_id:
        shown["agent"] = agent_id
    context |= {
        "summary": summary,
        "shown": shown,
        "report_range": report_range,
        "headlines": report_headlines(summary),
        "daily_rows": report_daily_rows(summary),
        "agent_rows": report_agent_rows(summary),
        "charts": report_charts(summary),
        "heatmap": report_heatmap_rows(summary["heatmap"]),
        "hours": range(24),
        "csv_query": urlencode(shown),
    }
    return render(request, "console/reports.html", context)


async def _in_batches(lines: Iterator[str], size: int = 1000) -> AsyncIterator[str]:
    """The lines in batches, each read in the thread the ORM uses: under ASGI a sync
    iterator would be read whole into memory before the first byte is sent."""
    take = sync_to_async(lambda: "".join(islice(lines, size)), thread_sensitive=True)
    while batch := await take():
        yield batch


class _Echo:
    """A file whose write returns the line, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


@never_cache
@require_GET
@login_required
def reports_csv(request: HttpRequest) -> HttpResponse:
    """One row per session started in the range, with its measures; streamed."""
    typed = _filters(request)
    try:
        report_range = report_range_parse(typed["from"], typed["to"])
        agent_id = report_agent_check(user=request.user, agent_id=typed.get("agent"))
    except ReportRangeError as error:
        return HttpResponseBadRequest(error.message, content_type="text/plain; charset=utf-8")
    writer = csv.writer(_Echo())
    rows = report_sessions_rows(user=request.user, report_range=report_range, agent_id=agent_id)

    lines: Iterator[str] = (writer.writerow(row) for row in rows)
    content = _in_batches(lines) if isinstance(request, ASGIRequest) else lines
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    name = f"reports-{report_range.first.isoformat()}-{report_range.last.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
