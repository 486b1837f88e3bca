"""Token auth: log in, refresh, log out. Each view parses, calls one service, renders.

Login goes through django.contrib.auth's `authenticate()` with the real HttpRequest, so
django-axes counts API failures together with the console's and the admin's, per
account and per address.
"""

from axes.helpers import get_cool_off
from django.contrib.auth import authenticate, user_logged_in
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.api.serializers import (
    LoginResultSerializer,
    LoginSerializer,
    RefreshSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from accounts.tokens import (
    RefreshTokenRejected,
    refresh_token_issue,
    refresh_token_logout,
    refresh_token_rotate,
)


class LoginLockedOut(exceptions.APIException):
    """Axes refuses the account or address; `wait` becomes the Retry-After header."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "throttled"

    def __init__(self, minutes: int) -> None:
        super().__init__(
            _("Too many failed login attempts; try again in %(minutes)d minutes.")
            % {"minutes": minutes}
        )
        self.wait = minutes * 60


class LoginRateThrottle(ScopedRateThrottle):
    """DRF's per-address scoped throttle, reading its rate when used (not at import)."""

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class TokenlessApi(APIView):
    """An endpoint that takes credentials or a refresh token in its body, not a header."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request: Request) -> str:
        # With no authenticator DRF would turn a 401 into 403; a refused login is a 401.
        return 'Bearer realm="api"'


class LoginApi(TokenlessApi):
    throttle_classes = [LoginRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        request=LoginSerializer,
        responses={200: LoginResultSerializer},
        summary="Log in with email and password",
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        django_request = request._request
        user = authenticate(
            request=django_request,
            email=data.validated_data["email"],
            password=data.validated_data["password"],
        )
        if getattr(django_request, "axes_locked_out", False):
            # Answer in JSON here rather than let AxesMiddleware swap in its HTML page.
            django_request.axes_locked_out = False
            minutes = max(1, round(get_cool_off(django_request).total_seconds() / 60))
            raise LoginLockedOut(minutes)
        if user is None:
            raise exceptions.AuthenticationFailed(
                _("Wrong email or password."), code="invalid_credentials"
            )
        # Updates last_login, and makes axes forgive this account's earlier failures.
        user_logged_in.send(sender=type(user), request=django_request, user=user)
        pair = refresh_token_issue(user=user)
        body = {"access": pair.access, "refresh": pair.refresh, "user": UserSerializer(user).data}
        return Response(body)


def _rejected(error: RefreshTokenRejected) -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed(error.message, code=error.code)


class RefreshApi(TokenlessApi):
    @extend_schema(
        request=RefreshSerializer,
        responses={200: TokenPairSerializer},
        summary="Exchange a refresh token for a new pair (the old one stops working)",
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = RefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            pair = refresh_token_rotate(raw=data.validated_data["refresh"])
        except RefreshTokenRejected as error:
            raise _rejected(error) from None
        return Response({"access": pair.access, "refresh": pair.refresh})


class LogoutApi(TokenlessApi):
    @extend_schema(
        request=RefreshSerializer,
        responses={204: None},
        summary="Revoke a refresh token and its login chain",
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = RefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            refresh_token_logout(raw=data.validated_data["refresh"])
        except RefreshTokenRejected as error:
            raise _rejected(error) from None
        return Response(status=status.HTTP_204_NO_CONTENT)
