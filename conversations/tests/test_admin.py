"""The admin's client, session and chat pages, as an ADMIN would use them."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models.fields.files import FieldFile
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from conversations.models import Chat, Client, Note, Session
from conversations.tests.console_helpers import add_chat, make_session

pytestmark = pytest.mark.django_db

# Fixed ceiling for any changelist page, whatever its size.
MAX_CHANGELIST_QUERIES = 10


def add_conversations(count: int, *, start: int = 0) -> list[Session]:
    """One client, agent, session and chat per row, spread over years of dates.

    Distinct related rows make a per-row lookup cost N queries, so it cannot hide.
    """
    now = timezone.now()
    rows = range(start, start + count)
    agents = User.objects.bulk_create(
        User(email=f"agent{i}@example.com", name=f"Agent {i:02d}", password="!") for i in rows
    )
    clients = Client.objects.bulk_create(
        Client(telegram_id=str(1000 + i), name=f"Client {i:02d}", username=f"client{i}")
        for i in rows
    )
    sessions = Session.objects.bulk_create(
        Session(
            client=client,
            cs=agent,
            status=Session.Status.ENDED if i % 2 else Session.Status.ACTIVE,
            created_at=now - timedelta(days=40 * i),
        )
        for i, client, agent in zip(rows, clients, agents, strict=True)
    )
    Chat.objects.bulk_create(
        Chat(session=session, sender_type=Chat.SenderType.CLIENT, message=f"Message {i}")
        for i, session in zip(rows, sessions, strict=True)
    )
    return sessions


def changelist_queries(client, url: str, *, rows: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == rows
    return len(queries)


def results(response) -> list:
    return list(response.context["cl"].result_list)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


class TestChangelistQueries:
    @pytest.mark.parametrize("model", ["client", "session", "chat"])
    def test_it_lists_rows_in_constant_queries(
        self, admin_client, django_assert_max_num_queries, model
    ):
        url = reverse(f"admin:conversations_{model}_changelist")
        add_conversations(2)
        small = changelist_queries(admin_client, url, rows=2)
        add_conversations(28, start=2)
        large = changelist_queries(admin_client, url, rows=30)
        assert large == small
        with django_assert_max_num_queries(MAX_CHANGELIST_QUERIES):
            admin_client.get(url)


class TestClients:
    def test_it_searches_clients_by_telegram_id(self, admin_client):
        add_conversations(3)
        response = admin_client.get(reverse("admin:conversations_client_changelist"), {"q": "1001"})
        assert [c.name for c in results(response)] == ["Client 01"]


class TestSessions:
    def test_it_filters_sessions_by_status(self, admin_client):
        add_conversations(4)
        response = admin_client.get(
            reverse("admin:conversations_session_changelist"), {"status__exact": "ENDED"}
        )
        assert {s.client.name for s in results(response)} == {"Client 01", "Client 03"}

    def test_it_filters_sessions_by_agent_offering_only_agents_with_sessions(
        self, admin_client, cs_user
    ):
        first, second = add_conversations(2)
        response = admin_client.get(
            reverse("admin:conversations_session_changelist"), {"cs__id__exact": second.cs_id}
        )
        assert results(response) == [second]
        (agent_filter,) = (
            spec for spec in response.context["cl"].filter_specs if spec.field_path == "cs"
        )
        offered = {pk for pk, _label in agent_filter.lookup_choices}
        assert offered == {first.cs_id, second.cs_id}  # not cs_user, who has no session

    def test_it_searches_sessions_by_client_username(self, admin_client):
        add_conversations(3)
        response = admin_client.get(
            reverse("admin:conversations_session_changelist"), {"q": "client2"}
        )
        assert [s.client.username for s in results(response)] == ["client2"]

    def test_it_shows_the_chats_of_a_session_oldest_first(self, admin_client):
        (session,) = add_conversations(1)
        Chat.objects.create(
            session=session,
            sender_type=Chat.SenderType.CS,
            message="Your refund is on its way",
            created_at=timezone.now() + timedelta(minutes=5),
        )
        response = admin_client.get(
            reverse("admin:conversations_session_change", args=[session.pk])
        )
        assert response.status_code == 200
        content = response.content.decode()
        assert content.index("Message 0") < content.index("Your refund is on its way")

    def test_it_shows_the_agents_notes_of_a_session_read_only(self, admin_client, cs_user):
        (session,) = add_conversations(1)
        Note.objects.create(session=session, author=cs_user, text="Called the courier: Friday")
        url = reverse("admin:conversations_session_change", args=[session.pk])

        response = admin_client.get(url)

        content = response.content.decode()
        assert "Called the courier: Friday" in content
        assert 'name="notes-TOTAL_FORMS"' in content
        assert 'name="notes-0-text"' not in content  # shown, never an editable field


class TestChats:
    def test_it_searches_chats_by_text(self, admin_client):
        (session,) = add_conversations(1)
        refund = Chat.objects.create(
            session=session, sender_type=Chat.SenderType.CLIENT, message="Where is my refund"
        )
        response = admin_client.get(reverse("admin:conversations_chat_changelist"), {"q": "refund"})
        assert results(response) == [refund]

    def test_it_shows_each_chat_with_its_client(self, admin_client):
        add_conversations(2)
        response = admin_client.get(reverse("admin:conversations_chat_changelist"))
        content = response.content.decode()
        for text in ("Message 0", "Client 00", "Message 1", "Client 01"):
            assert text in content


def post_data(form) -> dict:
    """What the browser would send back for an unchanged admin form."""
    data = {}
    for field in form:
        value, widget = field.value(), field.field.widget
        if hasattr(widget, "decompress"):  # the admin's split date and time inputs
            parts = widget.decompress(value)
            data |= {f"{field.html_name}_{i}": part or "" for i, part in enumerate(parts)}
        elif value is not None and value is not False and not isinstance(value, FieldFile):
            data[field.html_name] = "on" if value is True else value
    return data


class TestChatEditsKeepTheConsoleOrder:
    """The admin writes chats directly; the lists' stored keys must follow."""

    def test_marking_a_chat_read_takes_the_session_out_of_the_waiting_order(
        self, admin_client, cs_user
    ):
        session = make_session(cs=cs_user)
        chat = add_chat(session, "help", minutes_ago=3)
        url = reverse("admin:conversations_chat_change", args=[chat.pk])
        form = admin_client.get(url).context["adminform"].form

        response = admin_client.post(url, {**post_data(form), "is_read": "on"})

        assert response.status_code == 302
        session.refresh_from_db()
        assert session.unread_since is None

    def test_deleting_the_newest_chat_dates_the_session_by_the_one_before(
        self, admin_client, cs_user
    ):
        session = make_session(cs=cs_user)
        earlier = add_chat(session, "first", minutes_ago=30)
        newest = add_chat(session, "second", minutes_ago=1)

        response = admin_client.post(
            reverse("admin:conversations_chat_delete", args=[newest.pk]), {"post": "yes"}
        )

        assert response.status_code == 302
        session.refresh_from_db()
        assert session.last_activity_at == earlier.created_at
        assert session.unread_since == earlier.created_at
