"""Blocking clients: an agent or admin stops a client writing to the desk, for a time
or until unblocked, and every block and unblock is recorded (who, when, why).

While blocked, the client's updates are still confirmed to Telegram but open no
session and store no chat (see `incoming`); blocking ends the client's ACTIVE
session, so the conversation leaves the agent's load and the queue at once and no
blocked client holds an agent's capacity. Unblocking restores normal service: the
next message opens a new session.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from conversations import events
from conversations.models import Client, ClientBlockEvent, Session
from conversations.services.sessions import session_end


def client_is_blocked(client: Client, now: datetime | None = None) -> bool:
    """Whether the block holds now: a `blocked_until` in the past means not blocked.

    Reads the row's fields only, so the ingest checks it on the rows it has locked
    without a query.
    """
    if not client.blocked:
        return False
    return client.blocked_until is None or client.blocked_until > (now or timezone.now())


@transaction.atomic
def client_block(
    *, client: Client, by: User, reason: str = "", until: datetime | None = None
) -> Client:
    """Block `client` (until `until`, or until unblocked) and record who did it and why.

    Blocking again replaces the reason and the end (and is recorded again). An
    `until` already past records the block but changes nothing for the client.
    """
    # The client row first, as the ingest locks it; session_end then takes the
    # agents and the session (the lock order of `sessions`).
    client = Client.objects.select_for_update().get(pk=client.pk)
    client.blocked, client.blocked_until, client.block_reason = True, until, reason[:255]
    client.save(update_fields=["blocked", "blocked_until", "block_reason"])
    ClientBlockEvent.objects.create(
        client=client, action=ClientBlockEvent.Action.BLOCK, by=by, reason=reason[:255], until=until
    )
    active = Session.objects.filter(client=client, status=Session.Status.ACTIVE).first()
    if active is not None:
        if client_is_blocked(client):
            session_end(session=active)  # pushes the session's change itself
        else:
            events.session_changed(active)
    return client


@transaction.atomic
def client_unblock(*, client: Client, by: User) -> Client:
    """Lift the client's block and record it; the next message is served as usual.

    The daily notice starts afresh, so a later block tells the client again.
    """
    client = Client.objects.select_for_update().get(pk=client.pk)
    client.blocked, client.blocked_until, client.block_reason = False, None, ""
    client.block_notice_at = None
    client.save(update_fields=["blocked", "blocked_until", "block_reason", "block_notice_at"])
    ClientBlockEvent.objects.create(client=client, action=ClientBlockEvent.Action.UNBLOCK, by=by)
    active = Session.objects.filter(client=client, status=Session.Status.ACTIVE).first()
    if active is not None:
        events.session_changed(active)
    return client
