"""Hooks for django-axes, which throttles failed logins (settings: AXES_*)."""

import unicodedata

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model

# AccessAttempt.username's length: MySQL in strict mode refuses a longer value.
_USERNAME_MAX = 255


def login_username(request, credentials: dict | None) -> str | None:
    """The account a login attempt counts against.

    The database matches emails case-insensitively, so "CS1@x.com" and "cs1@x.com" must
    share one count; NFKC and casefold (not just lower()) also join Unicode look-alikes
    (the long s, the Kelvin sign) that the database may match to the same account.
    """
    if credentials:
        # authenticate(email=...) (e.g. a token API) names the field USERNAME_FIELD.
        value = credentials.get(settings.AXES_USERNAME_FORM_FIELD) or credentials.get(
            get_user_model().USERNAME_FIELD
        )
    else:
        value = getattr(request, "data", request.POST).get(settings.AXES_USERNAME_FORM_FIELD)
    if not isinstance(value, str) or not value.strip():
        return None
    folded = unicodedata.normalize("NFKC", value.strip()[:_USERNAME_MAX]).casefold()
    return folded[:_USERNAME_MAX]


class AccountResetHandler(AxesDatabaseHandler):
    """Axes' database handler, except that a successful login forgives only its account.

    Stock axes also deletes every failure from the address, so anyone with one valid
    account could log in between guesses and never reach another account's limit.
    """

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        if username is None:
            return 0
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count
