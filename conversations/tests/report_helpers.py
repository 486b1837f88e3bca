"""A known week of the desk for the reports' tests (no tests of its own).

The display time zone is Asia/Jakarta (UTC+7, no daylight saving), the range 2026-11-02
(a Monday) to 2026-11-03, local. Every figure the tests expect is worked out by hand in
EXPECTED below, from these rows:

- S0 (cs1) started the evening before the range, ended in it (00:10): counts as ended
  (660 s), its reply at 00:01 counts as a message out, its rating (4) and survey count.
- S1 (cs1) wait 30 s, first reply 90.4 s after assignment (a notice came first, not a
  reply), two messages in, one out, ended after 1800 s, rated 5 "Great".
- S2 transferred: cs1 assigned (reply after 120 s), then cs2 (reply after 300 s); its agent
  is cs2; a notice at the transfer; ended after 3600 s, rated 3.
- S4 (cs2) across local midnight: started Monday 23:50 local (16:50 UTC), a client
  message at 00:10 Tuesday local (still Monday in UTC), ended 00:20 Tuesday; no survey.
- S5 (cs1) still ACTIVE, first reply after 40 s.
- S3 (cs1) unanswered: assigned, never replied to; surveyed, not rated.
- S6 waiting: no agent, no assignment.
- S7 (cs2) started at 00:00 Wednesday local (Tuesday 17:00 UTC): outside the range.
"""

from dataclasses import dataclass
from datetime import datetime
from itertools import count
from zoneinfo import ZoneInfo

from accounts.models import User
from conversations.models import Chat, Client, CsatRating, Session, SessionAssignment

JAKARTA = ZoneInfo("Asia/Jakarta")
RANGE = {"from": "2026-11-02", "to": "2026-11-03"}
_numbers = count(5000)


def local(text: str) -> datetime:
    """'2026-11-02 09:00:30[.4]' in Jakarta, as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=JAKARTA)


@dataclass
class Desk:
    cs1: User
    cs2: User
    admin: User
    sessions: dict[str, Session]


def _session(name: str, cs: User | None, started: str, **fields) -> Session:
    n = next(_numbers)
    client = Client.objects.create(telegram_id=str(n), name=name)
    ended = fields.pop("ended", None)
    return Session.objects.create(
        client=client,
        cs=cs,
        status=Session.Status.ENDED if ended else Session.Status.ACTIVE,
        created_at=local(started),
        last_activity_at=local(started),
        ended_at=local(ended) if ended else None,
        first_assigned_at=local(fields["assigned"]) if fields.get("assigned") else None,
        csat_asked_at=local(fields["asked"]) if fields.get("asked") else None,
    )


def _chat(session: Session, at: str, sender: str = Chat.SenderType.CLIENT, **fields) -> None:
    Chat.objects.create(
        session=session, sender_type=sender, message="m", created_at=local(at), **fields
    )


def _out(session: Session, at: str) -> None:
    _chat(session, at, Chat.SenderType.CS, delivery_status=Chat.DeliveryStatus.SENT)


def _notice(session: Session, at: str) -> None:
    _chat(session, at, Chat.SenderType.CS, is_notice=True)


def _assign(session: Session, agent: User, at: str, replied: str | None) -> None:
    SessionAssignment.objects.create(
        session=session,
        agent=agent,
        assigned_at=local(at),
        first_reply_at=local(replied) if replied else None,
    )


def _rate(session: Session, agent: User, rating: int, at: str, comment: str = "") -> None:
    CsatRating.objects.create(
        session=session, agent=agent, rating=rating, comment=comment, created_at=local(at)
    )


def build_desk(make_user) -> Desk:
    cs1 = make_user("cs1@helpdesk.com", name="CS One")
    cs2 = make_user("cs2@helpdesk.com", name="CS Two")
    admin = make_user("admin@helpdesk.com", name="Admin", role=User.Role.ADMIN)

    s0 = _session(
        "Zed", cs1, "2026-11-01 23:59:00", assigned="2026-11-01 23:59:30",
        ended="2026-11-02 00:10:00", asked="2026-11-02 00:10:00",
    )  # fmt: skip
    _chat(s0, "2026-11-01 23:59:00")
    _assign(s0, cs1, "2026-11-01 23:59:30", "2026-11-02 00:01:00")
    _out(s0, "2026-11-02 00:01:00")
    _rate(s0, cs1, 4, "2026-11-02 00:12:00")

    s1 = _session(
        "Ani", cs1, "2026-11-02 09:00:00", assigned="2026-11-02 09:00:30",
        ended="2026-11-02 09:30:00", asked="2026-11-02 09:30:00",
    )  # fmt: skip
    _chat(s1, "2026-11-02 09:00:00")
    _assign(s1, cs1, "2026-11-02 09:00:30", "2026-11-02 09:02:00.4")
    _notice(s1, "2026-11-02 09:00:31")
    _out(s1, "2026-11-02 09:02:00.4")
    _chat(s1, "2026-11-02 09:05:00")
    _rate(s1, cs1, 5, "2026-11-02 09:31:00", "Great")

    s2 = _session(
        "Budi", cs2, "2026-11-02 10:00:00", assigned="2026-11-02 10:01:00",
        ended="2026-11-02 11:00:00", asked="2026-11-02 11:00:00",
    )  # fmt: skip
    _chat(s2, "2026-11-02 10:00:00")
    _assign(s2, cs1, "2026-11-02 10:01:00", "2026-11-02 10:03:00")
    _out(s2, "2026-11-02 10:03:00")
    _assign(s2, cs2, "2026-11-02 10:10:00", "2026-11-02 10:15:00")
    _notice(s2, "2026-11-02 10:10:00")
    _out(s2, "2026-11-02 10:15:00")
    _rate(s2, cs2, 3, "2026-11-02 11:02:00")

    s4 = _session(
        "Citra", cs2, "2026-11-02 23:50:00", assigned="2026-11-02 23:50:10",
        ended="2026-11-03 00:20:00",
    )  # fmt: skip
    _chat(s4, "2026-11-02 23:50:00")
    _assign(s4, cs2, "2026-11-02 23:50:10", "2026-11-02 23:51:10")
    _out(s4, "2026-11-02 23:51:10")
    _chat(s4, "2026-11-03 00:10:00")

    s5 = _session("Dewi", cs1, "2026-11-03 08:00:00", assigned="2026-11-03 08:00:20")
    _chat(s5, "2026-11-03 08:00:00")
    _assign(s5, cs1, "2026-11-03 08:00:20", "2026-11-03 08:01:00")
    _out(s5, "2026-11-03 08:01:00")

    s3 = _session(
        "Eko", cs1, "2026-11-03 14:00:00", assigned="2026-11-03 14:05:00",
        ended="2026-11-03 15:00:00", asked="2026-11-03 15:00:00",
    )  # fmt: skip
    _chat(s3, "2026-11-03 14:00:00")
    _assign(s3, cs1, "2026-11-03 14:05:00", None)
    _notice(s3, "2026-11-03 14:05:00")

    s6 = _session("Fajar", None, "2026-11-03 16:00:00")
    _chat(s6, "2026-11-03 16:00:00")

    s7 = _session("Gita", cs2, "2026-11-04 00:00:00", assigned="2026-11-04 00:00:05")
    _chat(s7, "2026-11-04 00:00:00")
    _assign(s7, cs2, "2026-11-04 00:00:05", "2026-11-04 00:00:30")
    _out(s7, "2026-11-04 00:00:30")

    sessions = {"S0": s0, "S1": s1, "S2": s2, "S3": s3, "S4": s4, "S5": s5, "S6": s6, "S7": s7}
    return Desk(cs1=cs1, cs2=cs2, admin=admin, sessions=sessions)


def heatmap(*cells: tuple[int, int, int]) -> list[list[int]]:
    grid = [[0] * 24 for _ in range(7)]
    for weekday, hour, n in cells:
        grid[weekday][hour] = n
    return grid


# Worked out by hand from the rows above (see the module docstring).
EXPECTED_ALL = {
    "from": "2026-11-02",
    "to": "2026-11-03",
    "time_zone": "Asia/Jakarta",
    "agent_id": None,
    "sessions_started": 6,  # S1 S2 S4 S5 S3 S6
    "sessions_ended": 5,  # S0 S1 S2 S4 S3
    "sessions_active": 2,  # S5 S6
    "messages_in": 8,
    "messages_out": 6,  # notices left out
    "queue_wait_median_seconds": 30.0,  # 10 20 [30] 60 300
    "first_response_median_seconds": 90.4,  # 40 60 [90.4] 120 300 (S3 unanswered)
    "first_response_p90_seconds": 300.0,  # ceil(0.9*5) = 5th
    "resolution_median_seconds": 1800.0,  # 660 1800 [1800] 3600 3600
    "resolution_p90_seconds": 3600.0,
    "csat_average": 4.0,  # 4 5 3
    "csat_positive_share": 0.667,
    "csat_ratings": 3,
    "csat_surveys_sent": 4,  # S0 S1 S2 S3
    "csat_response_rate": 0.75,
    "heatmap": heatmap((0, 9, 1), (0, 10, 1), (0, 23, 1), (1, 8, 1), (1, 14, 1), (1, 16, 1)),
    "daily": [
        {
            "date": "2026-11-02",
            "sessions_started": 3,
            "messages_in": 4,
            "messages_out": 5,
            "first_response_median_seconds": 105.2,  # 60 90.4 120 300
            "resolution_median_seconds": 1800.0,  # 660 1800 3600
        },
        {
            "date": "2026-11-03",
            "sessions_started": 3,
            "messages_in": 4,  # S4's 00:10 message is Tuesday here, Monday in UTC
            "messages_out": 1,
            "first_response_median_seconds": 40.0,
            "resolution_median_seconds": 2700.0,  # 1800 3600
        },
    ],
}


def expected_per_agent(desk: Desk) -> list[dict]:
    return [
        {
            "agent_id": desk.cs1.pk,
            "name": "CS One",
            "sessions": 3,  # S1 S3 S5
            "first_response_median_seconds": 90.4,  # 40 90.4 120 (S2's first, cs1's)
            "resolution_median_seconds": 1800.0,  # 660 1800 3600
            "csat_average": 4.5,
        },
        {
            "agent_id": desk.cs2.pk,
            "name": "CS Two",
            "sessions": 2,  # S2 S4
            "first_response_median_seconds": 180.0,  # 60 300: the mean of the two
            "resolution_median_seconds": 2700.0,
            "csat_average": 3.0,
        },
    ]


def expected_for_cs1(desk: Desk) -> dict:
    return {
        **EXPECTED_ALL,
        "agent_id": desk.cs1.pk,
        "sessions_started": 3,
        "sessions_ended": 3,  # S0 S1 S3
        "sessions_active": 1,
        "messages_in": 4,  # S1 2, S3 1, S5 1
        "messages_out": 3,  # S0 S1 S5 (S2's reply by cs1 is in cs2's session)
        "queue_wait_median_seconds": 30.0,  # 20 30 300
        "first_response_median_seconds": 90.4,
        "first_response_p90_seconds": 120.0,  # ceil(2.7) = 3rd
        "resolution_median_seconds": 1800.0,
        "resolution_p90_seconds": 3600.0,
        "csat_average": 4.5,
        "csat_positive_share": 1.0,
        "csat_ratings": 2,
        "csat_surveys_sent": 3,  # S0 S1 S3
        "csat_response_rate": 0.667,
        "per_agent": expected_per_agent(desk)[:1],
        "heatmap": heatmap((0, 9, 1), (1, 8, 1), (1, 14, 1)),
        "daily": [
            {
                "date": "2026-11-02",
                "sessions_started": 1,
                "messages_in": 2,
                "messages_out": 2,
                "first_response_median_seconds": 105.2,  # 90.4 120
                "resolution_median_seconds": 1230.0,  # 660 1800
            },
            {
                "date": "2026-11-03",
                "sessions_started": 2,
                "messages_in": 2,
                "messages_out": 1,
                "first_response_median_seconds": 40.0,
                "resolution_median_seconds": 3600.0,
            },
        ],
    }


def expected_for_cs2(desk: Desk) -> dict:
    return {
        **EXPECTED_ALL,
        "agent_id": desk.cs2.pk,
        "sessions_started": 2,
        "sessions_ended": 2,
        "sessions_active": 0,
        "messages_in": 3,
        "messages_out": 3,  # S2's two replies (cs1's and cs2's) and S4's
        "queue_wait_median_seconds": 35.0,  # 10 60
        "first_response_median_seconds": 180.0,
        "first_response_p90_seconds": 300.0,
        "resolution_median_seconds": 2700.0,
        "resolution_p90_seconds": 3600.0,
        "csat_average": 3.0,
        "csat_positive_share": 0.0,
        "csat_ratings": 1,
        "csat_surveys_sent": 1,
        "csat_response_rate": 1.0,
        "per_agent": expected_per_agent(desk)[1:],
        "heatmap": heatmap((0, 10, 1), (0, 23, 1)),
        "daily": [
            {
                "date": "2026-11-02",
                "sessions_started": 2,
                "messages_in": 2,
                "messages_out": 3,
                "first_response_median_seconds": 180.0,  # 300 60
                "resolution_median_seconds": 3600.0,
            },
            {
                "date": "2026-11-03",
                "sessions_started": 0,
                "messages_in": 1,
                "messages_out": 0,
                "first_response_median_seconds": None,
                "resolution_median_seconds": 1800.0,
            },
        ],
    }


def build_more(desk: Desk, n: int) -> None:
    """`n` more ended, answered and rated sessions of cs1 on Monday 2026-11-02 (bulk)."""
    clients = Client.objects.bulk_create(
        Client(telegram_id=str(next(_numbers)), name=f"More {i}") for i in range(n)
    )
    started = local("2026-11-02 12:00:00")
    sessions = Session.objects.bulk_create(
        Session(
            client=client,
            cs=desk.cs1,
            status=Session.Status.ENDED,
            created_at=started,
            last_activity_at=started,
            first_assigned_at=local("2026-11-02 12:00:10"),
            ended_at=local("2026-11-02 12:30:00"),
            csat_asked_at=local("2026-11-02 12:30:00"),
        )
        for client in clients
    )
    Chat.objects.bulk_create(
        Chat(session=s, sender_type=sender, message="m", created_at=local(at))
        for s in sessions
        for sender, at in (
            (Chat.SenderType.CLIENT, "2026-11-02 12:00:00"),
            (Chat.SenderType.CS, "2026-11-02 12:01:00"),
        )
    )
    SessionAssignment.objects.bulk_create(
        SessionAssignment(
            session=s,
            agent=desk.cs1,
            assigned_at=local("2026-11-02 12:00:10"),
            first_reply_at=local("2026-11-02 12:01:00"),
        )
        for s in sessions
    )
    CsatRating.objects.bulk_create(
        CsatRating(session=s, agent=desk.cs1, rating=4, created_at=local("2026-11-02 12:31:00"))
        for s in sessions
    )
