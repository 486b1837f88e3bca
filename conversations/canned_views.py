"""Canned responses in the console: the reply box's suggestions, their use count, and
a page where an agent keeps its personal ones.

The suggestions come rendered for the open session (the client's language, the
variables filled in), so the browser inserts exactly what will be sent. A session or
a canned response the agent may not see is a 404 exactly like a missing one. Shared
responses are managed in the Django admin (and the API) by an ADMIN; this page edits
only the agent's own.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from conversations.models import CannedResponse, Session
from conversations.selectors import session_get_for_agent
from conversations.services.canned import (
    CANNED_SUGGESTIONS,
    SHORTCUT_MAX_CHARS,
    TEXT_MAX_CHARS,
    TITLE_MAX_CHARS,
    canned_create,
    canned_delete,
    canned_get_for_agent,
    canned_render,
    canned_search,
    canned_update,
    canned_use,
    canned_visible_to,
)


def _canned_or_404(request: HttpRequest, canned_id: str) -> CannedResponse:
    try:
        return canned_get_for_agent(agent=request.user, canned_id=canned_id)
    except CannedResponse.DoesNotExist:
        raise Http404(_("No such canned response.")) from None


@never_cache
@require_GET
@login_required
def suggestions(request: HttpRequest) -> JsonResponse:
    """GET ?session=<id>&q=<typed after />: the best matches, rendered for the session."""
    try:
        session = session_get_for_agent(
            user=request.user, session_id=request.GET.get("session", "")
        )
    except Session.DoesNotExist:
        raise Http404(_("No such session.")) from None
    query = request.GET.get("q", "")[:100]
    found = canned_search(agent=request.user, query=query)[:CANNED_SUGGESTIONS]
    return JsonResponse(
        {
            "label": _("Canned responses"),
            "results": [
                {
                    "id": canned.pk,
                    "shortcut": canned.shortcut,
                    "title": canned.title,
                    "personal": canned.owner_id is not None,
                    "rendered": canned_render(canned=canned, session=session, agent=request.user),
                }
                for canned in found
            ],
        }
    )


@never_cache
@require_POST
@login_required
def use(request: HttpRequest, canned_id: str) -> HttpResponse:
    """Count a use: the reply box calls it once the reply carrying the text was sent."""
    canned_use(canned=_canned_or_404(request, canned_id))
    return HttpResponse(status=204)


class CannedForm(forms.Form):
    shortcut = forms.CharField(
        label=gettext_lazy("Shortcut"),
        max_length=SHORTCUT_MAX_CHARS + 1,
        help_text=gettext_lazy("Lowercase letters, digits, - and _; type /shortcut to use it."),
    )
    title = forms.CharField(label=gettext_lazy("Title"), max_length=TITLE_MAX_CHARS * 2)
    text_en = forms.CharField(
        label=gettext_lazy("Text (English)"),
        max_length=TEXT_MAX_CHARS * 2,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Variables: {client_name}, {client_first_name}, {agent_name}."),
    )
    text_id = forms.CharField(
        label=gettext_lazy("Text (Indonesian)"),
        max_length=TEXT_MAX_CHARS * 2,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Empty: clients writing in Indonesian get the English text."),
    )


def _save(request: HttpRequest, form: CannedForm, canned: CannedResponse | None) -> bool:
    """Through the service: its refusals land on the form's fields."""
    try:
        if canned is None:
            canned_create(owner=request.user, **form.cleaned_data)
        else:
            canned_update(canned=canned, **form.cleaned_data)
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for field, field_errors in error.error_dict.items():
                form.add_error(field if field in form.fields else None, field_errors)
        else:
            form.add_error(None, error)
        return False
    return True


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def manage(request: HttpRequest) -> HttpResponse:
    """The agent's own canned responses (and the shared ones, to read).

    GET ?edit=<id> fills the form with one of its own; POST saves (with `id`: that
    one) or, with action=delete, deletes it.
    """
    editing = None
    canned_id = request.POST.get("id") or request.GET.get("edit")
    if canned_id:
        editing = _canned_or_404(request, canned_id)
        if editing.owner_id != request.user.pk:
            raise Http404(_("No such canned response."))
    if request.method == "POST" and request.POST.get("action") == "delete" and editing:
        canned_delete(canned=editing)
        messages.success(request, _("Canned response /%(s)s deleted.") % {"s": editing.shortcut})
        return redirect(reverse("console:canned_manage"))
    if request.method == "POST":
        form = CannedForm(request.POST)
        if form.is_valid() and _save(request, form, editing):
            messages.success(
                request, _("Canned response /%(s)s saved.") % {"s": form.cleaned_data["shortcut"]}
            )
            return redirect(reverse("console:canned_manage"))
        status = 400
    else:
        initial = (
            {f: getattr(editing, f) for f in ("shortcut", "title", "text_en", "text_id")}
            if editing
            else None
        )
        form = CannedForm(initial=initial)
        status = 200
    mine = canned_visible_to(agent=request.user).order_by("shortcut", "id")
    context = {
        "form": form,
        "editing": editing,
        "personal": [c for c in mine if c.owner_id is not None],
        "shared": [c for c in mine if c.owner_id is None],
    }
    return render(request, "console/canned.html", context, status=status)
