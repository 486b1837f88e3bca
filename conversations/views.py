"""The agent console: server-rendered pages that parse, gate, call one service, render.

Every session view goes through `session_get_for_agent`, so another agent's session is
a 404 exactly like a missing one.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from conversations import services
from conversations.forms import AgentChoiceForm, PresenceForm, ReplyForm, SessionFilterForm
from conversations.models import Chat, Session
from conversations.selectors import (
    agent_list,
    agent_list_for_transfer,
    chat_get_for_agent,
    chat_page_for_session,
    session_get_for_agent,
    session_history_for_client,
    session_list_page,
    session_waiting_queue,
)

WAITING_SHOWN = 20


def _session_or_404(request: HttpRequest, session_id: str) -> Session:
    try:
        return session_get_for_agent(user=request.user, session_id=session_id)
    except Session.DoesNotExist:
        raise Http404(_("No such session.")) from None


def _to_session(session: Session) -> HttpResponse:
    return redirect("console:session", session_id=session.pk)


def _flash_errors(request: HttpRequest, error: ValidationError) -> None:
    for text in error.messages:
        messages.error(request, text)


@require_GET
@login_required
def session_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    agents = list(agent_list()) if user.is_admin else []
    filter_form = SessionFilterForm(request.GET, agents=agents)
    filters = filter_form.filters()
    page = session_list_page(user=user, number=request.GET.get("page"), **filters)
    waiting = session_waiting_queue()
    context = {
        "filter_form": filter_form,
        "order": filters["order"],
        # New rows are pushed into the first page of an unfiltered list only; any
        # other view updates the rows it shows.
        "live_insert": page.number == 1 and not any(filters[k] for k in ("status", "cs_id", "q")),
        "page": page,
        "waiting_count": waiting.count(),
        "waiting": list(waiting[:WAITING_SHOWN]) if user.is_admin else [],
        # Every waiting row's assign form offers the same agents: rendered once.
        "agent_options": render_to_string(
            "console/_agent_options.html", {"agents": agents}, request=request
        )
        if user.is_admin
        else "",
        "query_without_page": _query_without_page(request),
    }
    return render(request, "console/session_list.html", context)


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _render_session(
    request: HttpRequest, session: Session, reply_form: ReplyForm | None = None, status: int = 200
) -> HttpResponse:
    chats, has_older = chat_page_for_session(session=session, before=request.GET.get("before"))
    context = {
        "session": session,
        "chats": chats,
        "has_older": has_older,
        "reply_form": reply_form or ReplyForm(),
        "transfer_agents": list(agent_list_for_transfer(session=session)),
        "history": list(session_history_for_client(user=request.user, session=session)),
    }
    return render(request, "console/session_detail.html", context, status=status)


@require_GET
@login_required
def session_detail(request: HttpRequest, session_id: str) -> HttpResponse:
    session = _session_or_404(request, session_id)
    services.chat_mark_read(session=session)
    return _render_session(request, session)


@require_POST
@login_required
def session_reply(request: HttpRequest, session_id: str) -> HttpResponse:
    session = _session_or_404(request, session_id)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.chat_send(
                session=session,
                agent=request.user,
                text=form.cleaned_data["text"],
                upload=form.cleaned_data["file"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _to_session(session)
    # The page again, with the agent's text kept and the reason shown.
    return _render_session(request, session, reply_form=form, status=400)


@require_POST
@login_required
def session_read(request: HttpRequest, session_id: str) -> HttpResponse:
    session = _session_or_404(request, session_id)
    services.chat_mark_read(session=session)
    return _to_session(session)


@require_POST
@login_required
def session_end(request: HttpRequest, session_id: str) -> HttpResponse:
    session = _session_or_404(request, session_id)
    services.session_end(session=session)
    messages.success(request, _("The session has ended."))
    return _to_session(session)


@require_POST
@login_required
def session_transfer(request: HttpRequest, session_id: str) -> HttpResponse:
    session = _session_or_404(request, session_id)
    form = AgentChoiceForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an agent to transfer to."))
        return _to_session(session)
    try:
        services.session_transfer(session=session, to_agent=form.cleaned_data["agent"])
    except ValidationError as error:
        _flash_errors(request, error)
        return _to_session(session)
    messages.success(
        request, _("Transferred to %(name)s.") % {"name": form.cleaned_data["agent"].name}
    )
    # A CS who gave the session away may no longer open it.
    if request.user.is_admin:
        return _to_session(session)
    return redirect("console:sessions")


@require_POST
@login_required
def session_assign(request: HttpRequest, session_id: str) -> HttpResponse:
    if not request.user.is_admin:
        raise PermissionDenied
    session = _session_or_404(request, session_id)
    form = AgentChoiceForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an agent."))
    else:
        try:
            services.session_assign(session=session, agent=form.cleaned_data["agent"])
        except ValidationError as error:
            _flash_errors(request, error)
        else:
            messages.success(
                request, _("Assigned to %(name)s.") % {"name": form.cleaned_data["agent"].name}
            )
    return redirect("console:sessions")


@require_POST
@login_required
def chat_retry(request: HttpRequest, session_id: str, chat_id: str) -> HttpResponse:
    session = _session_or_404(request, session_id)
    try:
        chat = chat_get_for_agent(user=request.user, chat_id=chat_id)
    except Chat.DoesNotExist:
        raise Http404(_("No such message.")) from None
    if chat.session_id != session.pk:
        raise Http404(_("No such message."))
    try:
        services.chat_retry_delivery(chat=chat)
    except ValidationError as error:
        _flash_errors(request, error)
    return _to_session(session)


@require_POST
@login_required
def presence_set(request: HttpRequest) -> HttpResponse:
    form = PresenceForm(request.POST)
    form.is_valid()
    online = form.cleaned_data.get("online", False)
    services.agent_presence_set(agent=request.user, online=online, from_console=True)
    messages.success(request, _("You are online.") if online else _("You are offline."))
    return redirect(_safe_next(request) or reverse("console:sessions"))


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else ""
