"""One JSON error shape for the whole /api/: {"detail": ..., "code": ..., "errors": {...}}.

`detail` is a sentence for people, `code` a stable word for programs, and `errors` (400
only) maps each field to its messages. DRF's views answer through `exception_handler`;
what Django answers itself under /api/ (no such address, a server error) goes through
the handler views below, which leave the console's HTML pages as they are.
"""

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

API_PREFIX = "/api/"
logger = logging.getLogger(__name__)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is too large."
    default_code = "too_large"


class DatabaseUnavailable(exceptions.APIException):
    """The database cannot be reached (down, restarting, out of connections): a client
    should come back later, and the log needs a line, not a traceback per request."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is temporarily unavailable; try again shortly."
    default_code = "database_unavailable"
    wait = 10  # seconds, sent as Retry-After


class ServiceRefused(exceptions.APIException):
    """A service's ValidationError (the session has ended, the agent is offline…)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"


def _from_django(exc: Exception) -> exceptions.APIException | None:
    if isinstance(exc, DjangoValidationError):
        # In order: the first error's code names the refusal.
        codes = [getattr(e, "code", None) for e in getattr(exc, "error_list", [])]
        message = " ".join(exc.messages)
        if "too_large" in codes:
            return PayloadTooLarge(message)
        code = next((c for c in codes if c), "invalid")
        return ServiceRefused(message, code=code)
    if isinstance(exc, OperationalError | InterfaceError):
        return DatabaseUnavailable(_("The service is temporarily unavailable; try again shortly."))
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge(_("The request body is too large."))
    if isinstance(exc, SuspiciousOperation):
        return exceptions.ParseError(_("The request could not be read."))
    return None


def _first_message(errors) -> str:
    """The first message in a (nested) DRF error structure, prefixed with its field."""
    if isinstance(errors, dict):
        for field, value in errors.items():
            message = _first_message(value)
            if message:
                return message if field in ("non_field_errors", "detail") else f"{field}: {message}"
    elif isinstance(errors, list):
        for value in errors:
            message = _first_message(value)
            if message:
                return message
    elif errors:
        return str(errors)
    return ""


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, on Django's and the services' exceptions too, in our shape."""
    cause, exc = exc, _from_django(exc) or exc
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django's handler500 answers (JSON under /api/)
    if isinstance(exc, DatabaseUnavailable):
        request = context["request"]
        logger.warning("database unavailable: %s %s: %s", request.method, request.path, cause)
        response._has_been_logged = True  # the line above is the request's only one
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {
            "detail": _first_message(errors) or _("Invalid input."),
            "code": "invalid",
            "errors": errors,
        }
    elif isinstance(exc.detail, dict):
        # simplejwt's InvalidToken: {"detail", "code", "messages"}.
        response.data = {
            "detail": str(exc.detail.get("detail", "")) or _("Invalid token."),
            "code": str(exc.detail.get("code", "")) or "token_not_valid",
        }
    else:
        codes = exc.get_codes()
        response.data = {
            "detail": str(exc.detail),
            "code": codes if isinstance(codes, str) else "error",
        }
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _error(detail: str, code: str, status_code: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status_code)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _error(_("The request could not be read."), "parse_error", 400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _error(_("You may not do this."), "permission_denied", 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _error(_("Not found."), "not_found", 404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return _error(_("Something went wrong on our side."), "server_error", 500)
    return defaults.server_error(request)
