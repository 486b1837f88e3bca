"""The console socket's origin check follows Django's CSRF origin rule: scheme, host and
port of the socket's own address, or CSRF_TRUSTED_ORIGINS."""

import pytest

from helpdesk.ws_origin import origin_allowed


def scope(origin: str | None, host: str = "localhost:8000", scheme: str = "ws", **extra) -> dict:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    headers += [(k.encode(), v.encode()) for k, v in extra.items()]
    return {"type": "websocket", "scheme": scheme, "headers": headers}


@pytest.fixture
def localhost(settings):
    settings.ALLOWED_HOSTS = ["localhost", "helpdesk.example.com"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://console.example.com"]
    return settings


@pytest.mark.parametrize(
    ("origin", "socket", "allowed"),
    [
        ("http://localhost:8000", {}, True),
        ("http://localhost:9999", {}, False),  # another program on the same machine
        ("http://localhost", {}, False),
        ("https://localhost:8000", {}, False),  # scheme differs
        ("http://evil.example:8000", {}, False),
        ("null", {}, False),
        (None, {}, False),
        ("https://helpdesk.example.com", {"host": "helpdesk.example.com", "scheme": "wss"}, True),
        ("http://helpdesk.example.com", {"host": "helpdesk.example.com", "scheme": "wss"}, False),
        ("https://console.example.com", {}, True),  # CSRF_TRUSTED_ORIGINS
        ("http://attacker.test:8000", {"host": "attacker.test:8000"}, False),  # not a host of ours
    ],
)
def test_the_origin_must_match_scheme_host_and_port(localhost, origin, socket, allowed):
    assert origin_allowed(scope(origin, **socket)) is allowed


def test_a_proxy_saying_https_makes_the_socket_secure(localhost):
    localhost.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    secure = scope(
        "https://helpdesk.example.com", "helpdesk.example.com", x_forwarded_proto="https"
    )
    assert origin_allowed(secure)
