"""Blocking from the workspace's client pane: who may, what it does, in both languages."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conversations.models import Client, ClientBlockEvent, Session
from conversations.tests.console_helpers import make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def agents(make_user):
    return make_user("cs1@helpdesk.com", name="CS One"), make_user("cs2@helpdesk.com")


@pytest.fixture
def session(agents):
    return make_session(cs=agents[0], name="Rina")


def block_url(client: Client) -> str:
    return reverse("console:client_block", args=[client.pk])


def post_block(http, client: Client, **data):
    return http.post(block_url(client), {"action": "block", **data}, HTTP_HX_REQUEST="true")


def test_the_clients_cs_blocks_it_and_its_active_session_ends(client, agents, session):
    client.force_login(agents[0])
    response = post_block(client, session.client, reason="abusive language")

    assert response.status_code == 200
    assert "Blocked until unblocked" in response.text
    assert "abusive language" in response.text
    rina = Client.objects.get(pk=session.client.pk)
    assert rina.blocked and rina.blocked_until is None and rina.block_reason == "abusive language"
    assert Session.objects.get(pk=session.pk).status == Session.Status.ENDED
    (record,) = ClientBlockEvent.objects.filter(client=rina)
    assert (record.action, record.by, record.reason) == ("BLOCK", agents[0], "abusive language")


def test_another_cs_cannot_block_a_client_it_never_served(client, agents, session):
    client.force_login(agents[1])
    assert post_block(client, session.client).status_code == 404
    assert not Client.objects.get(pk=session.client.pk).blocked
    assert not ClientBlockEvent.objects.exists()


def test_an_admin_blocks_any_client_until_a_time_and_unblocks_it(client, admin_user, session):
    client.force_login(admin_user)
    until = timezone.localtime() + timedelta(days=2)
    response = post_block(client, session.client, until=until.strftime("%Y-%m-%dT%H:%M"))
    assert response.status_code == 200 and "Blocked until " in response.text
    rina = Client.objects.get(pk=session.client.pk)
    assert abs(rina.blocked_until - until) < timedelta(minutes=1)

    response = client.post(block_url(rina), {"action": "unblock"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Block this client" in response.text
    assert not Client.objects.get(pk=rina.pk).blocked
    actions = ClientBlockEvent.objects.filter(client=rina).order_by("created_at")
    assert [(e.action, e.by) for e in actions] == [("BLOCK", admin_user), ("UNBLOCK", admin_user)]


def test_anonymous_is_sent_to_sign_in_and_nothing_changes(client, session):
    response = post_block(client, session.client)
    assert response.status_code == 302 and "/login" in response["Location"]
    assert not Client.objects.get(pk=session.client.pk).blocked


def test_only_post_blocks(client, agents, session):
    client.force_login(agents[0])
    assert client.get(block_url(session.client)).status_code == 405


def test_a_past_or_malformed_end_is_refused_with_the_reason_kept(client, agents, session):
    client.force_login(agents[0])
    past = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    for until in (past, "tomorrow"):
        response = post_block(client, session.client, reason="spam", until=until)
        assert response.status_code == 400
        assert 'value="spam"' in response.text
    assert not Client.objects.get(pk=session.client.pk).blocked
    assert Session.objects.get(pk=session.pk).status == Session.Status.ACTIVE


def test_the_client_pane_offers_blocking_and_shows_the_held_back_count(client, agents, session):
    Client.objects.filter(pk=session.client.pk).update(held_back_count=3)
    client.force_login(agents[0])
    page = client.get(reverse("console:session", args=[session.pk])).text
    assert block_url(session.client) in page
    assert "3 messages held back" in page


def test_the_control_speaks_indonesian(client, agents, session):
    client.force_login(agents[0])
    page = client.get(reverse("console:session", args=[session.pk]), HTTP_ACCEPT_LANGUAGE="id")
    assert "Blokir klien ini" in page.text
    response = client.post(
        block_url(session.client),
        {"action": "block"},
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE="id",
    )
    assert "Diblokir sampai dibuka kembali" in response.text


def test_the_flooding_mark_shows_in_the_list_and_the_header(client, agents, session):
    Client.objects.filter(pk=session.client.pk).update(
        flooding_until=timezone.now() + timedelta(minutes=1)
    )
    client.force_login(agents[0])
    page = client.get(reverse("console:session", args=[session.pk])).text
    assert '<span class="flooding">flooding</span>' in page
    assert '<strong class="flooding">' in page
    Client.objects.filter(pk=session.client.pk).update(
        flooding_until=timezone.now() - timedelta(seconds=1)
    )
    page = client.get(reverse("console:session", args=[session.pk])).text
    assert 'class="flooding"' not in page and 'data-flooding=""' in page


def test_a_cs_with_an_ended_session_of_the_client_may_still_unblock_it(client, agents):
    ended = make_session(cs=agents[0], status=Session.Status.ENDED)
    Client.objects.filter(pk=ended.client.pk).update(blocked=True)
    client.force_login(agents[0])
    response = client.post(block_url(ended.client), {"action": "unblock"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert not Client.objects.get(pk=ended.client.pk).blocked


def test_the_admin_sees_what_was_held_back_and_every_block_record(client, admin_user, session):
    from conversations.services import client_block, client_unblock

    rina = client_block(client=session.client, by=admin_user, reason="abusive language")
    client_unblock(client=rina, by=admin_user)
    client_block(client=rina, by=admin_user, reason="spam again")
    Client.objects.filter(pk=rina.pk).update(held_back_count=7)
    client.force_login(admin_user)

    listing = client.get(reverse("admin:conversations_client_changelist")).text
    assert '<td class="field-held_back_count">7</td>' in listing
    page = client.get(reverse("admin:conversations_client_change", args=[rina.pk])).text
    assert page.count("abusive language") == 1 and "spam again" in page
    assert (
        len(re.findall(r'class="field-by">\s*<p><a [^>]*>Admin &lt;', page)) == 3
    )  # who, on each record
    assert len(re.findall(r'class="field-action">\s*<p>Unblocked</p>', page)) == 1
