"""With the database unreachable, the API answers 503 with Retry-After and logs one line
per request: no 500, no traceback."""

import logging

import pytest
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from helpdesk.tests.processes import database_unreachable

# The connection is closed and re-pointed at a closed port: no test transaction may span
# it, and SQLite's in-memory test database cannot be taken away and given back.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mariadb]


@pytest.fixture
def database_down():
    with database_unreachable():
        yield


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/me/", None),
        ("get", "/api/sessions/", None),
        ("post", "/api/auth/refresh/", {"refresh": "SIGNED"}),
        ("post", "/api/auth/login/", {"email": "cs1@helpdesk.com", "password": "pw-secret-1"}),
    ],
)
def test_the_api_answers_503_with_retry_after_and_one_log_line(
    cs_user, database_down, caplog, method, path, body
):
    client = Client(raise_request_exception=False)
    token = AccessToken.for_user(cs_user)
    if body and body.get("refresh") == "SIGNED":
        body = {"refresh": str(RefreshToken.for_user(cs_user))}  # valid: looked up in the table

    with caplog.at_level(logging.INFO):
        response = getattr(client, method)(
            path,
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
            REMOTE_ADDR="203.0.113.9",
        )

    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"] == "10"
    assert response.json()["code"] == "database_unavailable"
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert lines[0].getMessage().startswith(f"database unavailable: {method.upper()} {path}")
    assert lines[0].exc_info is None
