"""Notes and mentions, live: the consoles that may see a session get its note rendered
in their agent's language; a mentioned agent's badge gets its unread count; nobody else
hears of either.

Transactional, as test_console_live.py: consumers close their database connections
between calls, which a test wrapped in one transaction would not survive on MariaDB.
"""

import pytest
from channels.db import database_sync_to_async

from accounts.models import User
from conversations.services.notes import mentions_mark_read, note_add
from conversations.tests.console_helpers import make_session
from conversations.tests.test_console_live import connected, next_events, nothing_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def agents(make_user):
    cs1 = make_user("cs1@helpdesk.com", name="CS One")
    cs2 = make_user("cs2@helpdesk.com", name="CS Two")
    cs3 = make_user("cs3@helpdesk.com", name="CS Three")
    return cs1, cs2, cs3


add = database_sync_to_async(note_add)


async def test_a_note_reaches_the_sessions_consoles_and_the_mentioned_agent(agents, admin_user):
    cs1, cs2, cs3 = agents
    session = await database_sync_to_async(make_session)(cs=cs1, name="Dewi")
    mine, mentioned = await connected(cs1), await connected(cs2)
    other, admin = await connected(cs3), await connected(admin_user)

    note = await add(session=session, author=cs1, text="@cs2 check <b>this</b>")

    for console in (mine, admin, mentioned):
        event = await next_events(console, "note")
        assert event["session_id"] == session.pk and event["note_id"] == note.pk
        assert 'class="msg note"' in event["html"]
        assert '<mark class="mention">@cs2</mark> check &lt;b&gt;this&lt;/b&gt;' in event["html"]
    assert (await next_events(mentioned, "mention"))["unread"] == 1
    assert await nothing_for(other, session.pk)
    for console in (mine, mentioned, other, admin):
        await console.disconnect()


async def test_the_badge_counts_down_when_the_mention_is_followed(agents):
    cs1, cs2, _cs3 = agents
    session = await database_sync_to_async(make_session)(cs=cs1)
    await add(session=session, author=cs1, text="@cs2 one")
    console = await connected(cs2)

    await add(session=session, author=cs1, text="@cs2 two")
    assert (await next_events(console, "mention"))["unread"] == 2
    await database_sync_to_async(mentions_mark_read)(agent=cs2, session=session)
    assert (await next_events(console, "mention"))["unread"] == 0
    await console.disconnect()


async def test_the_note_is_rendered_in_the_agents_language(agents):
    cs1, _cs2, _cs3 = agents
    await database_sync_to_async(User.objects.filter(pk=cs1.pk).update)(language="id")
    session = await database_sync_to_async(make_session)(cs=cs1)
    console = await connected(cs1, query="?lang=id")

    await add(session=session, author=cs1, text="catatan")

    event = await next_events(console, "note")
    assert "Catatan pribadi" in event["html"]
    await console.disconnect()
