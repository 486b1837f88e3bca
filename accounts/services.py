"""Writes to agents and their refresh tokens. Views, commands and the admin call these."""

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import RefreshToken, User


@transaction.atomic
def user_create(*, email: str, name: str, password: str, role: str = User.Role.CS) -> User:
    return User.objects.create_user(email, name, password, role=role)


def refresh_token_revoke(*, tokens: QuerySet[RefreshToken]) -> int:
    """Revoke the still-live tokens among `tokens`; revoked rows stay until purged."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
