"""The workspace runs as many queries for a long history or a long list as for a short one.

Opening a session swaps the work pane (the htmx fragment: conversation and client
pane); a deep link or a reload renders the whole workspace (the list pane too). Albums
and replies are grouped and linked in memory, so neither may add a query per message.
"""

import pytest

from accounts.models import User
from conversations.models import Chat, Session
from conversations.services import chat_file_url
from conversations.tests.console_helpers import add_chat, go_online, make_session

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
# Measured on SQLite and MariaDB, with the sign-in's two reads and marking read's two writes:
# the fragment 10 (session, chats, reply targets, earlier sessions, their count, agents
# to transfer to), the whole page 15 for a CS (its list, its load) and 17 for an ADMIN
# (the agents, their loads, the waiting queue). The same count whatever the size.
# Private notes add one to each (the page's notes) and one to the whole page (the
# unread mentions' count).
FRAGMENT_CEILING = 11
PAGE_CEILING = {User.Role.CS: 17, User.Role.ADMIN: 19}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def cs2(make_user):
    return make_user("cs2@helpdesk.com", name="CS Two")


def url(session: Session) -> str:
    return f"/console/sessions/{session.pk}/"


def fill(session: Session, count: int, *, ids_from: int = 1) -> None:
    """`count` chats, client and agent, with an album of 3 photos every 20 messages
    and a reply to the message before every 7th (so a few of each even at 5); their
    Telegram message ids count up from `ids_from`."""
    n = 0
    while n < count:
        minutes_ago = count - n
        if n % 20 == 1 and count - n >= 3:
            for part in range(3):
                add_chat(
                    session,
                    "",
                    minutes_ago=minutes_ago,
                    message_type=Chat.MessageType.IMAGE,
                    file_url=chat_file_url(chat_id=f"album{n}{part}", file_name="p.jpg"),
                    telegram_file_id=f"file-{n}-{part}",
                    telegram_message_id=ids_from + n + part,
                    media_group_id=f"album-{n}",
                )
            n += 3
            continue
        sender = Chat.SenderType.CS if n % 3 == 2 else Chat.SenderType.CLIENT
        add_chat(
            session,
            f"message {n} https://example.com",
            sender=sender,
            minutes_ago=minutes_ago,
            telegram_message_id=ids_from + n,
            reply_to_message_id=ids_from + n - 1 if n % 7 == 4 else None,
        )
        n += 1
    # The newest client message is unread: opening marks it read, at both sizes.
    add_chat(session, "still there?", telegram_message_id=ids_from + count)


def test_fragment_queries_do_not_grow_with_the_history(
    client, cs_user, cs2, django_assert_max_num_queries
):
    go_online(cs2)  # someone to transfer to: the transfer form is rendered
    short, long = make_session(cs=cs_user), make_session(cs=cs_user)
    fill(short, 5)
    fill(long, 300)
    for session in (short, long):
        make_session(cs=cs_user, client=session.client, status=Session.Status.ENDED)
    client.force_login(cs_user)

    counts = []
    for session in (short, long):
        with django_assert_max_num_queries(FRAGMENT_CEILING) as captured:
            response = client.get(url(session), headers=HTMX)
        counts.append(len(captured))
        body = response.content.decode()
        assert 'id="session-list"' not in body  # the fragment only
        # The album shows as one message with its three photos; a reply links its target.
        albums = [parts for _chat, parts in response.context["entries"] if len(parts) > 1]
        assert albums and all(len(parts) == 3 for parts in albums)
        assert body.count('class="album-grid"') == len(albums)
        assert 'class="reply-quote"><a href="#chat-' in body

    assert counts[0] == counts[1]


def _workspace_with(count: int, *, cs: User, other: User) -> list[Session]:
    """`count` sessions, half the CS's: each with an album part and a reply."""
    sessions = []
    for n in range(count):
        session = make_session(cs=cs if n % 2 else other, username=f"user{n}")
        add_chat(session, f"question {n}", minutes_ago=n + 2, telegram_message_id=1)
        add_chat(
            session,
            "",
            minutes_ago=n + 1,
            message_type=Chat.MessageType.IMAGE,
            file_url=chat_file_url(chat_id=f"photo{n}", file_name="p.jpg"),
            telegram_message_id=2,
            media_group_id=f"group-{n}",
        )
        add_chat(session, "this one", minutes_ago=n, telegram_message_id=3, reply_to_message_id=1)
        sessions.append(session)
    return sessions


@pytest.mark.parametrize("role", [User.Role.CS, User.Role.ADMIN])
def test_whole_workspace_queries_do_not_grow_with_the_sessions(
    client, make_user, cs_user, cs2, django_assert_max_num_queries, role
):
    go_online(cs_user, cs2)
    viewer = cs_user if role == User.Role.CS else make_user("boss@helpdesk.com", role=role)
    for _ in range(2):
        make_session(cs=None)  # waiting: the ADMIN's queue
    sessions = _workspace_with(5, cs=cs_user, other=cs2)
    opened = sessions[1]  # cs_user's
    fill(opened, 30, ids_from=10)
    client.force_login(viewer)

    counts = []
    for total in (5, 300):
        if total > len(sessions):
            sessions += _workspace_with(total - len(sessions), cs=cs_user, other=cs2)
        add_chat(opened, f"unread at {total}")  # opening marks it read: the same work
        with django_assert_max_num_queries(PAGE_CEILING[role]) as captured:
            response = client.get(url(opened))
        counts.append(len(captured))
        body = response.content.decode()
        assert 'id="session-list"' in body and 'id="messages"' in body
        shown = len(response.context["page"].object_list)
        mine = total if role == User.Role.ADMIN else total // 2
        assert shown == min(mine + (2 if role == User.Role.ADMIN else 0), 50)

    assert counts[0] == counts[1]
