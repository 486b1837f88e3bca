"""The reports page and its CSV: every figure of a known desk as shown, who sees what,
bad ranges, charts without scripts or outside addresses, and a constant number of queries."""

import csv
import io
import re
import warnings
from html.parser import HTMLParser

import pytest
from django.utils import translation

from conversations.report_charts import report_charts
from conversations.tests.report_helpers import (
    RANGE,
    build_desk,
    build_more,
    expected_for_cs1,
)

pytestmark = pytest.mark.django_db

PAGE = "/console/reports/"
CSV = "/console/reports/export.csv"


class PageReader(HTMLParser):
    """What a reader sees of the page: headline figures by measure, tables by id."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self._measure = self._table = None
        self._in_dd = self._in_cell = False
        self._text = ""
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and "data-measure" in attrs:
            self._measure = attrs["data-measure"]
        elif tag == "dd" and self._measure:
            self._in_dd, self._text = True, ""
        elif tag == "table" and attrs.get("id"):
            self._table = attrs["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._in_cell, self._text = True, ""

    def handle_endtag(self, tag):
        if tag == "dd" and self._in_dd:
            self.figures[self._measure] = self._text.strip()
            self._in_dd, self._measure = False, None
        elif tag in ("td", "th") and self._in_cell:
            self.tables[self._table][-1].append(" ".join(self._text.split()))
            self._in_cell = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._in_dd or self._in_cell:
            self._text += data


@pytest.fixture
def desk(make_user, settings):
    settings.TIME_ZONE = "Asia/Jakarta"
    settings.LANGUAGE_CODE = "en"
    return build_desk(make_user)


def page_as(client, user, **query) -> tuple:
    client.force_login(user)
    response = client.get(PAGE, {**RANGE, **query})
    return response, PageReader(response.content.decode())


def csv_as(client, user, **query) -> tuple:
    client.force_login(user)
    response = client.get(CSV, {**RANGE, **query})
    body = b"".join(response.streaming_content).decode() if response.streaming else ""
    return response, list(csv.reader(io.StringIO(body)))


def test_the_page_shows_every_headline_figure_of_the_range(client, desk):
    response, page = page_as(client, desk.admin)

    assert response.status_code == 200
    assert page.figures == {
        "sessions_started": "6",
        "sessions_ended": "5",
        "sessions_active": "2",
        "messages_in": "8",
        "messages_out": "6",
        "queue_wait_median_seconds": "0:00:30",
        "first_response_median_seconds": "0:01:30.4",
        "first_response_p90_seconds": "0:05:00",
        "resolution_median_seconds": "0:30:00",
        "resolution_p90_seconds": "1:00:00",
        "csat_average": "4.00",
        "csat_positive_share": "66.7%",
        "csat_response_rate": "75.0%",
    }


def test_the_page_has_the_per_agent_table_the_daily_table_and_the_heatmap(client, desk):
    _, page = page_as(client, desk.admin)

    assert page.tables["report-agents"] == [
        ["Agent", "Sessions", "Median first response", "Median resolution", "Average rating"],
        ["CS One", "3", "0:01:30.4", "0:30:00", "4.50"],
        ["CS Two", "2", "0:03:00", "0:45:00", "3.00"],
    ]
    assert page.tables["report-daily"][1:] == [
        ["Mon 2 Nov", "3", "4", "5", "0:01:45.2", "0:30:00"],
        ["Tue 3 Nov", "3", "4", "1", "0:00:40", "0:45:00"],
    ]
    heatmap = page.tables["report-heatmap"]
    assert heatmap[0] == ["Weekday", *[str(hour) for hour in range(24)]]
    assert [row[0] for row in heatmap[1:]] == [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
    busy = {(r, h) for r, row in enumerate(heatmap[1:]) for h, n in enumerate(row[1:]) if n != "0"}
    assert busy == {(0, 9), (0, 10), (0, 23), (1, 8), (1, 14), (1, 16)}  # S4: Monday 23:00


def test_the_charts_are_inline_svg_without_scripts_or_outside_addresses(client, desk):
    response, _ = page_as(client, desk.admin)
    html = response.content.decode()

    charts = html.count('<figure class="chart" role="img" aria-label="')
    assert charts == 3
    assert html.count("<svg ") == 3
    assert "<script" not in html.split("<svg", 1)[1].rsplit("</svg>", 1)[0]
    assert "http://" not in html and "https://" not in html
    assert "Sessions started" in html.split("<svg", 1)[1]  # the legend


def test_the_page_is_in_indonesian_for_an_indonesian_agent(client, desk):
    desk.admin.language = "id"
    desk.admin.save()
    response, page = page_as(client, desk.admin)
    html = response.content.decode()

    assert "<h1" in html and "Laporan" in html
    assert page.figures["csat_average"] == "4,00"
    assert page.figures["first_response_median_seconds"] == "0:01:30,4"
    assert page.tables["report-agents"][0][0] == "Agen"
    assert page.tables["report-heatmap"][1][0] == "Senin"
    assert "Sesi dimulai" in html.split("<svg", 1)[1]  # the chart's legend
    translation.activate("en")


@pytest.mark.parametrize("agent", ["", "OTHER"])
def test_a_cs_sees_only_its_own_figures_on_the_page(client, desk, agent):
    expected = expected_for_cs1(desk)
    response, page = page_as(client, desk.cs1, agent=desk.cs2.pk if agent else "")

    assert response.status_code == 200
    assert page.figures["sessions_started"] == str(expected["sessions_started"])
    assert page.figures["messages_out"] == str(expected["messages_out"])
    assert page.figures["csat_response_rate"] == "66.7%"
    assert [row[0] for row in page.tables["report-agents"][1:]] == ["CS One"]
    assert 'id="report-agent"' not in response.content.decode()  # no agent filter for a CS


def test_an_admin_filters_the_page_by_agent(client, desk):
    response, page = page_as(client, desk.admin, agent=desk.cs2.pk)

    assert page.figures["sessions_started"] == "2"
    assert page.figures["queue_wait_median_seconds"] == "0:00:35"
    assert [row[0] for row in page.tables["report-agents"][1:]] == ["CS Two"]
    html = response.content.decode()
    assert f'<option value="{desk.cs2.pk}" selected>CS Two</option>' in html
    assert f"export.csv?from=2026-11-02&amp;to=2026-11-03&amp;agent={desk.cs2.pk}" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "2026-13-01"}, "Dates must be written YYYY-MM-DD."),
        ({"from": "2026-11-04", "to": "2026-11-03"}, "The start date is after the end date."),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "A report covers at most 366 days."),
    ],
)
def test_a_bad_range_shows_the_error_on_the_page_and_is_400_for_the_csv(
    client, desk, query, message
):
    client.force_login(desk.admin)
    page = client.get(PAGE, query)
    export = client.get(CSV, query)

    assert page.status_code == 400
    assert message in page.content.decode()
    assert 'role="alert"' in page.content.decode()
    assert export.status_code == 400
    assert export.content.decode() == message


def test_the_csv_has_one_row_per_session_started_with_its_measures(client, desk):
    response, rows = csv_as(client, desk.admin)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="reports-2026-11-02-2026-11-03.csv"' in response["Content-Disposition"]
    s, cs1, cs2 = desk.sessions, desk.cs1.pk, desk.cs2.pk
    assert rows == [
        [
            "session_id", "client", "agent_id", "agent", "status", "started_at",
            "first_assigned_at", "queue_wait_seconds", "first_response_seconds", "ended_at",
            "resolution_seconds", "messages_in", "messages_out", "rating", "comment",
        ],
        [
            s["S1"].pk, "Ani", cs1, "CS One", "ENDED", "2026-11-02T09:00:00+07:00",
            "2026-11-02T09:00:30+07:00", "30", "90.4", "2026-11-02T09:30:00+07:00",
            "1800", "2", "1", "5", "Great",
        ],
        [
            s["S2"].pk, "Budi", cs2, "CS Two", "ENDED", "2026-11-02T10:00:00+07:00",
            "2026-11-02T10:01:00+07:00", "60", "120", "2026-11-02T11:00:00+07:00",
            "3600", "1", "2", "3", "",
        ],
        [
            s["S4"].pk, "Citra", cs2, "CS Two", "ENDED", "2026-11-02T23:50:00+07:00",
            "2026-11-02T23:50:10+07:00", "10", "60", "2026-11-03T00:20:00+07:00",
            "1800", "2", "1", "", "",
        ],
        [
            s["S5"].pk, "Dewi", cs1, "CS One", "ACTIVE", "2026-11-03T08:00:00+07:00",
            "2026-11-03T08:00:20+07:00", "20", "40", "", "", "1", "1", "", "",
        ],
        [
            s["S3"].pk, "Eko", cs1, "CS One", "ENDED", "2026-11-03T14:00:00+07:00",
            "2026-11-03T14:05:00+07:00", "300", "", "2026-11-03T15:00:00+07:00",
            "3600", "1", "0", "", "",
        ],
        [
            s["S6"].pk, "Fajar", "", "", "ACTIVE", "2026-11-03T16:00:00+07:00",
            "", "", "", "", "", "1", "0", "", "",
        ],
    ]  # fmt: skip


@pytest.mark.parametrize("agent", ["", "OTHER"])
def test_a_cs_exports_only_its_own_sessions(client, desk, agent):
    _, rows = csv_as(client, desk.cs2, agent=desk.cs1.pk if agent else "")

    assert [row[0] for row in rows[1:]] == [desk.sessions["S2"].pk, desk.sessions["S4"].pk]


def test_the_csv_makes_formulas_inert(client, desk):
    desk.sessions["S1"].client.name = "=HYPERLINK(1)"
    desk.sessions["S1"].client.save()

    _, rows = csv_as(client, desk.admin)

    assert rows[1][1] == "'=HYPERLINK(1)"


@pytest.mark.parametrize("path", [PAGE, CSV])
def test_anonymous_users_are_sent_to_log_in(client, desk, path):
    response = client.get(path, RANGE)

    assert response.status_code == 302
    assert response.url.startswith(f"/login/?next={path}")


def test_the_workspace_links_to_the_reports(client, desk):
    client.force_login(desk.cs1)

    assert 'href="/console/reports/"' in client.get("/console/").content.decode()


@pytest.mark.parametrize("path", [PAGE, CSV])
def test_page_and_csv_use_a_constant_number_of_queries(
    client, desk, path, django_assert_max_num_queries
):
    client.force_login(desk.admin)

    def fetch() -> None:
        response = client.get(path, RANGE)
        if response.streaming:
            b"".join(response.streaming_content)

    with django_assert_max_num_queries(15) as small:
        fetch()
    build_more(desk, 40)
    with django_assert_max_num_queries(15) as large:
        fetch()

    assert len(large.captured_queries) == len(small.captured_queries)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_under_asgi_the_csv_streams_the_same_rows(desk, async_client):
    from asgiref.sync import sync_to_async

    await sync_to_async(async_client.force_login)(desk.admin)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = await async_client.get(CSV, RANGE)
        body = "".join([part.decode() async for part in response.streaming_content])

    assert response.status_code == 200
    assert response.is_async  # read in batches, not all at once by Django
    assert not [w for w in caught if "synchronous iterators" in str(w.message)]
    rows = list(csv.reader(io.StringIO(body)))
    assert [row[1] for row in rows] == ["client", "Ani", "Budi", "Citra", "Dewi", "Eko", "Fajar"]


@pytest.mark.parametrize(
    ("n", "rank"),
    [(1, 1), (2, 2), (5, 5), (9, 9), (10, 9), (11, 10), (20, 18), (70, 63), (100, 90)],
)
def test_the_90th_percentile_is_the_nearest_rank(n, rank):
    from conversations.reports import p90

    assert p90([float(v) for v in range(n, 0, -1)]) == rank  # values 1..n, unsorted


def test_the_median_is_the_middle_or_the_mean_of_the_two_middle_values():
    from conversations.reports import median

    assert median([]) is None
    assert median([30.0, 10.0, 20.0]) == 20.0
    assert median([40.0, 10.0, 20.0, 30.0]) == 25.0


def test_the_volume_chart_counts_in_whole_numbers():
    # A quiet range: pygal's own guide lines would read 0.4, 0.8, 1.2 messages.
    daily = [
        {"date": "2026-11-01", "sessions_started": 1, "messages_in": 2, "messages_out": 1},
        {"date": "2026-11-02", "sessions_started": 0, "messages_in": 0, "messages_out": 0},
    ]
    for day in daily:
        day.update(first_response_median_seconds=None, resolution_median_seconds=None)

    volume = report_charts({"daily": daily})["volume"]

    guides = re.findall(r'class="axis y[^"]*".*?</g></g>', volume, re.DOTALL)[0]
    labels = re.findall(r"<text[^>]*>([^<]+)</text>", guides)
    assert labels and all(label.isdigit() for label in labels), labels
    assert "2" in labels  # the busiest day's messages in are on a guide line
