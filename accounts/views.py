"""The agent's own account settings: for now, the console language."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.services import user_language_set


@require_POST
@login_required
def language_set(request: HttpRequest) -> HttpResponse:
    """Store the chosen language ("" = the browser's) and go back to the page it came from."""
    try:
        user_language_set(user=request.user, language=request.POST.get("language", ""))
    except ValidationError as error:
        # Only a hand-made request gets here: the form offers valid choices only.
        # Plain text: the message repeats what was posted.
        return HttpResponseBadRequest(
            " ".join(error.messages), content_type="text/plain; charset=utf-8"
        )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("console:sessions")
    return redirect(target)
