"""Bearer access tokens, refused once their login chain is revoked (logout, reuse)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.tokens import Token

from accounts.models import User
from accounts.tokens import FAMILY_CLAIM, refresh_token_family_is_live


class LoginChainJWTAuthentication(JWTAuthentication):
    """simplejwt's authentication, plus: the token's login chain still has a live token.

    Without it, a logged-out or stolen-and-detected login's access tokens would keep
    working until they expire. Tokens issued before chains were named carry no claim
    and are left to their (short) expiry.
    """

    def get_user(self, validated_token: Token) -> User:
        user = super().get_user(validated_token)
        family = validated_token.get(FAMILY_CLAIM)
        if family is not None and not refresh_token_family_is_live(family=str(family)):
            raise AuthenticationFailed(_("This login has ended."), code="token_revoked")
        return user


class LoginChainJWTScheme(SimpleJWTScheme):
    """The OpenAPI schema's description of it: a plain bearer JWT."""

    target_class = LoginChainJWTAuthentication
