"""sessions.last_activity_at: the stored key the console's lists order by must follow
every message that is written, however it is written."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations.models import Chat, Session
from conversations.services import (
    IncomingMessage,
    chat_mark_read,
    chat_record_incoming,
    chat_send,
)
from conversations.services.activity import chats_insert
from conversations.tests.console_helpers import add_chat, go_online, make_session

pytestmark = pytest.mark.django_db


def stored_activity(session: Session):
    return Session.objects.values_list("last_activity_at", flat=True).get(pk=session.pk)


def incoming(message_id: int, **extra) -> IncomingMessage:
    return IncomingMessage(
        telegram_id="555",
        name="Budi",
        username="budi",
        telegram_message_id=message_id,
        message_type=Chat.MessageType.TEXT,
        text="hello",
        **extra,
    )


class TestLastActivity:
    def test_a_new_session_is_dated_by_its_first_message(self, cs_user):
        go_online(cs_user)
        recorded = chat_record_incoming(incoming=incoming(1))

        assert stored_activity(recorded.session) >= recorded.chat.created_at
        assert stored_activity(recorded.session) >= recorded.session.created_at

    def test_a_client_message_moves_it_forward(self, cs_user):
        go_online(cs_user)
        first = chat_record_incoming(incoming=incoming(1, sent_at=timezone.now()))
        later = timezone.now() + timedelta(minutes=5)

        second = chat_record_incoming(incoming=incoming(2, sent_at=later))

        assert second.session == first.session
        assert stored_activity(first.session) == later

    def test_a_late_redelivered_older_message_does_not_move_it_back(self, cs_user):
        go_online(cs_user)
        now = timezone.now()
        session = chat_record_incoming(incoming=incoming(2, sent_at=now)).session
        before = stored_activity(session)

        late = chat_record_incoming(incoming=incoming(1, sent_at=now - timedelta(hours=1)))

        assert late.created and late.session == session
        assert stored_activity(session) == before >= now

    def test_an_agent_reply_moves_it_forward(self, cs_user):
        session = make_session(cs=cs_user)
        before = stored_activity(session)

        reply = chat_send(session=session, agent=cs_user, text="On it", upload=None)

        assert stored_activity(session) == reply.created_at > before

    def test_one_insert_dates_each_session_by_its_own_newest_chat(
        self, cs_user, django_assert_num_queries
    ):
        first, second = make_session(cs=cs_user), make_session(cs=cs_user)
        now = timezone.now()
        chats = [
            Chat(session=first, sender_type="CLIENT", message="a", created_at=now),
            Chat(session=first, sender_type="CLIENT", message="b", created_at=now - timedelta(1)),
            Chat(session=second, sender_type="CLIENT", message="c", created_at=now),
            Chat(session=second, sender_type="CS", message="d", created_at=now + timedelta(1)),
        ]

        with django_assert_num_queries(3):  # the sessions locked, the INSERT, one UPDATE
            chats_insert(chats=chats)

        assert stored_activity(first) == now
        assert stored_activity(second) == now + timedelta(1)
        # The callers' session objects see it too (their pushes render from them).
        assert first.last_activity_at == now

    def test_the_update_grows_only_by_the_session_ids(self, cs_user):
        """A per-session value in the statement made the bot compile ever larger SQL:
        ingest fell from 1,700 to 40 updates/s with batches of 200 sessions."""

        def update_sql(sessions: int) -> str:
            chats = [
                Chat(session=make_session(cs=cs_user), sender_type="CLIENT", message="hi")
                for _ in range(sessions)
            ]
            with CaptureQueriesContext(connection) as queries:
                chats_insert(chats=chats)
            return next(q["sql"] for q in queries if q["sql"].startswith("UPDATE"))

        few, many = update_sql(2), update_sql(200)

        per_id = len("'cmww0nypipx8m357d67qm2s10', ")
        assert len(many) - len(few) <= 198 * per_id


class TestUnreadSince:
    def test_the_oldest_unread_client_message_dates_it(self, cs_user):
        session = make_session(cs=cs_user)
        oldest = add_chat(session, minutes_ago=30)
        add_chat(session, minutes_ago=10)
        add_chat(session, "reply", sender=Chat.SenderType.CS, minutes_ago=5)

        assert stored_unread_since(session) == oldest.created_at

    def test_reading_clears_it_and_a_new_message_sets_it_again(self, cs_user):
        session = make_session(cs=cs_user)
        add_chat(session, minutes_ago=30)

        chat_mark_read(session=session)
        assert stored_unread_since(session) is None

        newer = add_chat(session, minutes_ago=1)
        assert stored_unread_since(session) == newer.created_at

    def test_agents_messages_never_set_it(self, cs_user):
        session = make_session(cs=cs_user)

        chat_send(session=session, agent=cs_user, text="Hello", upload=None)

        assert stored_unread_since(session) is None


def stored_unread_since(session: Session):
    return Session.objects.values_list("unread_since", flat=True).get(pk=session.pk)


def test_the_migration_backfills_both_keys_from_the_chats(cs_user):
    migration = importlib.import_module("conversations.migrations.0007_sessions_activity_keys")
    with_chats, without_chats = make_session(cs=cs_user), make_session(cs=cs_user)
    add_chat(with_chats, minutes_ago=50, is_read=True)
    oldest_unread = add_chat(with_chats, minutes_ago=30)
    newest = add_chat(with_chats, "reply", sender=Chat.SenderType.CS, minutes_ago=5)
    Session.objects.update(
        last_activity_at=timezone.now() + timedelta(days=9), unread_since=timezone.now()
    )

    migration.backfill_activity_keys(apps, schema_editor=None)

    assert stored_activity(with_chats) == newest.created_at
    assert stored_unread_since(with_chats) == oldest_unread.created_at
    assert stored_activity(without_chats) == without_chats.created_at
    assert stored_unread_since(without_chats) is None
