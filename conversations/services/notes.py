"""Private notes in a session's history, and the mentions of agents in them.

A note is a row of its own table, never a chat: the delivery worker claims chats only,
so no path that sends to Telegram can ever select one.

Mention syntax: `@` followed by an active agent's name without spaces ("CS Two" →
`@cstwo`) or the local part of its email (`cs2@helpdesk.com` → `@cs2`), any case. A word
that names no active agent stays plain text; the author is never notified of itself.
"""

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from conversations import events
from conversations.limits import REPLY_MAX_CHARS
from conversations.models import Mention, Note, Session

# `@` at the start or after a non-word character (not inside an email address).
MENTION_PATTERN = re.compile(r"(?<![\w@])@([\w][\w.+-]*)")


def mention_handles(text: str) -> set[str]:
    """The lower-cased handles `@…` in `text`, trailing punctuation dropped."""
    return {match.rstrip(".-+").lower() for match in MENTION_PATTERN.findall(text)}


def agent_handles(agent: User) -> set[str]:
    """The handles that name `agent`: its name without spaces, its email's local part."""
    return {
        handle
        for handle in ("".join(agent.name.split()).lower(), agent.email.split("@")[0].lower())
        if handle
    }


def mentioned_agents(text: str, *, author: User | None = None) -> list[User]:
    """The active agents `text` mentions (one query, none without an `@`)."""
    handles = mention_handles(text)
    if not handles:
        return []
    agents = User.objects.filter(is_active=True).order_by("name", "id")
    if author is not None:
        agents = agents.exclude(pk=author.pk)
    return [agent for agent in agents if agent_handles(agent) & handles]


def note_add(*, session: Session, author: User, text: str) -> Note:
    """Store a note in the session's history and notify the agents it mentions.

    Validated like a reply's text (non-empty, at most REPLY_MAX_CHARS), so the console
    and the API refuse the same input. The consoles hear of it after commit.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise ValidationError(_("Write a note."), code="empty")
    if len(text) > REPLY_MAX_CHARS:
        raise ValidationError(
            _("A note may be at most %(max)s characters.") % {"max": REPLY_MAX_CHARS},
            code="too_long",
        )
    agents = mentioned_agents(text, author=author)
    with transaction.atomic():
        # The desk's lock order, agents before sessions: the inserts' foreign key
        # checks lock the session, the author's and the mentioned agents' rows, and
        # an allocation holding the agents while it waits for the session would
        # deadlock with them.
        agent_ids = sorted({author.pk, *(agent.pk for agent in agents)})
        list(
            User.objects.select_for_update()
            .filter(pk__in=agent_ids)
            .order_by("pk")
            .values_list("pk")
        )
        note = Note.objects.create(session=session, author=author, text=text)
        Mention.objects.bulk_create(
            [Mention(note=note, agent=agent, created_at=note.created_at) for agent in agents]
        )
        events.notes_changed([note.pk])
        if agents:
            events.mentions_changed([agent.pk for agent in agents])
    return note


def mentions_mark_read(*, agent: User, session: Session) -> int:
    """Mark the agent's unread mentions in this session read (it opened the session)."""
    marked = Mention.objects.filter(
        agent=agent, note__session=session, read_at__isnull=True
    ).update(read_at=timezone.now())
    if marked:
        events.mentions_changed([agent.pk])
    return marked
