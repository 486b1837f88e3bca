"""The workspace's load at a glance: my active sessions against the per-agent cap (top
bar), and every agent's online state and load (an ADMIN's panel).

Fragments: the workspace includes them (with the context builders below) and asks
for them again when a live push says sessions or presence changed.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import User
from conversations.selectors import agent_active_session_count, agent_loads


def my_load_context(user: User) -> dict:
    """`my_load` for console/_my_load.html: one query."""
    cap = settings.MAX_ACTIVE_SESSIONS_PER_CS
    active = agent_active_session_count(agent=user)
    return {"my_load": {"active": active, "cap": cap, "full": bool(cap) and active >= cap}}


def agents_panel_context() -> dict:
    """`agent_loads` and `cap` for console/_agents.html: one query, whatever the agents."""
    return {"agent_loads": list(agent_loads()), "cap": settings.MAX_ACTIVE_SESSIONS_PER_CS}


@require_GET
@never_cache
@login_required
def my_load(request: HttpRequest) -> HttpResponse:
    return render(request, "console/_my_load.html", my_load_context(request.user))


@require_GET
@never_cache
@login_required
def agents_panel(request: HttpRequest) -> HttpResponse:
    if not request.user.is_admin:
        raise PermissionDenied  # a CS sees its own load only
    return render(request, "console/_agents.html", agents_panel_context())
