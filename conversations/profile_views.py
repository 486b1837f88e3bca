"""The client's profile in the workspace's client pane: labels and the profile note.

The pane loads the fragment on its own (hx-trigger="load"), so opening a session
costs no query for it; the edit form posts back here and gets the fragment again.
The list's label filter asks for its options the same way. A client the agent may
not see is a 404 exactly like a missing one (`client_get_for_agent`).
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from conversations.models import Client
from conversations.selectors import client_get_for_agent, label_list
from conversations.services.profile import (
    PROFILE_NOTE_MAX_CHARS,
    client_profile_update,
    labels_from_ids,
)


def _luminance(color: str) -> float:
    """WCAG 2 relative luminance of "#rrggbb"."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def chip_text_color(color: str) -> str:
    """Black or white, whichever contrasts more with the label's colour.

    One of the two always reaches at least 4.58:1, so a chip's text meets WCAG AA
    whatever colour an admin picked.
    """
    try:
        background = _luminance(color)
    except (ValueError, IndexError):
        return "#000000"
    on_black = (background + 0.05) / 0.05
    on_white = 1.05 / (background + 0.05)
    return "#000000" if on_black >= on_white else "#ffffff"


def _client_or_404(request: HttpRequest, client_id: str) -> Client:
    try:
        return client_get_for_agent(user=request.user, client_id=client_id)
    except Client.DoesNotExist:
        raise Http404(_("No such client.")) from None


def _render(
    request: HttpRequest,
    client: Client,
    *,
    errors: list[str] | None = None,
    chosen: set[str] | None = None,
    note: str | None = None,
    editing: bool = False,
    status: int = 200,
) -> HttpResponse:
    client_labels = list(client.labels.all())  # prefetched by the selector
    chosen = {label.pk for label in client_labels} if chosen is None else chosen
    context = {
        "client": client,
        "profile": {
            "labels": client_labels,
            "chips": [(label, chip_text_color(label.color)) for label in client_labels],
            "choices": [(label, label.pk in chosen) for label in label_list()],
            "note": client.profile_note if note is None else note,
            "note_max": PROFILE_NOTE_MAX_CHARS,
            "errors": errors or [],
            "editing": editing or bool(errors),
            "saved": request.method == "POST" and not errors,
        },
    }
    return render(request, "console/_client_profile.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def client_profile(request: HttpRequest, client_id: str) -> HttpResponse:
    """GET: the profile fragment. POST (labels, profile_note): save, then the fragment."""
    client = _client_or_404(request, client_id)
    if request.method == "GET":
        return _render(request, client)
    ids = request.POST.getlist("labels")
    note = request.POST.get("profile_note", "")
    try:
        client = client_profile_update(
            client=client, by=request.user, labels=labels_from_ids(ids=ids), profile_note=note
        )
    except ValidationError as error:
        # 400 with the agent's choices kept: the workspace swaps a 400 in.
        return _render(
            request, client, errors=error.messages, chosen=set(ids), note=note, status=400
        )
    return _render(request, _client_or_404(request, client_id))


@require_GET
@never_cache
@login_required
def label_options(request: HttpRequest) -> HttpResponse:
    """The list filter's label <option>s, the current one (?label=) selected."""
    return render(
        request,
        "console/_label_options.html",
        {"labels": list(label_list()), "current": request.GET.get("label", "")},
    )
