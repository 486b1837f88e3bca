"""The console's mentions list: the agents' notes that name the signed-in agent."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from conversations.note_selectors import mention_list_for_agent


@require_GET
@login_required
def mentions(request: HttpRequest) -> HttpResponse:
    """The panel's fragment: the latest mentions, each opening its session."""
    context = {"mentions": mention_list_for_agent(agent=request.user)}
    return render(request, "console/_mentions.html", context)
