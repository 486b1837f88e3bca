"""/api/reports/summary/ and /api/csat/: every figure of a known desk, exactly; who sees
what (a CS only its own, even when it names another agent); bad ranges are 400s."""

import pytest

from conversations.tests.api_helpers import call
from conversations.tests.report_helpers import (
    EXPECTED_ALL,
    build_desk,
    build_more,
    expected_for_cs1,
    expected_for_cs2,
    expected_per_agent,
)

pytestmark = pytest.mark.django_db

SUMMARY = "/api/reports/summary/?from=2026-11-02&to=2026-11-03"
CSAT = "/api/csat/?from=2026-11-02&to=2026-11-03"


@pytest.fixture
def desk(make_user, settings):
    settings.TIME_ZONE = "Asia/Jakarta"
    return build_desk(make_user)


def test_an_admin_gets_every_figure_of_the_range_exactly(desk):
    response = call("get", SUMMARY, desk.admin)

    assert response.status_code == 200
    assert response.json() == {**EXPECTED_ALL, "per_agent": expected_per_agent(desk)}


def test_an_admin_filters_by_agent(desk):
    assert call("get", f"{SUMMARY}&agent={desk.cs1.pk}", desk.admin).json() == expected_for_cs1(
        desk
    )
    assert call("get", f"{SUMMARY}&agent={desk.cs2.pk}", desk.admin).json() == expected_for_cs2(
        desk
    )


@pytest.mark.parametrize("agent", ["", "&agent=OTHER"])
def test_a_cs_gets_only_its_own_figures_even_naming_another_agent(desk, agent):
    response = call("get", SUMMARY + agent.replace("OTHER", desk.cs2.pk), desk.cs1)

    assert response.status_code == 200
    assert response.json() == expected_for_cs1(desk)


def test_another_cs_gets_its_own(desk):
    response = call("get", f"{SUMMARY}&agent={desk.cs1.pk}", desk.cs2)

    assert response.json() == expected_for_cs2(desk)


def test_a_day_is_a_local_day_not_a_utc_day(desk, settings):
    # Tuesday 2026-11-03 local: S4's 00:10 message (Monday 17:10 UTC) is in, S7 (Tuesday
    # 17:00 UTC, Wednesday local) is out.
    body = call("get", "/api/reports/summary/?from=2026-11-03&to=2026-11-03", desk.admin).json()

    assert body["sessions_started"] == 3
    assert body["messages_in"] == 4
    assert body["messages_out"] == 1

    settings.TIME_ZONE = "UTC"  # the same rows, counted in UTC days
    body = call("get", "/api/reports/summary/?from=2026-11-03&to=2026-11-03", desk.admin).json()

    assert body["time_zone"] == "UTC"
    assert body["sessions_started"] == 4  # S5 S3 S6 and S7 (Tuesday 17:00 UTC)
    assert body["messages_in"] == 4  # S5 S3 S6 S7; S4's 00:10 local is Monday 17:10 UTC


def test_a_zone_with_a_half_hour_offset_counts_messages_per_local_day(desk, settings):
    settings.TIME_ZONE = "Asia/Kolkata"  # +05:30: local midnights are not whole UTC hours
    body = call("get", "/api/reports/summary/?from=2026-11-02&to=2026-11-02", desk.admin).json()

    # Kolkata's 2026-11-02 is 2026-11-01 18:30 UTC to 2026-11-02 18:30 UTC: from S0's
    # reply (Jakarta 00:01 = 2026-11-01 17:01 UTC, out) to S4's 00:10 Jakarta
    # (17:10 UTC, in).
    assert [body["messages_in"], body["messages_out"]] == [5, 4]
    assert body["daily"][0]["messages_in"] == 5
    # S1 02:00 UTC is 07:30 there, S2 08:30, S4 22:20; S0 and S5 fall on other days.
    assert body["sessions_started"] == 3
    assert [
        (weekday, hour)
        for weekday, hours in enumerate(body["heatmap"])
        for hour, n in enumerate(hours)
        if n
    ] == [(0, 7), (0, 8), (0, 22)]


def test_a_day_with_a_daylight_saving_change_has_its_local_hours(desk, settings):
    # New York leaves daylight saving at 2026-11-01 06:00 UTC: that Sunday has 25 hours.
    settings.TIME_ZONE = "America/New_York"
    body = call("get", "/api/reports/summary/?from=2026-11-01&to=2026-11-01", desk.admin).json()

    # S0 16:59 UTC is 11:59 EST, S1 (02:00 UTC, 2 Nov) 21:00, S2 22:00 (not 12, 22, 23
    # as the morning's EDT offset would say).
    assert body["sessions_started"] == 3
    assert [hour for hour, n in enumerate(body["heatmap"][6]) if n] == [11, 21, 22]
    assert body["daily"] == [
        {
            "date": "2026-11-01",
            "sessions_started": 3,
            "messages_in": 4,  # S0 23:59 Jakarta (16:59 UTC), S1 two, S2 one; S4 is Monday
            "messages_out": 4,  # S0 00:01 Jakarta (17:01 UTC), S1, S2 two
            "first_response_median_seconds": 105.2,  # S0's 90 is in now: 90 90.4 120 300
            "resolution_median_seconds": 1800.0,  # S0 660, S1 1800, S2 3600
        }
    ]


def test_csat_lists_the_ratings_of_the_range_newest_first(desk):
    response = call("get", CSAT, desk.admin)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [
        (r["session_id"], r["agent_id"], r["rating"], r["comment"], r["created_at"])
        for r in body["results"]
    ] == [
        (desk.sessions["S2"].pk, desk.cs2.pk, 3, "", "2026-11-02T11:02:00+07:00"),
        (desk.sessions["S1"].pk, desk.cs1.pk, 5, "Great", "2026-11-02T09:31:00+07:00"),
        (desk.sessions["S0"].pk, desk.cs1.pk, 4, "", "2026-11-02T00:12:00+07:00"),
    ]


def test_csat_a_cs_lists_only_its_own_even_naming_another(desk):
    own = call("get", f"{CSAT}&agent={desk.cs2.pk}", desk.cs1).json()
    other = call("get", CSAT, desk.cs2).json()
    filtered = call("get", f"{CSAT}&agent={desk.cs2.pk}", desk.admin).json()

    assert [r["rating"] for r in own["results"]] == [5, 4]
    assert [r["rating"] for r in other["results"]] == [3]
    assert [r["rating"] for r in filtered["results"]] == [3]


@pytest.mark.parametrize("path", [SUMMARY, CSAT])
def test_anonymous_and_bad_tokens_get_401(desk, path):
    assert call("get", path, None).status_code == 401
    assert call("get", path, desk.cs1, expired=True).status_code == 401


@pytest.mark.parametrize("path", ["/api/reports/summary/", "/api/csat/"])
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=02-11-2026&to=2026-11-03", "from"),
        ("from=20261102", "from"),
        ("from=2026-W45-1", "from"),
        ("from=2026-02-30", "from"),
        ("to=yesterday", "to"),
        ("from=2026-11-04&to=2026-11-03", "to"),
        ("from=2025-01-01&to=2026-01-02", "from"),  # 367 days
        ("from=0001-01-01&to=0001-01-02", "from"),
    ],
)
def test_bad_ranges_are_400_naming_the_field(desk, path, query, field):
    response = call("get", f"{path}?{query}", desk.admin)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"]
    assert body["errors"][field][0]


def test_an_unknown_agent_is_400_for_an_admin(desk):
    response = call("get", f"{SUMMARY}&agent=nobody", desk.admin)

    assert response.status_code == 400
    assert response.json()["errors"]["agent"] == ["No such agent."]


def test_366_days_are_allowed_and_the_default_is_the_last_30_days(desk):
    year = call("get", "/api/reports/summary/?from=2025-01-01&to=2026-01-01", desk.admin)
    assert year.status_code == 200
    assert len(year.json()["daily"]) == 366
    body = call("get", "/api/reports/summary/", desk.admin).json()

    assert len(body["daily"]) == 30
    assert body["daily"][-1]["date"] == body["to"]


def test_the_summary_is_read_in_a_constant_number_of_queries(desk, django_assert_max_num_queries):
    with django_assert_max_num_queries(10) as small:
        call("get", SUMMARY, desk.admin)
    build_more(desk, 40)
    with django_assert_max_num_queries(10) as large:
        body = call("get", SUMMARY, desk.admin).json()

    assert body["sessions_started"] == 6 + 40
    assert len(large.captured_queries) == len(small.captured_queries)
