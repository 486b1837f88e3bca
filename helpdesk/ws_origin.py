"""The console socket's origin check: Django's CSRF origin rule, applied to websockets.

Channels' AllowedHostsOriginValidator compares only the origin's host with
ALLOWED_HOSTS, so a page at `http://localhost:9999` (another program on the same
machine) could open an agent's socket on `localhost:8000` with the agent's cookie.
Like the CSRF check of a POST, the origin must be the socket's own (scheme, host and
port of the Host header, secure or not) or one of CSRF_TRUSTED_ORIGINS.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware


class _HandshakeRequest(HttpRequest):
    """Just enough of a request for Django's origin check, built from an ASGI scope."""

    def __init__(self, scope: dict) -> None:
        super().__init__()
        self._secure_scheme = scope.get("scheme") in ("wss", "https")
        server = scope.get("server") or ("unknown", "0")
        # As Django's ASGIRequest: headers become HTTP_*, so get_host() and
        # SECURE_PROXY_SSL_HEADER read them as for a page of the same site.
        self.META.update({"SERVER_NAME": server[0], "SERVER_PORT": str(server[1] or "0")})
        for name, value in scope.get("headers", ()):
            key = "HTTP_" + name.decode("latin1").upper().replace("-", "_")
            self.META[key] = value.decode("latin1")

    def _get_scheme(self) -> str:
        return "https" if self._secure_scheme else "http"


def origin_allowed(scope: dict) -> bool:
    request = _HandshakeRequest(scope)
    origin = request.META.get("HTTP_ORIGIN")
    try:
        scheme = urlsplit(origin or "").scheme
    except ValueError:
        return False
    if scheme not in ("http", "https"):
        return False  # browsers always send one; "null" (a sandboxed frame) is foreign
    # Django's own rule (a fresh instance reads CSRF_TRUSTED_ORIGINS as now set).
    return CsrfViewMiddleware(get_response=lambda request: None)._origin_verified(request)


class SameOriginOnly:
    """ASGI middleware refusing a websocket handshake from any other origin."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
