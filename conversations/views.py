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
from conversations.limits import TELEGRAM_TEXT_LIMIT
from conversations.models import Chat, Session
from conversations.note_selectors import (
    entries_with_notes,
    mention_unread_count,
    notes_for_page,
    session_get_for_reader,
)
from conversations.panel_views import agents_panel_context, my_load_context
from conversations.presentation import message_entries
from conversations.selectors import (
    agent_list,
    agent_list_for_transfer,
    chat_get_for_agent,
    chat_page_around,
    chat_page_for_session,
    client_session_count,
    session_get_for_agent,
    session_history_for_client,
    session_list_page,
    session_waiting_queue,
)
from conversations.services.notes import mentions_mark_read, note_add

WAITING_SHOWN = 20


def _session_or_404(request: HttpRequest, session_id: str) -> Session:
    try:
        return session_get_for_agent(user=request.user, session_id=session_id)
    except Session.DoesNotExist:
        raise Http404(_("No such session.")) from None


def _to_session(request: HttpRequest, session: Session) -> HttpResponse:
    """After an action: the fresh conversation (htmx), or a redirect to it (a plain form)."""
    if request.htmx:
        return _render_workspace(
            request, session_get_for_agent(user=request.user, session_id=session.pk)
        )
    return redirect("console:session", session_id=session.pk)


def _to_workspace(request: HttpRequest) -> HttpResponse:
    """After the agent lost the session: the empty workspace, at its own address."""
    if request.htmx:
        response = _render_workspace(request, None)
        response["HX-Push-Url"] = reverse("console:sessions")
        return response
    return redirect("console:sessions")


def _flash_errors(request: HttpRequest, error: ValidationError) -> None:
    for text in error.messages:
        messages.error(request, text)


def _list_context(request: HttpRequest) -> dict:
    """The session list pane: filters, one page of rows, the waiting queue."""
    user = request.user
    agents = list(agent_list()) if user.is_admin else []
    filter_form = SessionFilterForm(request.GET, agents=agents)
    filters = filter_form.filters()
    page = session_list_page(user=user, number=request.GET.get("page"), **filters)
    waiting = session_waiting_queue()
    return {
        "filter_form": filter_form,
        "order": filters["order"],
        # New rows are pushed into the first page of an unfiltered list only; any
        # other view updates the rows it shows.
        "live_insert": page.number == 1
        and not any(filters[k] for k in ("status", "cs_id", "q", "label_id")),
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
        "mention_unread": mention_unread_count(agent=user),
        # Load at a glance: an ADMIN sees every agent's, a CS its own against the cap.
        **(agents_panel_context() if user.is_admin else my_load_context(user)),
    }


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _session_context(
    request: HttpRequest, session: Session, reply_form: ReplyForm | None = None
) -> dict:
    """The open conversation and its client pane; with `at` (a search result), the
    part of the history around that chat, which the workspace scrolls to."""
    at = request.GET.get("at")
    around = chat_page_around(session=session, chat_id=at) if at else None
    if around:
        chats, has_older = around
    else:
        chats, has_older = chat_page_for_session(session=session, before=request.GET.get("before"))
    history = list(session_history_for_client(user=request.user, session=session))
    # Private notes of the page's time range, in between the messages (one query).
    newer = bool(around or request.GET.get("before"))
    notes = notes_for_page(session=session, chats=chats, older=has_older, newer=newer)
    return {
        "session": session,
        "entries": entries_with_notes(message_entries(chats), notes),
        "has_older": has_older,
        "oldest_chat_id": chats[0].pk if chats else "",
        "reply_form": reply_form or ReplyForm(),
        "transfer_agents": list(agent_list_for_transfer(session=session)),
        "history": history,
        "client_session_count": client_session_count(client_id=session.client_id),
        "telegram_text_limit": TELEGRAM_TEXT_LIMIT,
        "focus_chat_id": at if around else "",
        "read_only": getattr(request, "read_only", False),
    }


def _wants_fragment(request: HttpRequest) -> bool:
    """An htmx swap of #work; a history restore (back/forward) wants the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def _render_workspace(
    request: HttpRequest,
    session: Session | None,
    reply_form: ReplyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = _session_context(request, session, reply_form) if session else {}
    if _wants_fragment(request):
        return render(request, "console/_work.html", context, status=status)
    context.update(_list_context(request))
    return render(request, "console/workspace.html", context, status=status)


@require_GET
@login_required
def session_list(request: HttpRequest) -> HttpResponse:
    return _render_workspace(request, None)


@require_GET
@login_required
def session_detail(request: HttpRequest, session_id: str) -> HttpResponse:
    # A CS mentioned in a note may read the session, never act on it (every POST view
    # keeps `session_get_for_agent`); opening it marks the agent's mentions there read.
    try:
        session, read_only = session_get_for_reader(user=request.user, session_id=session_id)
    except Session.DoesNotExist:
        raise Http404(_("No such session.")) from None
    if not read_only:
        services.chat_mark_read(session=session)
    if session.unread_mentions:
        mentions_mark_read(agent=request.user, session=session)
    request.read_only = read_only
    return _render_workspace(request, session)


@require_POST
@login_required
def session_reply(request: HttpRequest, session_id: str) -> HttpResponse:
    session = _session_or_404(request, session_id)
    form = ReplyForm(request.POST, request.FILES)
    if request.POST.get("mode") == "note":  # a private note: stored, never sent
        if form.is_valid():
            try:
                note_add(session=session, author=request.user, text=form.cleaned_data["text"])
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return _to_session(request, session)
        return _render_workspace(request, session, reply_form=form, status=400)
    if form.is_valid():
        try:
            services.chat_send(
                session=session,
                agent=request.user,
                text=form.cleaned_data["text"],
                upload=form.cleaned_data["file"],
                **_reply_target(form),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _to_session(request, session)
    # The conversation again, with the agent's text kept and the reason shown.
    return _render_workspace(request, session, reply_form=form, status=400)


def _reply_target(form: ReplyForm) -> dict:
    reply_to = form.cleaned_data.get("reply_to")
    return {"reply_to_chat_id": reply_to} if reply_to else {}


@require_POST
@login_required
def session_read(request: HttpRequest, session_id: str) -> HttpResponse:
    session = _session_or_404(request, session_id)
    services.chat_mark_read(session=session)
    return _to_session(request, session)


@require_POST
@login_required
def session_end(request: HttpRequest, session_id: str) -> HttpResponse:
    session = _session_or_404(request, session_id)
    services.session_end(session=session)
    messages.success(request, _("The session has ended."))
    return _to_session(request, session)


@require_POST
@login_required
def session_transfer(request: HttpRequest, session_id: str) -> HttpResponse:
    session = _session_or_404(request, session_id)
    form = AgentChoiceForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an agent to transfer to."))
        return _to_session(request, session)
    try:
        services.session_transfer(session=session, to_agent=form.cleaned_data["agent"])
    except ValidationError as error:
        _flash_errors(request, error)
        return _to_session(request, session)
    messages.success(
        request, _("Transferred to %(name)s.") % {"name": form.cleaned_data["agent"].name}
    )
    # A CS who gave the session away may no longer open it.
    if request.user.is_admin:
        return _to_session(request, session)
    return _to_workspace(request)


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
    return _to_session(request, session)


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
