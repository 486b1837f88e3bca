"""The reports page's presentation: figures as shown, the heatmap's cells, and the
charts, drawn on the server (pygal) as inline SVG.

No JavaScript and nothing fetched: pygal's own script tags (its tooltip config) and
its comments (links to pygal.org) are removed, so the page loads no CDN and sends no
script. The SVG has a viewBox and no size, so it scales to its box (width 100%); a
small canvas with large type stays readable at 375 px. Labels are translated in the
request's language; every chart is also given as a table on the page.
"""

import math
import re
from datetime import date
from functools import cache
from typing import TYPE_CHECKING

from django.utils import formats
from django.utils.dates import WEEKDAYS
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

if TYPE_CHECKING:
    import pygal


@cache
def _pygal():
    """pygal, imported on the first chart rather than with the URLconf: its import adds
    a finder to `sys.meta_path` that warns (ImportWarning) on every later import."""
    import pygal

    return pygal


@cache
def _chart_style():
    from pygal.style import Style

    return Style(
        background="transparent",
        plot_background="transparent",
        foreground="#1d2733",
        foreground_strong="#1d2733",
        foreground_subtle="#c7ced8",
        font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        label_font_size=13,
        major_label_font_size=13,
        legend_font_size=14,
        value_font_size=12,
        colors=("#1f65c1", "#2e7d32", "#c26a00"),
    )


_SCRIPTS = re.compile(r"<script\b.*?</script>", re.DOTALL)
_COMMENTS = re.compile(r"<!--.*?-->", re.DOTALL)


def _svg(chart: "pygal.graph.graph.Graph") -> SafeString:
    """The chart as inline SVG without scripts or comments (pygal escapes all text)."""
    svg = _COMMENTS.sub("", _SCRIPTS.sub("", chart.render(is_unicode=True)))
    # An inline <svg> in HTML needs no namespace: then the markup names no URL at all.
    svg = svg.replace(' xmlns="http://www.w3.org/2000/svg"', "", 1)
    return mark_safe(svg)  # noqa: S308 (pygal's own markup)


def _line(days: list[date], y_title: str, *, legend: bool = True) -> "pygal.Line":
    labels = [formats.date_format(day, "j M") for day in days]
    return _pygal().Line(
        style=_chart_style(),
        js=[],
        disable_xml_declaration=True,
        explicit_size=False,
        width=560,
        height=340,
        show_legend=legend,
        legend_at_bottom=True,
        legend_at_bottom_columns=3,
        show_minor_x_labels=False,
        x_labels=labels,
        x_labels_major_every=max(1, math.ceil(len(days) / 6)),
        x_label_rotation=0,
        truncate_label=-1,
        y_title=y_title,
        min_scale=2,
        max_scale=6,
        allow_interruptions=True,
        dots_size=2.5,
        no_data_text=_("No data"),
        margin=8,
        show_x_guides=False,
        include_x_axis=True,
    )


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


_VOLUME_KEYS = ("sessions_started", "messages_in", "messages_out")


def report_charts(summary: dict) -> dict[str, SafeString]:
    """The daily volume chart, and per-day medians of first response and resolution."""
    daily = summary["daily"]
    days = [date.fromisoformat(day["date"]) for day in daily]
    volume = _line(days, _("Count"))
    # Counts are whole: guide lines at whole numbers (pygal's own would say 0.4 messages).
    busiest = max((day[key] for day in daily for key in _VOLUME_KEYS), default=0)
    step = max(1, math.ceil(busiest / 5))
    volume.y_labels = list(range(0, busiest + step + 1, step))
    volume.add(_("Sessions started"), [day["sessions_started"] for day in daily])
    volume.add(_("Messages in"), [day["messages_in"] for day in daily])
    volume.add(_("Messages out"), [day["messages_out"] for day in daily])
    # One series each, named by the figure's caption on the page: no legend.
    response = _line(days, _("Minutes"), legend=False)
    response.add(
        _("Median first response"),
        [_minutes(day["first_response_median_seconds"]) for day in daily],
    )
    resolution = _line(days, _("Minutes"), legend=False)
    resolution.add(
        _("Median resolution"), [_minutes(day["resolution_median_seconds"]) for day in daily]
    )
    return {"volume": _svg(volume), "response": _svg(response), "resolution": _svg(resolution)}


def report_heatmap_rows(heatmap: list[list[int]]) -> list[dict]:
    """The weekday-by-hour grid as table rows: each cell's count and its shade, a whole
    percent of the busiest cell's count (an integer, so no locale turns it into "0,5")."""
    busiest = max((n for row in heatmap for n in row), default=0)
    return [
        {
            "weekday": WEEKDAYS[weekday],
            "cells": [
                {"hour": hour, "count": n, "shade": round(100 * n / busiest) if busiest else 0}
                for hour, n in enumerate(row)
            ],
        }
        for weekday, row in enumerate(heatmap)
    ]


NO_VALUE = "\u2013"  # an en dash: no value in the range
HEADLINES = (
    ("sessions_started", gettext_lazy("Sessions started"), "count"),
    ("sessions_ended", gettext_lazy("Sessions ended"), "count"),
    ("sessions_active", gettext_lazy("Still active"), "count"),
    ("messages_in", gettext_lazy("Messages in"), "count"),
    ("messages_out", gettext_lazy("Messages out"), "count"),
    ("queue_wait_median_seconds", gettext_lazy("Median queue wait"), "duration"),
    ("first_response_median_seconds", gettext_lazy("Median first response"), "duration"),
    ("first_response_p90_seconds", gettext_lazy("First response, 90th percentile"), "duration"),
    ("resolution_median_seconds", gettext_lazy("Median resolution"), "duration"),
    ("resolution_p90_seconds", gettext_lazy("Resolution, 90th percentile"), "duration"),
    ("csat_average", gettext_lazy("Average rating (1 to 5)"), "rating"),
    ("csat_positive_share", gettext_lazy("Rated 4 or 5"), "share"),
    ("csat_response_rate", gettext_lazy("Survey response rate"), "share"),
)


def report_duration(seconds: float | None) -> str:
    """Seconds as h:mm:ss, with tenths when there are any (90.5 → 0:01:30.5)."""
    if seconds is None:
        return NO_VALUE
    tenths = round(seconds * 10)
    hours, rest = divmod(tenths, 36000)
    minutes, rest = divmod(rest, 600)
    whole, tenth = divmod(rest, 10)
    text = f"{hours}:{minutes:02d}:{whole:02d}"
    return f"{text}{formats.get_format('DECIMAL_SEPARATOR')}{tenth}" if tenth else text


def report_value(value: float | None, kind: str) -> str:
    """A figure as the page shows it, in the request's number format."""
    if value is None:
        return NO_VALUE
    if kind == "duration":
        return report_duration(value)
    if kind == "rating":
        return formats.number_format(value, 2)
    if kind == "share":
        return f"{formats.number_format(value * 100, 1)}%"
    return formats.number_format(value, 0, force_grouping=True)


def report_headlines(summary: dict) -> list[dict]:
    """The headline figures: key (a stable id for tests), label, raw value, text."""
    return [
        {
            "key": key,
            "label": label,
            "value": summary[key],
            "text": report_value(summary[key], kind),
        }
        for key, label, kind in HEADLINES
    ]


def report_agent_rows(summary: dict) -> list[dict]:
    """The per-agent table's rows, figures as shown."""
    return [
        {
            **item,
            "first_response": report_duration(item["first_response_median_seconds"]),
            "resolution": report_duration(item["resolution_median_seconds"]),
            "csat": report_value(item["csat_average"], "rating"),
        }
        for item in summary["per_agent"]
    ]


def report_daily_rows(summary: dict) -> list[dict]:
    """The per-day table's rows: the date as a date, durations as shown."""
    return [
        {
            **day,
            "day": date.fromisoformat(day["date"]),
            "first_response": report_duration(day["first_response_median_seconds"]),
            "resolution": report_duration(day["resolution_median_seconds"]),
        }
        for day in summary["daily"]
    ]
