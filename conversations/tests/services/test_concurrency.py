"""Races the database must settle: run on MariaDB with real threads and connections."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from accounts.models import User
from conversations.models import Chat, Session
from conversations.services import IncomingMessage, agent_presence_set, chat_record_incoming

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]


def record_all_at_once(messages: list[IncomingMessage]) -> None:
    start = threading.Barrier(len(messages))

    def record(message: IncomingMessage) -> None:
        try:
            start.wait()
            chat_record_incoming(incoming=message)
        finally:
            connection.close()  # each thread has its own connection

    with ThreadPoolExecutor(max_workers=len(messages)) as pool:
        for future in [pool.submit(record, m) for m in messages]:
            future.result()


def text(telegram_id: str, message_id: int) -> IncomingMessage:
    return IncomingMessage(
        telegram_id=telegram_id,
        name=f"Client {telegram_id}",
        username=None,
        telegram_message_id=message_id,
        message_type=Chat.MessageType.TEXT,
        text=f"message {message_id}",
    )


def test_60_new_clients_at_once_are_spread_20_20_20(make_user):
    agents = [make_user(f"cs{n}@helpdesk.com") for n in (1, 2, 3)]
    User.objects.filter(pk__in=[a.pk for a in agents]).update(status_online=True)

    record_all_at_once([text(f"{1000 + n}", 1) for n in range(60)])

    loads = Counter(Session.objects.filter(status="ACTIVE").values_list("cs", flat=True))
    assert sorted(loads.values()) == [20, 20, 20]
    assert set(loads) == {a.id for a in agents}


def test_one_clients_simultaneous_messages_share_one_active_session(make_user):
    agent = make_user("cs1@helpdesk.com")
    User.objects.filter(pk=agent.pk).update(status_online=True)

    record_all_at_once([text("777", message_id) for message_id in range(1, 13)])

    session = Session.objects.get()
    assert session.status == Session.Status.ACTIVE
    assert session.chats.filter(is_notice=False).count() == 12
    # One session opened, so one "an agent is looking" notice, however many raced.
    assert session.chats.filter(is_notice=True).count() == 1


def test_the_same_message_delivered_twice_at_once_is_stored_once(make_user):
    record_all_at_once([text("888", 5) for _ in range(8)])

    assert Chat.objects.filter(telegram_message_id=5).count() == 1


def test_agents_coming_online_together_share_the_queue_without_overlap(make_user, settings):
    settings.MAX_ACTIVE_SESSIONS_PER_CS = 5
    record_all_at_once([text(f"{2000 + n}", 1) for n in range(12)])  # nobody online: all wait
    agents = [make_user(f"cs{n}@helpdesk.com") for n in (1, 2)]
    start = threading.Barrier(2)

    def come_online(agent):
        try:
            start.wait()
            agent_presence_set(agent=agent, online=True)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(come_online, a) for a in agents]:
            future.result()

    loads = Counter(Session.objects.exclude(cs=None).values_list("cs", flat=True))
    assert sorted(loads.values()) == [5, 5]
    waiting = Session.objects.filter(cs=None).order_by("created_at", "id")
    assert waiting.count() == 2
    oldest_assigned = Session.objects.exclude(cs=None).order_by("created_at", "id").last()
    assert oldest_assigned.created_at <= waiting.first().created_at
