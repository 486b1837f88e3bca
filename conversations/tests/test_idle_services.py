"""Idle sessions: who is warned, who is closed, what a button press may change."""

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from accounts.models import User
from conversations.bot_texts import DEFAULT_TEXTS
from conversations.models import Chat, Client, Session
from conversations.services import (
    deliveries_claim,
    idle_answer,
    idle_sessions_check,
    idle_sessions_close,
    idle_sessions_warn,
)

WARN, CLOSE = 3600, 7200
_numbers = itertools.count(81000)


@pytest.fixture(autouse=True)
def idle_settings(settings):
    settings.IDLE_WARN_AFTER = WARN
    settings.IDLE_CLOSE_AFTER = CLOSE


@pytest.fixture
def agent(make_user):
    return make_user("idle-cs@helpdesk.com", name="Idle Agent")


def make_session(agent: User | None, *, language: str = "en") -> Session:
    n = next(_numbers)
    client = Client.objects.create(telegram_id=str(n), name=f"Client {n}", language_code=language)
    opened = timezone.now() - timedelta(days=10)
    return Session.objects.create(client=client, cs=agent, created_at=opened)


def write(session: Session, sender: str, at: datetime, *, notice: bool = False) -> Chat:
    return Chat.objects.create(
        session=session,
        sender_type=sender,
        message=f"{sender} at {at:%H:%M:%S}",
        created_at=at,
        is_notice=notice,
        **({"delivery_status": Chat.DeliveryStatus.SENT} if sender == "CS" else {}),
    )


def warnings(session: Session) -> list[Chat]:
    return list(
        Chat.objects.filter(session=session, is_notice=True, message__in=_texts("idle_warning"))
    )


def ended_notices(session: Session) -> int:
    return Chat.objects.filter(session=session, is_notice=True, message__in=_texts("ended")).count()


def _texts(key: str) -> list[str]:
    return [DEFAULT_TEXTS[language][key] for language in DEFAULT_TEXTS]


def fresh(session: Session) -> Session:
    return Session.objects.get(pk=session.pk)


def data(session: Session, answer: str, nonce: str | None = None) -> str:
    return f"idle:{session.pk}:{nonce or fresh(session).idle_warning_nonce}:{answer}"


T0 = timezone.now() - timedelta(days=5)


def warned_session(agent: User, *, language: str = "en") -> Session:
    session = make_session(agent, language=language)
    write(session, "CLIENT", T0 - timedelta(minutes=5))
    write(session, "CS", T0)
    assert idle_sessions_warn(now=T0 + timedelta(seconds=WARN + 1)) == 1
    return fresh(session)


@pytest.mark.django_db
class TestWarning:
    def test_a_client_silent_after_the_agent_is_asked_once_in_its_language(self, agent):
        english, indonesian = make_session(agent), make_session(agent, language="id")
        for session in (english, indonesian):
            write(session, "CLIENT", T0 - timedelta(minutes=1))
            write(session, "CS", T0)

        assert idle_sessions_warn(now=T0 + timedelta(seconds=WARN - 1)) == 0
        assert idle_sessions_warn(now=T0 + timedelta(seconds=WARN + 1)) == 2
        assert idle_sessions_warn(now=T0 + timedelta(seconds=WARN + 600)) == 0

        (warning,) = warnings(english)
        assert warning.message == "Do you still need help?"
        assert warning.delivery_status == Chat.DeliveryStatus.PENDING
        assert warnings(indonesian)[0].message == "Apakah Anda masih memerlukan bantuan?"
        english, indonesian = fresh(english), fresh(indonesian)
        assert english.idle_warned_at == warning.created_at
        assert english.idle_warning_nonce
        assert english.idle_warning_nonce != indonesian.idle_warning_nonce
        assert english.status == Session.Status.ACTIVE

    def test_a_session_waiting_for_the_agent_is_never_warned_or_closed(self, agent):
        client_last = make_session(agent)
        write(client_last, "CS", T0 - timedelta(minutes=1))
        write(client_last, "CLIENT", T0)
        unanswered = make_session(agent)
        write(unanswered, "CLIENT", T0)
        write(unanswered, "CS", T0 + timedelta(seconds=1), notice=True)  # "connected"
        queued = make_session(None)
        write(queued, "CLIENT", T0)
        silent = make_session(agent)  # nobody wrote at all

        much_later = T0 + timedelta(days=30)
        assert idle_sessions_check(now=much_later) == (0, 0)
        for session in (client_last, unanswered, queued, silent):
            assert not warnings(session)
            assert fresh(session).idle_warned_at is None
            assert fresh(session).status == Session.Status.ACTIVE

    def test_ended_sessions_are_not_warned(self, agent):
        session = make_session(agent)
        write(session, "CS", T0)
        Session.objects.filter(pk=session.pk).update(
            status=Session.Status.ENDED, ended_at=timezone.now()
        )
        assert idle_sessions_warn(now=T0 + timedelta(days=3)) == 0

    def test_the_warning_is_claimed_with_yes_and_no_buttons_in_the_client_language(self, agent):
        session = warned_session(agent, language="id-ID")
        Chat.objects.filter(session=session).exclude(pk=warnings(session)[0].pk).update(
            delivery_status=Chat.DeliveryStatus.SENT
        )
        (delivery,) = deliveries_claim(limit=10)
        assert delivery.text == "Apakah Anda masih memerlukan bantuan?"
        nonce = session.idle_warning_nonce
        assert delivery.buttons == (
            ("Ya", f"idle:{session.pk}:{nonce}:yes"),
            ("Tidak", f"idle:{session.pk}:{nonce}:no"),
        )
        assert all(len(payload.encode()) <= 64 for _, payload in delivery.buttons)

    def test_other_notices_and_an_outdated_warning_carry_no_buttons(self, agent):
        session = warned_session(agent)
        Session.objects.filter(pk=session.pk).update(idle_warned_at=None, idle_warning_nonce="")
        other = make_session(agent)
        notice = write(other, "CS", T0, notice=True)
        Chat.objects.filter(pk=notice.pk).update(
            delivery_status=Chat.DeliveryStatus.PENDING, next_attempt_at=timezone.now()
        )
        deliveries = deliveries_claim(limit=10)
        assert len(deliveries) == 2
        assert all(delivery.buttons == () for delivery in deliveries)


@pytest.mark.django_db
class TestClosing:
    def test_an_unanswered_warning_ends_the_session_once_with_the_ended_notice(self, agent):
        session = warned_session(agent)
        warned_at = session.idle_warned_at

        assert idle_sessions_close(now=warned_at + timedelta(seconds=CLOSE - 1)) == 0
        assert fresh(session).status == Session.Status.ACTIVE
        assert idle_sessions_close(now=warned_at + timedelta(seconds=CLOSE + 1)) == 1
        assert idle_sessions_close(now=warned_at + timedelta(seconds=CLOSE + 600)) == 0

        session = fresh(session)
        assert session.status == Session.Status.ENDED
        assert ended_notices(session) == 1

    def test_a_client_who_wrote_after_the_warning_is_not_closed_and_may_be_asked_again(self, agent):
        session = warned_session(agent)
        warned_at = session.idle_warned_at
        write(session, "CLIENT", warned_at + timedelta(minutes=1))

        later = warned_at + timedelta(seconds=CLOSE + 1)
        assert idle_sessions_check(now=later) == (0, 0)
        session = fresh(session)
        assert session.status == Session.Status.ACTIVE
        assert (session.idle_warned_at, session.idle_warning_nonce) == (None, "")
        assert ended_notices(session) == 0

        # The agent answers; a new silence brings a new question, with a new nonce.
        write(session, "CS", later)
        assert idle_sessions_check(now=later + timedelta(seconds=WARN + 1)) == (0, 1)
        assert len(warnings(session)) == 2

    def test_closing_rechecks_that_the_client_is_still_silent(self, agent):
        # The periodic clearing has not run yet: closing alone must not end it.
        session = warned_session(agent)
        write(session, "CLIENT", session.idle_warned_at + timedelta(minutes=1))
        assert idle_sessions_close(now=session.idle_warned_at + timedelta(days=10)) == 0
        assert fresh(session).status == Session.Status.ACTIVE


@pytest.mark.django_db
class TestAnswers:
    def test_yes_keeps_the_session_clears_the_warning_and_shows_the_agent(self, agent):
        session = warned_session(agent)
        client = session.client

        result = idle_answer(
            data=data(session, "yes"), telegram_id=client.telegram_id, message_id=42, quote="Q?"
        )

        assert result.accepted
        session = fresh(session)
        assert session.status == Session.Status.ACTIVE
        assert (session.idle_warned_at, session.idle_warning_nonce) == (None, "")
        answer = Chat.objects.filter(session=session, sender_type="CLIENT").latest("created_at")
        assert (answer.message, answer.is_read, answer.reply_quote) == ("Yes", False, "Q?")
        assert session.unread_since is not None  # the agent's unread badge
        # Waiting for the agent now: never closed, never asked again until the agent writes.
        assert idle_sessions_check(now=timezone.now() + timedelta(days=30)) == (0, 0)

    def test_no_ends_the_session_with_the_ended_notice(self, agent):
        session = warned_session(agent, language="id")

        result = idle_answer(data=data(session, "no"), telegram_id=session.client.telegram_id)

        assert result.accepted
        session = fresh(session)
        assert session.status == Session.Status.ENDED
        assert ended_notices(session) == 1
        answer = Chat.objects.get(session=session, sender_type="CLIENT", message="Tidak")
        assert answer.created_at <= session.ended_at

    def test_forged_or_outdated_presses_change_nothing(self, agent, make_user):
        session = warned_session(agent)
        owner = session.client.telegram_id
        stranger = warned_session(agent)  # another client, with a warning of its own
        ended = warned_session(agent)
        ended_nonce = ended.idle_warning_nonce
        Session.objects.filter(pk=ended.pk).update(
            status=Session.Status.ENDED, ended_at=timezone.now()
        )
        before = Chat.objects.count()

        forged = [
            (data(session, "no"), stranger.client.telegram_id),  # another user's button
            (data(session, "no", nonce="x" * 16), owner),  # wrong nonce
            (data(ended, "no", nonce=ended_nonce), ended.client.telegram_id),  # ended
            ("idle:garbage", owner),
            ("", owner),
            (f"idle:{session.pk}::no", owner),
            (data(session, "maybe"), owner),
            (data(session, "no") + ":extra", owner),
            ("end:1", owner),
            (data(session, "no"), "999999999"),  # a user the desk never saw
        ]
        for payload, presser in forged:
            assert not idle_answer(data=payload, telegram_id=presser).accepted, payload

        assert Chat.objects.count() == before
        assert fresh(session).status == Session.Status.ACTIVE
        assert fresh(session).idle_warning_nonce == session.idle_warning_nonce
        assert fresh(stranger).idle_warning_nonce == stranger.idle_warning_nonce

    def test_an_old_warnings_button_does_nothing_after_a_new_warning(self, agent):
        session = warned_session(agent)
        old = data(session, "no")
        write(session, "CLIENT", session.idle_warned_at + timedelta(minutes=1))
        write(session, "CS", session.idle_warned_at + timedelta(minutes=2))
        idle_sessions_check(now=session.idle_warned_at + timedelta(minutes=2, seconds=WARN + 1))
        assert len(warnings(session)) == 2

        assert not idle_answer(data=old, telegram_id=session.client.telegram_id).accepted
        assert fresh(session).status == Session.Status.ACTIVE
        assert idle_answer(
            data=data(session, "no"), telegram_id=session.client.telegram_id
        ).accepted

    def test_a_second_press_of_the_same_button_is_expired(self, agent):
        session = warned_session(agent)
        payload = data(session, "yes")
        assert idle_answer(data=payload, telegram_id=session.client.telegram_id).accepted
        assert not idle_answer(data=payload, telegram_id=session.client.telegram_id).accepted
        assert Chat.objects.filter(session=session, message="Yes").count() == 1


def all_at_once(*calls):
    """Run `calls` together, each in its own thread and database connection."""
    start = threading.Barrier(len(calls), timeout=10)

    def run(call):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET SESSION innodb_lock_wait_timeout = 5")
            start.wait()
            return call()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [future.result() for future in [pool.submit(run, call) for call in calls]]


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
class TestSeveralWorkers:
    def test_each_session_is_warned_once_by_concurrent_checks(self, agent):
        sessions = [make_session(agent) for _ in range(10)]
        for session in sessions:
            write(session, "CS", T0)
        at = T0 + timedelta(seconds=WARN + 1)

        counts = all_at_once(*[lambda: idle_sessions_warn(now=at)] * 4)

        assert sum(counts) == 10
        assert all(len(warnings(session)) == 1 for session in sessions)

    def test_each_session_is_closed_once_by_concurrent_checks(self, agent):
        sessions = [warned_session(agent) for _ in range(10)]
        at = T0 + timedelta(seconds=WARN + CLOSE + 10)

        counts = all_at_once(*[lambda: idle_sessions_close(now=at)] * 4)

        assert sum(counts) == 10
        for session in sessions:
            assert fresh(session).status == Session.Status.ENDED
            assert ended_notices(session) == 1

    def test_a_press_racing_the_close_ends_the_session_once(self, agent):
        session = warned_session(agent)
        at = T0 + timedelta(seconds=WARN + CLOSE + 10)
        payload = data(session, "no")

        outcomes = all_at_once(
            lambda: idle_sessions_close(now=at),
            lambda: idle_answer(data=payload, telegram_id=session.client.telegram_id).accepted,
        )

        assert sorted(int(x) for x in outcomes) == [0, 1]
        assert fresh(session).status == Session.Status.ENDED
        assert ended_notices(session) == 1
