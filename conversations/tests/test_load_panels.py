"""Load at a glance: my active sessions against the cap, and an admin's panel of every
agent's online state and load; who may see which, in a constant number of queries."""

import re

import pytest
from channels.db import database_sync_to_async

from accounts.models import User
from conversations import services
from conversations.models import Session
from conversations.selectors import agent_loads
from conversations.tests.console_helpers import go_online, make_session
from conversations.tests.test_console_live import connected, next_events, nothing_for

LOAD_URL, AGENTS_URL = "/console/load/", "/console/agents/"


def make_agent(email: str, name: str = "", **fields) -> User:
    """Signed in with force_login: no password to hash (a slow Argon2 each)."""
    return User.objects.create(email=email, name=name or email, **fields)


@pytest.fixture
def team(db):
    """cs1: 2 ACTIVE sessions (and an ended one), online; cs2: 1, offline; a disabled CS."""
    cs1 = make_agent("cs1@helpdesk.com", "Ani")
    cs2 = make_agent("cs2@helpdesk.com", "Budi")
    gone = make_agent("cs3@helpdesk.com", "Citra", is_active=False)
    admin = make_agent("admin@helpdesk.com", "Admin", role=User.Role.ADMIN)
    go_online(cs1)
    for _ in range(2):
        make_session(cs=cs1)
    make_session(cs=cs1, status=Session.Status.ENDED)
    make_session(cs=cs2)
    make_session(cs=gone)
    return cs1, cs2, admin


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())).strip()


@pytest.mark.django_db
class TestMyLoad:
    def test_an_agent_sees_its_active_sessions_against_the_cap(self, client, team, settings):
        settings.MAX_ACTIVE_SESSIONS_PER_CS = 5
        client.force_login(team[0])

        response = client.get(LOAD_URL)

        assert response.status_code == 200
        assert response.content.decode().startswith('<span id="my-load"')
        assert text_of(response) == "2 / 5 active"

    def test_without_a_cap_only_the_count(self, client, team, settings):
        settings.MAX_ACTIVE_SESSIONS_PER_CS = 0
        client.force_login(team[0])

        assert text_of(client.get(LOAD_URL)) == "2 active"

    def test_in_indonesian(self, client, team, settings):
        settings.MAX_ACTIVE_SESSIONS_PER_CS = 5
        client.force_login(team[0])

        assert text_of(client.get(LOAD_URL, HTTP_ACCEPT_LANGUAGE="id")) == "2 / 5 aktif"

    def test_another_agent_sees_its_own_load_only(self, client, team, settings):
        settings.MAX_ACTIVE_SESSIONS_PER_CS = 5
        client.force_login(team[1])

        assert text_of(client.get(LOAD_URL)) == "1 / 5 active"

    def test_an_admin_sees_its_own(self, client, team):
        client.force_login(team[2])

        assert client.get(LOAD_URL).status_code == 200

    def test_anonymous_is_sent_to_sign_in(self, client, team):
        response = client.get(LOAD_URL)

        assert response.status_code == 302 and response.url.startswith("/login")

    def test_it_is_only_read(self, client, team):
        client.force_login(team[0])

        assert client.post(LOAD_URL).status_code == 405


@pytest.mark.django_db
class TestAgentsPanel:
    def test_an_admin_sees_every_agents_state_and_load(self, client, team, settings):
        settings.MAX_ACTIVE_SESSIONS_PER_CS = 5
        cs1, cs2, admin = team
        client.force_login(admin)

        response = client.get(AGENTS_URL)

        assert response.status_code == 200
        html = response.content.decode()
        assert html.startswith('<section id="agents-panel"')
        assert text_of(response) == "Agents Ani Online 2 / 5 active Budi Offline 1 / 5 active"
        assert f'id="agent-{cs1.pk}"' in html and f'data-agent-id="{cs2.pk}"' in html
        assert "Citra" not in html  # disabled: not an agent any more

    def test_without_a_cap_and_in_indonesian(self, client, team, settings):
        settings.MAX_ACTIVE_SESSIONS_PER_CS = 0
        client.force_login(team[2])

        response = client.get(AGENTS_URL, HTTP_ACCEPT_LANGUAGE="id")

        assert text_of(response) == "Agen Ani Daring 2 aktif Budi Luring 1 aktif"

    @pytest.mark.parametrize("who", [0, 1])
    def test_a_cs_is_refused(self, client, team, who):
        client.force_login(team[who])

        assert client.get(AGENTS_URL).status_code == 403

    def test_anonymous_is_sent_to_sign_in(self, client, team):
        response = client.get(AGENTS_URL)

        assert response.status_code == 302 and response.url.startswith("/login")


@pytest.mark.django_db
class TestQueries:
    @pytest.mark.parametrize("agents", [1, 30])
    def test_constant_whatever_the_agents(self, client, agents, django_assert_max_num_queries):
        admin_user = make_agent("admin@helpdesk.com", role=User.Role.ADMIN)
        for n in range(agents):
            agent = make_agent(f"agent{n}@helpdesk.com")
            make_session(cs=agent)
        client.force_login(admin_user)
        client.get(AGENTS_URL)  # the session's first use: not what is counted

        with django_assert_max_num_queries(3):  # session, user, the loads
            response = client.get(AGENTS_URL)
        assert response.content.decode().count('class="agent ') == agents
        client.force_login(agent)
        with django_assert_max_num_queries(3):  # session, user, the count
            assert text_of(client.get(LOAD_URL)) == "1 active"

    def test_agent_loads_is_one_query(self, team, django_assert_num_queries):
        with django_assert_num_queries(1):
            loads = [(a.name, a.status_online, a.active_sessions) for a in agent_loads()]

        assert loads == [("Ani", True, 2), ("Budi", False, 1)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_presence_reaches_admins_with_the_agent(admin_user):
    cs1 = await database_sync_to_async(make_agent)("cs1@helpdesk.com", "Ani")
    cs2 = await database_sync_to_async(make_agent)("cs2@helpdesk.com", "Budi")
    admin, other = await connected(admin_user), await connected(cs2)

    await database_sync_to_async(services.agent_presence_set)(agent=cs1, online=True)

    event = await next_events(admin, "presence")
    assert (event["agent_id"], event["online"]) == (cs1.pk, True)
    assert await nothing_for(other, cs1.pk)  # a CS hears only of itself
    await admin.disconnect()
    await other.disconnect()
