"""Calling the REST API as a user (or nobody) in the API's tests (no tests of its own)."""

from datetime import timedelta

from django.http import HttpResponse
from django.test import Client as HttpClient
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User


def bearer(user: User | None, *, expired: bool = False) -> dict:
    """The Authorization header of `user`'s access token; none for anonymous."""
    if user is None:
        return {}
    token = AccessToken.for_user(user)
    if expired:
        token.set_exp(from_time=timezone.now() - timedelta(hours=1))
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def call(
    method: str, path: str, user: User | None, body=None, *, expired: bool = False
) -> HttpResponse:
    """`method` on `path` as `user`, a JSON body for the writing methods."""
    client = HttpClient()
    headers = bearer(user, expired=expired)
    if method in ("get", "delete"):
        return getattr(client, method)(path, **headers)
    return getattr(client, method)(path, body or {}, content_type="application/json", **headers)
