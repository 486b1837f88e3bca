"""JWT refresh tokens kept in the spec's `refresh_tokens` table, rotated on every use.

simplejwt encodes and verifies the tokens; this module owns their lifecycle instead of
simplejwt's token_blacklist app. The table stores sha256 of each token, never the token,
so a leaked database row cannot be replayed. Every token issued by one login belongs to
that login's chain (`family`): rotating hands out the chain's next token and revokes
the one presented, and presenting a token that was already rotated or revoked means two
parties hold the chain (theft, or a replay), so the whole chain is revoked.
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken as JwtRefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.models import RefreshToken, User


class RefreshTokenRejected(Exception):
    """The refresh token cannot be used; `code` says why (the API answers 401)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    user: User


FAMILY_CLAIM = "fam"  # the login chain a token belongs to


def token_hash(raw: str) -> str:
    """The one-way hash stored in `refresh_tokens.token` (hex sha256, 64 characters)."""
    return hashlib.sha256(raw.encode()).hexdigest()


def _issue(*, user: User, family: str | None) -> TokenPair:
    refresh = JwtRefreshToken.for_user(user)
    row = RefreshToken(user=user, expires_at=datetime_from_epoch(refresh["exp"]), family=family)
    # The first token of a login names its chain.
    row.family = family or row.id
    # Copied into the access token: revoking the chain refuses its access tokens too.
    refresh[FAMILY_CLAIM] = row.family
    raw = str(refresh)
    row.token = token_hash(raw)
    row.save(force_insert=True)
    access = refresh.access_token
    # simplejwt dates the access token's exp from the refresh token's clock but its iat
    # from its own; one clock for the pair keeps its lifetime exactly ACCESS_TOKEN_LIFETIME.
    access.set_iat(at_time=refresh.current_time)
    return TokenPair(access=str(access), refresh=raw, user=user)


@transaction.atomic
def refresh_token_issue(*, user: User) -> TokenPair:
    """Start a new login chain for `user` (a successful login)."""
    return _issue(user=user, family=None)


def _decode(raw: str) -> JwtRefreshToken:
    try:
        return JwtRefreshToken(raw)
    except TokenError:
        raise RefreshTokenRejected(
            _("The refresh token is invalid or expired."), code="token_not_valid"
        ) from None


def _chain(row: RefreshToken) -> Q:
    # Rows written before chains existed (or by the Node version) have no family:
    # such a row is a chain of its own.
    family = row.family or row.id
    return Q(family=family) | Q(pk=family)


def refresh_token_rotate(*, raw: str) -> TokenPair:
    """Exchange a live refresh token for a new pair; the presented one stops working.

    The row is locked, so of two concurrent refreshes of one token the second waits,
    then finds it rotated: that is reuse, and the chain is revoked. The revocation is
    committed before the rejection is raised.
    """
    _decode(raw)
    with transaction.atomic():
        row = (
            RefreshToken.objects.select_for_update()
            .select_related("user")
            .filter(token=token_hash(raw))
            .first()
        )
        outcome = _check_row(row)
        if outcome is None:
            row.revoked_at = timezone.now()
            row.save(update_fields=["revoked_at"])
            return _issue(user=row.user, family=row.family or row.id)
    raise outcome


def _check_row(row: RefreshToken | None) -> RefreshTokenRejected | None:
    """Return why `row` (locked by the caller) may not be used, revoking its chain on reuse."""
    if row is None:
        # Never issued here, or purged after it expired or was revoked.
        return RefreshTokenRejected(_("The refresh token is not known."), code="token_not_valid")
    if row.revoked_at is not None:
        refresh_token_revoke_chain(row=row)
        return RefreshTokenRejected(
            _("The refresh token was already used; every token of this login is revoked."),
            code="token_reused",
        )
    if row.expires_at <= timezone.now():
        return RefreshTokenRejected(_("The refresh token has expired."), code="token_expired")
    if not row.user.is_active:
        return RefreshTokenRejected(_("The account is disabled."), code="user_inactive")
    return None


def refresh_token_logout(*, raw: str) -> None:
    """Revoke the login chain of a live refresh token (logout).

    A token already rotated or revoked is treated as reuse, as on refresh.
    """
    _decode(raw)
    with transaction.atomic():
        row = RefreshToken.objects.select_for_update().filter(token=token_hash(raw)).first()
        if row is None:
            outcome = RefreshTokenRejected(
                _("The refresh token is not known."), code="token_not_valid"
            )
        elif row.revoked_at is not None:
            outcome = _check_row(row)
        else:
            refresh_token_revoke_chain(row=row)
            return
    raise outcome


def refresh_token_revoke_chain(*, row: RefreshToken) -> int:
    """Revoke every still-live token of `row`'s login chain."""
    return RefreshToken.objects.filter(_chain(row), revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def refresh_tokens_revoke_for_user(*, user: User) -> int:
    """Revoke all of a user's live refresh tokens (password changed, account disabled)."""
    return RefreshToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def refresh_token_family_is_live(*, family: str) -> bool:
    """Whether the login chain still holds a live refresh token (one indexed lookup).

    Rotation leaves exactly one live row per chain; logout and reuse revoke them all,
    and so end the chain's access tokens before they expire.
    """
    return RefreshToken.objects.filter(family=family, revoked_at__isnull=True).exists()


def refresh_tokens_purge(*, revoked_older_than: timedelta = timedelta(0)) -> int:
    """Delete expired rows, and revoked rows revoked more than `revoked_older_than` ago.

    Keeping revoked rows a while lets a replay of a stolen token still be recognised as
    reuse (and revoke its chain) rather than just refused as unknown.
    """
    now = timezone.now()
    deleted, _details = RefreshToken.objects.filter(
        Q(expires_at__lte=now) | Q(revoked_at__lte=now - revoked_older_than)
    ).delete()
    return deleted
