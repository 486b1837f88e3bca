"""Blocking a client from the workspace's client pane (requirement 14.5).

The pane's fragment (`console/_client_block.html`) posts here with htmx and gets
itself back. A CS may block the clients of sessions it may see (its own, ended
ones included); an ADMIN any client. A client the agent may not see is a 404
exactly like a missing one.
"""

from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.models import User
from conversations import services
from conversations.models import Client, ClientBlockEvent
from conversations.selectors import client_get_for_agent

REASON_MAX_CHARS = ClientBlockEvent._meta.get_field("reason").max_length


def _client_for_agent(user: User, client_id: str) -> Client:
    try:
        return client_get_for_agent(user=user, client_id=client_id)
    except Client.DoesNotExist:
        raise Http404(_("No such client.")) from None


def _until(value: str) -> datetime | None:
    """The form's "until" (a datetime-local, in the agent's time zone); None when empty.

    Raises ValueError for a malformed value or a moment already past.
    """
    value = value.strip()
    if not value:
        return None
    until = parse_datetime(value)
    if until is None:
        raise ValueError(_("Enter a valid date and time."))
    if timezone.is_naive(until):
        until = timezone.make_aware(until)
    if until <= timezone.now():
        raise ValueError(_("The end of the block must be in the future."))
    return until


@never_cache
@require_POST
@login_required
def client_block(request: HttpRequest, client_id: str) -> HttpResponse:
    """POST action=block (reason, until) or action=unblock; answers with the fragment."""
    client = _client_for_agent(request.user, client_id)
    errors = []
    if request.POST.get("action") == "unblock":
        client = services.client_unblock(client=client, by=request.user)
    else:
        reason = request.POST.get("reason", "").strip()
        try:
            until = _until(request.POST.get("until", ""))
        except ValueError as error:
            errors.append(str(error))
        if len(reason) > REASON_MAX_CHARS:
            errors.append(
                _("The reason may have at most %(count)d characters.") % {"count": REASON_MAX_CHARS}
            )
        if not errors:
            client = services.client_block(
                client=client, by=request.user, reason=reason, until=until
            )
    context = {
        "client": client,
        "block_errors": errors,
        "block_saved": not errors,
        # Kept for the agent to correct after an error.
        "block_form": {k: request.POST.get(k, "") for k in ("reason", "until")} if errors else {},
    }
    return render(request, "console/_client_block.html", context, status=400 if errors else 200)
