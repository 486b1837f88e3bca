"""A client who waited, or whose session moved, is told who answers now.

The notice is an outgoing chat like an agent's reply: the delivery worker sends it
in order with the agent's messages, and the console shows what the client was told.
"""

import dataclasses

import pytest

from accounts.models import User
from conversations.models import Chat, Session
from conversations.services import (
    agent_presence_set,
    chat_record_incoming,
    session_assign,
    session_transfer,
)
from conversations.tests.services.test_allocation import message_from

pytestmark = pytest.mark.django_db


def notices_to(session: Session) -> list[str]:
    return list(
        Chat.objects.filter(
            session=session, sender_type=Chat.SenderType.CS, delivery_status="PENDING"
        ).values_list("message", flat=True)
    )


def waiting_session(telegram_id: str, language_code: str = "") -> Session:
    incoming = dataclasses.replace(message_from(telegram_id), language_code=language_code)
    session = chat_record_incoming(incoming=incoming).session
    assert session.cs_id is None
    return session


@pytest.fixture
def agents(make_user):
    return make_user("cs1@helpdesk.com", name="Budi"), make_user("cs2@helpdesk.com", name="Sari")


def test_a_waiting_client_is_told_when_an_agent_comes_online(agents):
    budi, _ = agents
    session = waiting_session("11")
    agent_presence_set(agent=budi, online=True)
    assert notices_to(session) == ["You are now talking with Budi from our support team."]


def test_the_notice_is_in_the_clients_telegram_language(agents):
    budi, _ = agents
    indonesian, british, other = (
        waiting_session("21", "id"),
        waiting_session("22", "en-GB"),
        waiting_session("23", "ms"),
    )
    agent_presence_set(agent=budi, online=True)
    assert notices_to(indonesian) == ["Anda sekarang terhubung dengan Budi dari tim dukungan kami."]
    assert (
        notices_to(british)
        == notices_to(other)
        == ["You are now talking with Budi from our support team."]
    )


def test_a_client_is_told_about_an_admins_assignment_and_a_transfer(agents):
    budi, sari = agents
    session = waiting_session("31", "id")
    session_assign(session=session, agent=budi)
    User.objects.filter(pk=sari.pk).update(status_online=True)
    session_transfer(session=Session.objects.get(pk=session.pk), to_agent=sari)
    assert notices_to(session) == [
        "Anda sekarang terhubung dengan Budi dari tim dukungan kami.",
        "Anda sekarang terhubung dengan Sari dari tim dukungan kami.",
    ]


def test_a_client_allocated_at_once_gets_no_extra_notice(agents):
    budi, _ = agents
    agent_presence_set(agent=budi, online=True)
    session = chat_record_incoming(incoming=message_from("41")).session
    assert session.cs_id == budi.pk
    assert notices_to(session) == []  # the bot's own "an agent is looking" says it
