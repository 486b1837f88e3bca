"""Reads for private notes and mentions, and who may read a session because of one."""

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.models import User
from conversations.models import Chat, Mention, Note, Session
from conversations.services.notes import MENTION_PATTERN

MENTIONS_SHOWN = 30


def session_get_for_reader(*, user: User, session_id: str) -> tuple[Session, bool]:
    """The session if `user` may read it, and whether only read it (True: read-only).

    Whoever may act on it (`session_get_for_agent`: its CS, any ADMIN) reads it fully;
    a CS mentioned in one of its notes may also read it, but never reply, end or
    transfer: every POST keeps `session_get_for_agent`. One query. Raises
    Session.DoesNotExist alike for a missing session and one the user may not see.
    """
    mentioned = Mention.objects.filter(agent=user, note__session=OuterRef("pk"))
    # Whether opening it has mentions to mark read: no UPDATE on the usual open.
    sessions = Session.objects.select_related("client", "cs").annotate(
        unread_mentions=Exists(mentioned.filter(read_at__isnull=True))
    )
    if user.is_admin:
        return sessions.get(pk=session_id), False
    session = sessions.filter(Q(cs=user) | Q(Exists(mentioned))).get(pk=session_id)
    return session, session.cs_id != user.pk


def notes_for_page(*, session: Session, chats: list[Chat], older: bool, newer: bool) -> list[Note]:
    """The notes written in the time a page of history covers (one query).

    `older`: the page does not start at the session's beginning, so notes before its
    first chat belong to an earlier page; `newer`: the page does not end at the latest,
    so notes after its last chat belong to a later page.
    """
    notes = Note.objects.filter(session=session).select_related("author")
    if chats and older:
        notes = notes.filter(created_at__gte=chats[0].created_at)
    if chats and newer:
        notes = notes.filter(created_at__lt=chats[-1].created_at)
    elif newer:
        return []
    return list(notes.order_by("created_at", "id"))


def entries_with_notes(entries: list, notes: list[Note]) -> list:
    """The page's message entries `(chat, parts)` and its notes `(note, [])`, by time."""
    for note in notes:
        note.text_html = note_text_html(note.text)
    merged: list = []
    pending = list(notes)
    for entry in entries:
        while pending and pending[0].created_at < entry[0].created_at:
            merged.append((pending.pop(0), []))
        merged.append(entry)
    merged.extend((note, []) for note in pending)
    return merged


def note_text_html(text: str) -> SafeString:
    """The note's text escaped, each `@handle` in <mark class="mention">."""
    escaped = escape(text)
    return mark_safe(  # noqa: S308 (escaped above; the pattern matches no markup)
        MENTION_PATTERN.sub(lambda m: f'<mark class="mention">{m.group(0)}</mark>', escaped)
    )


def note_from_wire(data: dict) -> Note:
    note = Note(
        id=data["id"],
        session_id=data["session_id"],
        text=data["text"],
        created_at=parse_datetime(data["created_at"]),
    )
    note.author_name = data["author_name"]
    note.text_html = note_text_html(note.text)
    return note


def notes_for_session(*, session: Session) -> QuerySet[Note]:
    return Note.objects.filter(session=session).select_related("author")


def mention_unread_count(*, agent: User) -> int:
    return Mention.objects.filter(agent=agent, read_at__isnull=True).count()


def mention_unread_counts(*, agent_ids) -> dict[str, int]:
    """Unread mentions per agent, one query for all."""
    rows = (
        Mention.objects.filter(agent_id__in=agent_ids, read_at__isnull=True)
        .values("agent_id")
        .annotate(n=Count("id"))
    )
    return {row["agent_id"]: row["n"] for row in rows}


def mention_list_for_agent(*, agent: User, limit: int = MENTIONS_SHOWN) -> list[Mention]:
    """The agent's latest mentions with their notes, authors and sessions' clients
    (one query)."""
    return list(
        Mention.objects.filter(agent=agent)
        .select_related("note__author", "note__session__client")
        .order_by("-created_at", "-id")[:limit]
    )
