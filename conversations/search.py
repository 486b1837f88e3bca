"""The workspace's one search box: clients by name, @username or Telegram id, and
message text, over every session the agent may see (a CS: its own, ended ones too;
an ADMIN: all).

On MySQL/MariaDB message text goes through the FULLTEXT index `ft_chats_message`
(migration 0011) in BOOLEAN MODE, so a search stays fast at millions of chats. That
index leaves out what its parser cannot see: words shorter than
`innodb_ft_min_token_size` (3), stopwords, emoji and punctuation such as the `#` of
`#10234`. So each search term must also appear as typed (LIKE), and the index only
narrows the rows LIKE reads; see `_chat_matches` for the steps. A query without any
indexable word (emoji alone, "ya") reads only the newest chats: UNINDEXED_WINDOW of the
desk for an ADMIN, UNINDEXED_SESSIONS sessions for a CS. SQLite scans (small desks).
"""

import re
from dataclasses import dataclass

from django.db import DatabaseError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.models import User
from conversations.models import Chat, Client, Session

MIN_QUERY_CHARS = 2
MAX_QUERY_CHARS = 100
SNIPPET_CONTEXT = 60  # characters shown either side of the first match
NAME_RESULTS = 10  # sessions found by the client's name, before message matches
CLIENTS_SCANNED = 200  # clients whose name matches, of which sessions are looked up
# Where a search looks first: common words fill a page there, reading few rows.
RECENT_CHATS = 20_000  # an ADMIN's: the desk's newest chats
RECENT_SESSIONS = 200  # a CS's: its newest sessions
# A search with no indexable word (only emoji, short words…) reads at most the newest
# chats of the desk (an ADMIN) or of the agent's newest sessions (a CS): the rest
# would be a scan of every chat.
UNINDEXED_WINDOW = 100_000
UNINDEXED_SESSIONS = 500  # a CS's: its newest sessions
# A FULLTEXT search for a word in very many messages reads them all; past this many
# seconds (MariaDB) the wider LIKE scan answers instead.
FULLTEXT_TIMEOUT = 0.1
# The statement timed out: 1969, or 188 ("aborted") when InnoDB's FULLTEXT search
# was interrupted, 1317 when the query was.
TIMEOUT_ERRORS = frozenset({1969, 188, 1317})
FT_MIN_TOKEN = 3
FT_MAX_TOKEN = 84  # innodb_ft_max_token_size: longer words are not indexed either
# InnoDB's default FULLTEXT stopwords (INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD):
# never indexed, so a MATCH on them finds nothing.
_STOPWORDS = (
    "a about an are as at be by com de en for from how i in is it la of on or that the "
    "this to was what when where who will with und www"
)
FT_STOPWORDS = frozenset(_STOPWORDS.split())
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class SearchResult:
    session_id: str
    chat_id: str | None  # None: the client's name, @username or Telegram id matched
    snippet: SafeString  # escaped, the matches in <mark>
    client_name: str
    session_status: str
    created_at: object


def search_query_clean(q: str | None) -> str:
    """The query as searched: trimmed, at most MAX_QUERY_CHARS; "" when too short."""
    q = " ".join((q or "").split())[:MAX_QUERY_CHARS]
    # One letter or digit finds half the desk; one emoji is a fair question.
    return q if len(q) >= MIN_QUERY_CHARS or (q and not q.isascii()) else ""


def search_for_agent(*, user: User, q: str, limit: int = 50) -> list[SearchResult]:
    """Sessions whose client matches `q`, then messages containing every term of `q`,
    newest first; only what `user` may open. Notices are the desk's words, not the
    conversation's: never results. An empty or too short `q` finds nothing."""
    q = search_query_clean(q)
    if not q:
        return []
    terms = q.split()
    results = _client_matches(user=user, q=q, limit=min(limit, NAME_RESULTS))
    chats = _chat_matches(user=user, terms=terms, limit=limit - len(results))
    clients = dict(
        Session.objects.filter(pk__in={c.session_id for c in chats}).values_list(
            "pk", "client__name"
        )
    )
    results += [
        SearchResult(
            session_id=chat.session_id,
            chat_id=chat.pk,
            snippet=snippet_mark(chat.message, terms),
            client_name=clients.get(chat.session_id, ""),
            session_status="",
            created_at=chat.created_at,
        )
        for chat in chats
    ]
    return results


def _sessions_for(user: User) -> QuerySet[Session]:
    sessions = Session.objects.all()
    return sessions if user.is_admin else sessions.filter(cs=user)


def _client_matches(*, user: User, q: str, limit: int) -> list[SearchResult]:
    """Two steps: the matching clients (a scan of clients, not of sessions), then their
    newest sessions that `user` may see."""
    handle = q.removeprefix("@")
    client_ids = list(
        Client.objects.filter(
            Q(name__icontains=q) | Q(username__icontains=handle) | Q(telegram_id=q)
        )
        .order_by()  # any CLIENTS_SCANNED of them: no sort of every matching client
        .values_list("pk", flat=True)[:CLIENTS_SCANNED]
    )
    if not client_ids or limit <= 0:
        return []
    sessions = (
        _sessions_for(user)
        .filter(client_id__in=client_ids)
        .select_related("client")
        .order_by("-last_activity_at", "-id")[:limit]
    )
    return [
        SearchResult(
            session_id=session.pk,
            chat_id=None,
            snippet=snippet_mark(_client_label(session.client), [q, handle]),
            client_name=session.client.name,
            session_status=session.get_status_display(),
            created_at=session.created_at,
        )
        for session in sessions
    ]


def _client_label(client: Client) -> str:
    parts = [client.name, f"@{client.username}" if client.username else "", client.telegram_id]
    return " · ".join(part for part in parts if part)


def fulltext_words(terms: list[str]) -> list[str]:
    """The words of `terms` the FULLTEXT index holds: neither too short nor too long,
    and not stopwords."""
    words = {w.lower() for term in terms for w in _WORD.findall(term)}
    return sorted(
        w for w in words if FT_MIN_TOKEN <= len(w) <= FT_MAX_TOKEN and w not in FT_STOPWORDS
    )


def _chat_matches(*, user: User, terms: list[str], limit: int) -> list[Chat]:
    """Messages containing every term, newest first (CUID ids begin with their time, so
    the primary key's order is the time order).

    MySQL/MariaDB, in steps that each read few rows: (1) the newest chats (an ADMIN:
    the desk's newest RECENT_CHATS; a CS: those of its RECENT_SESSIONS newest sessions),
    where a common word fills the page at once; (2) if not, the FULLTEXT candidates
    (few, for a word that rare), under FULLTEXT_TIMEOUT on MariaDB; (3) without an
    indexable word, or past that time, LIKE alone: over a CS's next sessions, newest
    first, until the page is full or UNINDEXED_SESSIONS were read; over an ADMIN's
    newest UNINDEXED_WINDOW chats.
    """
    if limit <= 0:
        return []
    chats = Chat.objects.filter(is_notice=False)
    if not user.is_admin:
        chats = chats.filter(session__cs=user)
    for term in terms:
        # A term without case (an order number, emoji) is compared byte for byte: MySQL's
        # utf8mb4_unicode_ci holds every emoji equal to every other.
        lookup = "message__icontains" if term.lower() != term.upper() else "message__contains"
        chats = chats.filter(**{lookup: term})
    chats = chats.only("id", "session_id", "message", "created_at").order_by("-id")
    if connection.vendor != "mysql":
        return list(chats[:limit])
    session_batches = [] if user.is_admin else _session_batches(user)
    if user.is_admin:
        found = list(chats.filter(pk__gt=_chat_id_at(RECENT_CHATS))[:limit])
    else:
        found = list(chats.filter(session_id__in=session_batches.pop(0))[:limit])
    if len(found) >= limit:
        return found
    words = fulltext_words(terms)
    more = None
    if words:
        # Every word required; each a prefix, as typing goes ("refu" finds "refund").
        against = " ".join(f"+{word}*" for word in words)
        matching = chats.extra(
            where=["MATCH (chats.message) AGAINST (%s IN BOOLEAN MODE)"], params=[against]
        )
        more = _within_timeout(matching, limit)
    if more is None and user.is_admin:
        more = list(chats.filter(pk__gt=_chat_id_at(UNINDEXED_WINDOW))[:limit])
    elif more is None:
        more = []
        for batch in session_batches:
            if len(found) + len(more) >= limit:
                break
            more += chats.filter(session_id__in=batch)[: limit - len(found) - len(more)]
    merged = {chat.pk: chat for chat in found + more}
    return [merged[pk] for pk in sorted(merged, reverse=True)[:limit]]


def _session_batches(user: User) -> list[list[str]]:
    """The CS's UNINDEXED_SESSIONS newest session ids: RECENT_SESSIONS, then batches
    four times larger each, so a scan stops soon after the page is full."""
    ids = list(
        Session.objects.filter(cs=user)
        .order_by("-last_activity_at", "-id")
        .values_list("pk", flat=True)[:UNINDEXED_SESSIONS]
    )
    batches, start, size = [ids[:RECENT_SESSIONS]], RECENT_SESSIONS, 4 * max(1, RECENT_SESSIONS)
    while start < len(ids):
        batches.append(ids[start : start + size])
        start, size = start + size, size * 4
    return batches


def _chat_id_at(offset: int) -> str:
    """The id of the `offset`-th newest chat ("" when there are fewer)."""
    ids = Chat.objects.order_by("-id").values_list("pk", flat=True)[offset : offset + 1]
    return next(iter(ids), "")


def _within_timeout(chats: QuerySet[Chat], limit: int) -> list[Chat] | None:
    """The first `limit` of `chats`, or None when MariaDB gives up after
    FULLTEXT_TIMEOUT seconds (a word in very many messages, but not in the newest)."""
    if not connection.mysql_is_mariadb:
        return list(chats[:limit])
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET SESSION max_statement_time = {FULLTEXT_TIMEOUT:.3f}")
            try:
                return list(chats[:limit])
            finally:
                cursor.execute("SET SESSION max_statement_time = DEFAULT")
    except DatabaseError as error:
        if error.args and error.args[0] in TIMEOUT_ERRORS:
            return None
        raise


def snippet_mark(text: str, terms: list[str]) -> SafeString:
    """`text` around its first match, escaped, each match of a term in <mark>.

    Matches are found in the raw text and every piece is escaped on its own, so
    neither the message's HTML nor a term like "<b" can break the markup.
    """
    pattern = "|".join(re.escape(t) for t in sorted({t for t in terms if t}, key=len, reverse=True))
    matches = list(re.finditer(pattern, text, re.IGNORECASE)) if pattern else []
    start, end = 0, len(text)
    if matches:
        start = max(0, matches[0].start() - SNIPPET_CONTEXT)
        end = min(len(text), matches[0].end() + SNIPPET_CONTEXT)
    elif len(text) > 2 * SNIPPET_CONTEXT:
        end = 2 * SNIPPET_CONTEXT
    out, at = ["…" if start else ""], start
    for match in matches:
        if match.start() < start:
            continue
        if match.end() > end:
            break
        out += [escape(text[at : match.start()]), "<mark>", escape(match.group()), "</mark>"]
        at = match.end()
    out += [escape(text[at:end]), "…" if end < len(text) else ""]
    return mark_safe("".join(out))  # noqa: S308 (every piece of the message escaped above)
