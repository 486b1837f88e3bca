"""Reports (#15): the desk's figures over a date range, read from the stored moments.

Selectors only: they read a range through the range indexes (sessions' created_at,
ended_at and csat_asked_at, chats' (created_at, sender_type, is_notice), assignments'
assigned_at, ratings' created_at) and never scan a whole table, so the number of
queries is the same whatever the data size. Sessions, assignments and ratings of a range
come back as a few columns each and are bucketed by local day and hour in Python (a
30-day range holds thousands of them, not millions); chats, ten times as many, are
counted by the database.

A range is dates, inclusive, in settings.TIME_ZONE: [from 00:00 local, to+1 00:00 local).
Every measure is defined in the README ("Reports"). A CS always sees its own figures:
the agent filter is forced to the caller.
"""

import re
import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from conversations.models import Chat, CsatRating, Session, SessionAssignment

DATE_FORMAT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DEFAULT_RANGE_DAYS = 30
MAX_RANGE_DAYS = 366
CSV_COLUMNS = (
    "session_id",
    "client",
    "agent_id",
    "agent",
    "status",
    "started_at",
    "first_assigned_at",
    "queue_wait_seconds",
    "first_response_seconds",
    "ended_at",
    "resolution_seconds",
    "messages_in",
    "messages_out",
    "rating",
    "comment",
)


class ReportRangeError(ValueError):
    """A range or agent filter the reports refuse: the message says why, for people."""

    def __init__(self, message: str, *, field: str = "from") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class ReportRange:
    """Dates `first`..`last` (inclusive) in `tz`, and the instants bounding each day."""

    first: date
    last: date
    tz: ZoneInfo

    @cached_property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @cached_property
    def boundaries(self) -> list[datetime]:
        """Each day's local midnight, then the one after the last day (aware, UTC)."""
        days = [*self.days, self.last + timedelta(days=1)]
        return [datetime.combine(day, time.min, tzinfo=self.tz).astimezone(UTC) for day in days]

    @property
    def start(self) -> datetime:
        return self.boundaries[0]

    @property
    def end(self) -> datetime:
        return self.boundaries[-1]


def report_tz() -> ZoneInfo:
    """The display time zone (settings.TIME_ZONE), whatever the request's."""
    return ZoneInfo(settings.TIME_ZONE)


def _date_parse(text: str | None, *, field: str) -> date | None:
    """YYYY-MM-DD only (Python alone would take "20261203" or week dates too); years
    1970..9998, so a range and its bounds never overflow."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if not DATE_FORMAT.fullmatch(text):
            raise ValueError(text)
        parsed = date.fromisoformat(text)
    except ValueError:
        raise ReportRangeError(_("Dates must be written YYYY-MM-DD."), field=field) from None
    if not 1970 <= parsed.year <= 9998:
        raise ReportRangeError(_("Dates must be between 1970 and 9998."), field=field)
    return parsed


def report_range_parse(first: str | None, last: str | None) -> ReportRange:
    """The range `from`..`to` as typed (YYYY-MM-DD); both empty: the last 30 days to today.

    Raise ReportRangeError for a malformed date, `from` after `to`, or more than 366 days.
    """
    tz = report_tz()
    today = timezone.now().astimezone(tz).date()
    first_date = _date_parse(first, field="from")
    last_date = _date_parse(last, field="to")
    if last_date is None:
        last_date = today if first_date is None else first_date + timedelta(DEFAULT_RANGE_DAYS - 1)
    if first_date is None:
        first_date = last_date - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if first_date > last_date:
        raise ReportRangeError(_("The start date is after the end date."), field="to")
    if (last_date - first_date).days + 1 > MAX_RANGE_DAYS:
        raise ReportRangeError(
            _("A report covers at most %(days)d days.") % {"days": MAX_RANGE_DAYS}
        )
    return ReportRange(first=first_date, last=last_date, tz=tz)


def report_agent_for(*, user: User, agent_id: str | None) -> str | None:
    """The agent whose figures `user` gets: a CS always itself, an ADMIN whom it asks."""
    if not user.is_admin:
        return user.pk
    return agent_id or None


def report_agent_check(*, user: User, agent_id: str | None) -> str | None:
    """`agent_id` as report_agent_for gives it; ReportRangeError for an ADMIN asking for
    no such user (a CS's own id needs no query)."""
    agent_id = report_agent_for(user=user, agent_id=(agent_id or "").strip())
    if agent_id and user.is_admin and not User.objects.filter(pk=agent_id).exists():
        raise ReportRangeError(_("No such agent."), field="agent")
    return agent_id


def report_agents(*, user: User) -> list[User]:
    """The agents an ADMIN may filter by (CS users, active first then by name)."""
    if not user.is_admin:
        return [user]
    return list(User.objects.filter(role=User.Role.CS).order_by("-is_active", "name", "id"))


def median(values: list[float]) -> float | None:
    """The usual median (mean of the two middle values when even); None when empty."""
    return statistics.median(values) if values else None


def p90(values: list[float]) -> float | None:
    """Nearest rank: the ceil(0.9 * n)-th smallest value; None when empty.

    In integers, so the rank never depends on how 0.9 * n rounds as a float."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[(9 * len(ordered) + 9) // 10 - 1]


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def _ratio(part: int, whole: int, digits: int = 3) -> float | None:
    return round(part / whole, digits) if whole else None


def _span(later: str, earlier: str | datetime) -> ExpressionWrapper:
    """`later` - `earlier` (a column, or an instant such as the range's start), computed
    by the database: a duration is far cheaper to read back than two datetimes, whose
    conversion took most of a large range's time in Python."""
    since = F(earlier) if isinstance(earlier, str) else Value(earlier, output_field=DateTimeField())
    return ExpressionWrapper(F(later) - since, output_field=DurationField())


def _s(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


class _LocalClock:
    """Local day and hour of instants given as seconds since the range's start.

    Every UTC offset in use since 1972 (and every daylight saving change) is a multiple
    of 15 minutes, and the range starts at a local midnight: so every instant in one UTC
    quarter hour after the start has the same local date and hour, computed once."""

    QUARTER = 900

    def __init__(self, report_range: ReportRange) -> None:
        self.range = report_range
        self._slots: dict[int, tuple[int, int, int]] = {}

    def at(self, seconds: float) -> tuple[int, int, int]:
        """(day index in the range, weekday (Monday 0), hour) of `seconds` after the start."""
        slot = int(seconds // self.QUARTER)
        local = self._slots.get(slot)
        if local is None:
            when = self.range.start + timedelta(seconds=slot * self.QUARTER)
            when = when.astimezone(self.range.tz)
            local = ((when.date() - self.range.first).days, when.weekday(), when.hour)
            self._slots[slot] = local
        return local

    def day(self, seconds: float) -> int:
        return self.at(seconds)[0]


@dataclass
class _Rows:
    """One read of the range: the few values each measure needs, instants as seconds
    since the range's start, durations in seconds."""

    started: list[tuple]  # (cs_id, status, started, queue wait or None)
    ended: list[tuple]  # (cs_id, ended, resolution)
    assignments: list[tuple]  # (agent_id, assigned, first response)
    ratings: list[tuple]  # (agent_id, rating)
    surveys: int
    messages: list[dict[str, int]]  # per day of the range: {CLIENT: n, CS: n}


def _read(report_range: ReportRange, agent_id: str | None) -> _Rows:
    start, end = report_range.start, report_range.end
    by_agent = Q(cs_id=agent_id) if agent_id else Q()
    started = [
        (cs_id, status, _s(since), _s(wait))
        for cs_id, status, since, wait in Session.objects.filter(
            by_agent, created_at__gte=start, created_at__lt=end
        )
        .values_list(
            "cs_id", "status", _span("created_at", start), _span("first_assigned_at", "created_at")
        )
        .order_by()
    ]
    ended = [
        (cs_id, _s(since), _s(took))
        for cs_id, since, took in Session.objects.filter(
            by_agent, ended_at__gte=start, ended_at__lt=end
        )
        .values_list("cs_id", _span("ended_at", start), _span("ended_at", "created_at"))
        .order_by()
    ]
    assignments = [
        (who, _s(since), _s(took))
        for who, since, took in SessionAssignment.objects.filter(
            Q(agent_id=agent_id) if agent_id else Q(),
            assigned_at__gte=start,
            assigned_at__lt=end,
            first_reply_at__isnull=False,
        )
        .values_list(
            "agent_id", _span("assigned_at", start), _span("first_reply_at", "assigned_at")
        )
        .order_by()
    ]
    by_rated = Q(agent_id=agent_id) if agent_id else Q()
    ratings = list(
        CsatRating.objects.filter(by_rated, created_at__gte=start, created_at__lt=end)
        .values_list("agent_id", "rating")
        .order_by()
    )
    surveys = Session.objects.filter(
        by_agent, csat_asked_at__gte=start, csat_asked_at__lt=end
    ).count()
    return _Rows(
        started=started,
        ended=ended,
        assignments=assignments,
        ratings=ratings,
        surveys=surveys,
        messages=_messages_by_day(report_range, agent_id),
    )


def _day_of(boundaries: list[datetime], first: int, last: int) -> Case | Value:
    """SQL giving the index of the local day holding `created_at`, for rows between
    boundaries[first] and boundaries[last]: a balanced tree of comparisons, so each row
    costs log2(days) comparisons and no time zone table or string formatting, and days
    of any zone (half-hour offsets, daylight saving) are exact."""
    if last - first == 1:
        return Value(first)
    middle = (first + last) // 2
    return Case(
        When(created_at__lt=boundaries[middle], then=_day_of(boundaries, first, middle)),
        default=_day_of(boundaries, middle, last),
        output_field=IntegerField(),
    )


def _messages_by_day(report_range: ReportRange, agent_id: str | None) -> list[dict[str, int]]:
    """Real messages in and out per local day, counted by the database in one query
    over the range of idx_chats_created_sender (a join to sessions for an agent)."""
    boundaries = report_range.boundaries
    chats = Chat.objects.filter(
        created_at__gte=boundaries[0],
        created_at__lt=boundaries[-1],
        is_notice=False,
        sender_type__in=(Chat.SenderType.CLIENT, Chat.SenderType.CS),
    )
    if agent_id:
        chats = chats.filter(session__cs_id=agent_id)
    days = len(report_range.days)
    counts = [{Chat.SenderType.CLIENT: 0, Chat.SenderType.CS: 0} for _ in range(days)]
    rows = (
        chats.annotate(day=_day_of(boundaries, 0, days))
        .values_list("day", "sender_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    for day, sender, n in rows:
        counts[day][sender] += n
    return counts


def _average(ratings: list[int]) -> float | None:
    return round(sum(ratings) / len(ratings), 2) if ratings else None


def _per_agent(*, agent_id: str | None, rows: _Rows) -> list[dict]:
    """One item per agent: the filtered one, or every active CS and anyone else with
    figures in the range. Rows are grouped by agent once (not read once per agent)."""
    sessions: dict[str, int] = defaultdict(int)
    responses: dict[str, list[float]] = defaultdict(list)
    resolutions: dict[str, list[float]] = defaultdict(list)
    ratings: dict[str, list[int]] = defaultdict(list)
    for who, _status, _since, _wait in rows.started:
        sessions[who] += 1
    for who, _since, took in rows.assignments:
        responses[who].append(took)
    for who, _since, took in rows.ended:
        resolutions[who].append(took)
    for who, rating in rows.ratings:
        ratings[who].append(rating)
    if agent_id:
        agents = User.objects.filter(pk=agent_id)
    else:
        seen = (set(sessions) | set(responses) | set(resolutions) | set(ratings)) - {None}
        agents = User.objects.filter(Q(role=User.Role.CS, is_active=True) | Q(pk__in=seen))
    return [
        {
            "agent_id": pk,
            "name": name,
            "sessions": sessions.get(pk, 0),
            "first_response_median_seconds": _seconds(median(responses.get(pk, []))),
            "resolution_median_seconds": _seconds(median(resolutions.get(pk, []))),
            "csat_average": _average(ratings.get(pk, [])),
        }
        for pk, name in agents.order_by("name", "id").values_list("id", "name")
    ]


def _daily(report_range: ReportRange, rows: _Rows, clock: _LocalClock) -> list[dict]:
    days = report_range.days
    started = [0] * len(days)
    responses: list[list[float]] = [[] for _ in days]
    resolutions: list[list[float]] = [[] for _ in days]
    for _who, _status, since, _wait in rows.started:
        started[clock.day(since)] += 1
    for _who, since, took in rows.assignments:
        responses[clock.day(since)].append(took)
    for _who, since, took in rows.ended:
        resolutions[clock.day(since)].append(took)
    return [
        {
            "date": day.isoformat(),
            "sessions_started": started[i],
            "messages_in": rows.messages[i][Chat.SenderType.CLIENT],
            "messages_out": rows.messages[i][Chat.SenderType.CS],
            "first_response_median_seconds": _seconds(median(responses[i])),
            "resolution_median_seconds": _seconds(median(resolutions[i])),
        }
        for i, day in enumerate(days)
    ]


def _heatmap(rows: _Rows, clock: _LocalClock) -> list[list[int]]:
    grid = [[0] * 24 for _ in range(7)]
    for _who, _status, since, _wait in rows.started:
        _day, weekday, hour = clock.at(since)
        grid[weekday][hour] += 1
    return grid


def report_summary(*, user: User, report_range: ReportRange, agent_id: str | None = None) -> dict:
    """Every figure of the range for `user` (a CS: its own), shaped as /api/reports/summary/."""
    agent_id = report_agent_for(user=user, agent_id=agent_id)
    rows = _read(report_range, agent_id)
    clock = _LocalClock(report_range)
    waits = [row[3] for row in rows.started if row[3] is not None]
    responses = [row[2] for row in rows.assignments]
    resolutions = [row[2] for row in rows.ended]
    ratings = [row[1] for row in rows.ratings]
    daily = _daily(report_range, rows, clock)
    return {
        "from": report_range.first.isoformat(),
        "to": report_range.last.isoformat(),
        "time_zone": settings.TIME_ZONE,
        "agent_id": agent_id,
        "sessions_started": len(rows.started),
        "sessions_ended": len(rows.ended),
        "sessions_active": sum(1 for row in rows.started if row[1] == Session.Status.ACTIVE),
        "messages_in": sum(day["messages_in"] for day in daily),
        "messages_out": sum(day["messages_out"] for day in daily),
        "queue_wait_median_seconds": _seconds(median(waits)),
        "first_response_median_seconds": _seconds(median(responses)),
        "first_response_p90_seconds": _seconds(p90(responses)),
        "resolution_median_seconds": _seconds(median(resolutions)),
        "resolution_p90_seconds": _seconds(p90(resolutions)),
        "csat_average": _average(ratings),
        "csat_positive_share": _ratio(sum(1 for r in ratings if r >= 4), len(ratings)),
        "csat_ratings": len(ratings),
        "csat_surveys_sent": rows.surveys,
        "csat_response_rate": _ratio(len(ratings), rows.surveys),
        "per_agent": _per_agent(agent_id=agent_id, rows=rows),
        "heatmap": _heatmap(rows, clock),
        "daily": daily,
    }


def _iso(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).isoformat(timespec="seconds") if value else ""


def _cell(text: str | None) -> str:
    """Text a client or agent wrote, made inert for spreadsheets: a leading =, +, -, @,
    tab or carriage return would otherwise be read as a formula (CSV injection)."""
    text = text or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _number(value: float | None) -> str:
    """Seconds for the CSV: 30, 90.4 (never 1e+06, as "%g" would write)."""
    if value is None:
        return ""
    value = round(value, 1)
    return str(int(value)) if value.is_integer() else str(value)


def report_sessions_rows(
    *, user: User, report_range: ReportRange, agent_id: str | None = None
) -> Iterator[list]:
    """The CSV: the header, then one row per session started in the range, oldest first.

    Four range queries (sessions with client and agent, their chat counts, their
    assignments, their ratings) whatever the number of sessions; the sessions are
    streamed from the database.
    """
    agent_id = report_agent_for(user=user, agent_id=agent_id)
    tz = report_range.tz
    in_range = {"created_at__gte": report_range.start, "created_at__lt": report_range.end}
    if agent_id:
        in_range["cs_id"] = agent_id
    of_sessions = {f"session__{key}": value for key, value in in_range.items()}
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for session_id, sender, n in (
        Chat.objects.filter(**of_sessions, is_notice=False)
        .values_list("session_id", "sender_type")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts[session_id][sender] = n
    first_reply: dict[str, tuple] = {}
    for session_id, assigned_at, replied_at in (
        SessionAssignment.objects.filter(**of_sessions)
        .order_by("-assigned_at", "-id")
        .values_list("session_id", "assigned_at", "first_reply_at")
    ):
        first_reply[session_id] = (assigned_at, replied_at)  # the earliest wins
    ratings = {
        session_id: (rating, comment)
        for session_id, rating, comment in CsatRating.objects.filter(**of_sessions)
        .values_list("session_id", "rating", "comment")
        .order_by()
    }
    yield list(CSV_COLUMNS)
    sessions = (
        Session.objects.filter(**in_range)
        .order_by("created_at", "id")
        .values_list(
            "id",
            "client__name",
            "cs_id",
            "cs__name",
            "status",
            "created_at",
            "first_assigned_at",
            "ended_at",
        )
    )
    for sid, client, cs_id, cs_name, status, created, assigned, ended in sessions.iterator(2000):
        assignment = first_reply.get(sid)
        response = _between(*assignment) if assignment and assignment[1] is not None else None
        rating, comment = ratings.get(sid, ("", ""))
        yield [
            sid,
            _cell(client),
            cs_id or "",
            _cell(cs_name),
            status,
            _iso(created, tz),
            _iso(assigned, tz),
            _number(_between(created, assigned) if assigned else None),
            _number(response),
            _iso(ended, tz),
            _number(_between(created, ended) if ended else None),
            counts[sid].get(Chat.SenderType.CLIENT, 0),
            counts[sid].get(Chat.SenderType.CS, 0),
            rating,
            _cell(comment),
        ]


def csat_list(*, user: User, report_range: ReportRange, agent_id: str | None = None):
    """Ratings created in the range (a CS: its own), newest first: a queryset to paginate."""
    agent_id = report_agent_for(user=user, agent_id=agent_id)
    ratings = CsatRating.objects.filter(
        created_at__gte=report_range.start, created_at__lt=report_range.end
    )
    if agent_id:
        ratings = ratings.filter(agent_id=agent_id)
    return ratings.order_by("-created_at", "-id")
