"""JSON nested thousands deep is bad input (400), never a 500, on every API endpoint
and on Telegram's webhook."""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework_simplejwt.tokens import AccessToken

from conversations.models import CannedResponse, Label
from conversations.tests.console_helpers import make_session
from telegram_gateway.views import SECRET_HEADER, runtime_bot

pytestmark = pytest.mark.django_db

DEPTH = 2_000
BODIES = {
    "lists": "[" * DEPTH + "]" * DEPTH,
    "objects": '{"a":' * DEPTH + "1" + "}" * DEPTH,
}
WRITE_METHODS = ("post", "put", "patch")


def _api_routes(patterns=None, prefix: str = "") -> list[tuple[str, str]]:
    """Every (method, route) under /api/ whose view takes a body, read from the URLconf,
    so an endpoint added later is covered without touching this test."""
    if patterns is None:
        api = next(p for p in get_resolver().url_patterns if str(p.pattern) == "api/")
        return _api_routes(api.url_patterns, "/api/")
    routes = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes += _api_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            view = getattr(pattern.callback, "view_class", None)
            routes += [(m, route) for m in WRITE_METHODS if view and hasattr(view, m)]
    return routes


ROUTES = _api_routes()
# They take no input, so they never parse the body: nothing to refuse, nothing to crash.
IGNORE_THE_BODY = {"/api/sessions/<str:session_id>/read/", "/api/sessions/<str:session_id>/end/"}


def test_the_routes_cover_the_api():
    assert ("post", "/api/auth/login/") in ROUTES
    assert ("patch", "/api/me/") in ROUTES
    assert ("post", "/api/sessions/<str:session_id>/transfer/") in ROUTES


@pytest.mark.parametrize("shape", BODIES)
@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_deep_json_is_a_400_on_every_api_endpoint(admin_user, method, route, shape):
    session = make_session(cs=admin_user, name="John Doe")
    # Every object a route names exists, so the body is what the view reads next.
    ids = {
        "session_id": session.pk,
        "client_id": session.client_id,
        "label_id": Label.objects.create(name="VIP").pk,
        "canned_id": CannedResponse.objects.create(
            shortcut="hi", title="Hi", text_en="Hello", owner=admin_user
        ).pk,
    }
    path = route
    for name, value in ids.items():
        path = path.replace(f"<str:{name}>", value)
    assert "<" not in path, f"give {path} an object to name"
    token = AccessToken.for_user(admin_user)

    response = getattr(Client(raise_request_exception=False), method)(
        path, BODIES[shape], content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    if route in IGNORE_THE_BODY:
        assert response.status_code == 200
        return
    assert response.status_code == 400, response.content[:300]
    assert response.json() == {"detail": "The JSON is nested too deeply.", "code": "parse_error"}


@pytest.mark.parametrize("shape", BODIES)
def test_deep_json_is_a_400_at_the_webhook(settings, shape):
    settings.TELEGRAM_BOT_TOKEN = "123456:TEST"
    settings.TELEGRAM_WEBHOOK_SECRET = "s3cret"
    runtime_bot.instances.clear()
    try:
        response = Client(raise_request_exception=False).post(
            "/telegram/webhook/",
            BODIES[shape],
            content_type="application/json",
            headers={SECRET_HEADER: "s3cret"},
        )
    finally:
        runtime_bot.instances.clear()

    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": "malformed update"}
