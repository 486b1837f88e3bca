"""The agent's alert switches (sound, desktop notifications) in the workspace's top bar.

Each switch posts on its own as soon as it is flipped (alerts.js), so a field that is
not posted stays as it is. The plain form (no JavaScript) posts both: a hidden "0"
before each checkbox, so an unticked box still says "off" (the last value wins).
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.services import user_alerts_set

_ON = {"1", "on", "true"}
_OFF = {"0", "", "off", "false"}


class _BadSwitch(ValueError):
    pass


def _switch(request: HttpRequest, name: str) -> bool | None:
    if name not in request.POST:
        return None
    value = request.POST.get(name, "").strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise _BadSwitch(name)


@require_POST
@login_required
def alerts_set(request: HttpRequest) -> HttpResponse:
    """Save the posted switches to the agent's own row: 204 for a script, else back."""
    try:
        sound, desktop = _switch(request, "sound"), _switch(request, "desktop")
    except _BadSwitch as error:
        # Only a hand-made request gets here: the switches post 1 or 0.
        return HttpResponseBadRequest(
            f"{error} must be 1 or 0", content_type="text/plain; charset=utf-8"
        )
    user_alerts_set(user=request.user, sound=sound, desktop=desktop)
    if request.htmx or request.headers.get("X-Requested-With"):
        return HttpResponse(status=204)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("console:sessions")
    return redirect(target)
