"""Render pages in the language the signed-in agent chose (accounts.User.language)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

from accounts.services import user_language_chosen


class UserLanguageMiddleware:
    """Replace LocaleMiddleware's choice with the user's own; goes after AuthenticationMiddleware.

    LocaleMiddleware runs before the user is known, so it can only go by the browser
    (Accept-Language, then LANGUAGE_CODE); that choice stands for anonymous users and
    users who left `language` empty. `request.user` is loaded here rather than in the
    view, which needs it anyway: no extra query on console pages.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = user_language_chosen(request.user)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language:
            # The page depends on who is signed in, i.e. the session cookie. SessionMiddleware
            # says so already (reading the user touched the session); this keeps it explicit.
            patch_vary_headers(response, ("Cookie",))
            # LocaleMiddleware would use the active language too; say it outright.
            response.headers.setdefault("Content-Language", language)
        return response
