"""The desk's writers meeting on the same rows: MariaDB, real threads, no deadlock.

The lock order is clients → agents → sessions (conversations/services/sessions.py).
An insert locks the rows its foreign keys name (shared), so a transaction that
inserts first and locks for update later takes its locks out of order; a locking
read through an index waits on every row it passes. Each test stops one writer at
the statement where that went wrong, lets the other run into it, then lets the
first go on: both must succeed (bench/contention.py runs all of them at once).
"""

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from accounts.models import User
from conversations.models import Chat, Client, Mention, Note, Session
from conversations.services import (
    agent_presence_set,
    chat_edit_incoming,
    chat_record_incoming,
    chat_record_incoming_many,
    chat_send,
    client_block,
    session_end,
)
from conversations.services.activity import session_unread_recount
from conversations.services.notes import note_add
from conversations.tests.console_helpers import go_online, make_session
from conversations.tests.services.test_concurrency import text

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]

LOCKING_USERS = "FROM `users` WHERE (`users`.`id` IN"  # the allocation locking the agents


def a_statement_is_blocked() -> bool:
    """Another connection to this database has been inside one statement for 0.3 s:
    with the first writer paused in Python, that is the second, waiting for a lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query'"
            " AND ID <> CONNECTION_ID() AND DB = DATABASE() AND TIME_MS > 300"
        )
        return cursor.fetchone()[0] > 0


def in_own_connection(call: Callable[[], object]) -> object:
    """What `call` returned or raised, run on a connection of its own that gives up a
    lock wait after 5 s (MariaDB's 50 would only slow a failing test)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION innodb_lock_wait_timeout = 5")
        return call()
    except Exception as error:  # judged by the caller: a deadlock is one
        return error
    finally:
        connections.close_all()


def race(first: Callable[[], object], second: Callable[[], object], *, pause_at: str):
    """Run `first` up to its first statement containing `pause_at`; run `second` until it
    finishes or waits for a lock; then let `first` go on. Both outcomes, in order."""
    paused, go_on = threading.Event(), threading.Event()

    def pause(execute, sql, params, many, context):
        if pause_at in sql and not paused.is_set():
            paused.set()
            go_on.wait(10)
        return execute(sql, params, many, context)

    def first_paused() -> object:
        with connection.execute_wrapper(pause):
            return first()

    with ThreadPoolExecutor(max_workers=2) as pool:
        first_outcome = pool.submit(in_own_connection, first_paused)
        assert paused.wait(10), f"the first writer never ran {pause_at!r}"
        second_outcome = pool.submit(in_own_connection, second)
        deadline = time.monotonic() + 10
        while not second_outcome.done() and not a_statement_is_blocked():
            assert time.monotonic() < deadline, "the second writer neither ended nor waited"
            time.sleep(0.02)
        go_on.set()
        outcomes = [first_outcome.result(), second_outcome.result()]
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    return outcomes


@contextmanager
def row_locked(model, pk: str, **changes) -> Iterator[None]:
    """Another transaction holds `pk`'s row, locked for update or updated with `changes`
    (as a chat's insert updates its session), until the block ends."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction.atomic():
            if changes:
                model.objects.filter(pk=pk).update(**changes)
            else:
                list(model.objects.select_for_update().filter(pk=pk).values_list("pk"))
            locked.set()
            release.wait(10)

    with ThreadPoolExecutor(max_workers=1) as pool:
        holding = pool.submit(in_own_connection, hold)
        assert locked.wait(10)
        try:
            yield
        finally:
            release.set()
            assert holding.result() is None


@contextmanager
def lock_waits_of(seconds: int) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION innodb_lock_wait_timeout = %s", [seconds])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION innodb_lock_wait_timeout = DEFAULT")


def agents_in_key_order(make_user, count: int) -> list[User]:
    made = [make_user(f"cs{n}@helpdesk.com") for n in range(1, count + 1)]
    return sorted(made, key=lambda agent: agent.pk)


def reply(session: Session) -> object:
    return chat_send(session=session, agent=session.cs, text="On it")


def unread_recount(session: Session) -> None:
    """What a mark-read runs after marking the chats read."""
    session_unread_recount(session_ids=[session.pk])


@pytest.mark.parametrize("writer", [reply, unread_recount])
def test_a_session_writer_queued_behind_an_incoming_message_waits_its_turn(make_user, writer):
    session = make_session(cs=make_user("cs1@helpdesk.com"))

    race(
        lambda: chat_record_incoming(incoming=text(session.client.telegram_id, 1)),
        lambda: writer(session),
        pause_at="UPDATE `sessions`",  # the chat is in: its session's keys move next
    )

    message = Chat.objects.get(session=session, sender_type=Chat.SenderType.CLIENT)
    session.refresh_from_db()
    assert session.unread_since == message.created_at
    assert session.last_activity_at >= message.created_at


def test_an_allocation_does_not_wait_for_an_admins_row(make_user):
    agent = make_user("cs1@helpdesk.com")
    admin = make_user("admin@helpdesk.com", role=User.Role.ADMIN)

    with row_locked(User, admin.pk), lock_waits_of(2):
        agent_presence_set(agent=agent, online=True)

    agent.refresh_from_db()
    assert agent.status_online


def test_the_queue_drains_past_a_session_another_writer_holds(make_user, settings):
    settings.MAX_ACTIVE_SESSIONS_PER_CS = 0
    busy, idle = agents_in_key_order(make_user, 2)
    go_online(busy)
    for _ in range(30):
        make_session(cs=busy, status=Session.Status.ENDED)
    answered = make_session(cs=busy)
    waiting = make_session(cs=None)

    with row_locked(Session, answered.pk, last_activity_at=timezone.now()), lock_waits_of(2):
        agent_presence_set(agent=idle, online=True)

    waiting.refresh_from_db()
    assert waiting.cs == idle


def test_a_session_ending_while_its_client_writes_ends_after_the_message(make_user):
    agent = make_user("cs1@helpdesk.com")
    go_online(agent)
    session = make_session(cs=agent)
    writer, newcomer = text(session.client.telegram_id, 1), text("777", 1)

    race(
        # The client row is locked; opening the newcomer's session allocates next.
        lambda: chat_record_incoming_many(incomings=[writer, newcomer]),
        lambda: session_end(session=session),
        pause_at=LOCKING_USERS,
    )

    session.refresh_from_db()
    assert session.status == Session.Status.ENDED
    assert Chat.objects.filter(session=session, sender_type=Chat.SenderType.CLIENT).count() == 1
    opened = Session.objects.get(client__telegram_id="777")
    assert opened.cs == agent


def test_an_agent_blocking_a_client_while_another_comes_online(make_user):
    other, blocker = agents_in_key_order(make_user, 2)  # the allocation reaches `other` first
    go_online(blocker)
    session = make_session(cs=blocker)

    race(
        lambda: client_block(client=session.client, by=blocker, reason="spam"),
        lambda: agent_presence_set(agent=other, online=True),
        pause_at=LOCKING_USERS,  # ending the blocked client's session
    )

    session.refresh_from_db()
    assert session.status == Session.Status.ENDED
    other.refresh_from_db()
    assert other.status_online


def test_a_note_mentioning_an_agent_while_its_session_ends(make_user):
    mentioned, author = agents_in_key_order(
        make_user, 2
    )  # the allocation reaches `mentioned` first
    session = make_session(cs=author)

    race(
        lambda: note_add(session=session, author=author, text=f"@{mentioned.name} please look"),
        lambda: session_end(session=session),
        pause_at="INSERT INTO `mentions`",
    )

    note = Note.objects.get(session=session)
    assert list(Mention.objects.filter(note=note).values_list("agent", flat=True)) == [mentioned.pk]
    session.refresh_from_db()
    assert session.status == Session.Status.ENDED


def test_an_edit_waits_for_no_row_but_the_edited_message(make_user):
    session = make_session(cs=make_user("cs1@helpdesk.com"))
    chat_record_incoming(incoming=text(session.client.telegram_id, 1))

    # As while the client's next message is stored: its client and session are held.
    client, telegram_id = session.client_id, session.client.telegram_id
    with row_locked(Client, client), row_locked(Session, session.pk), lock_waits_of(2):
        edited = chat_edit_incoming(telegram_id=telegram_id, telegram_message_id=1, text="Edited")

    assert edited.message == "Edited"
    assert Chat.objects.get(pk=edited.pk).message == "Edited"
