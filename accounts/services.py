"""Writes to agents and their refresh tokens. Views, commands and the admin call these."""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header

from accounts.models import RefreshToken, User
from accounts.selectors import SEED_PASSWORDS, user_email_exists


@transaction.atomic
def user_create(*, email: str, name: str, password: str, role: str = User.Role.CS) -> User:
    return User.objects.create_user(email, name, password, role=role)


def user_password_validate(*, password: str, user: User) -> None:
    """Raise ValidationError unless Django's validators pass `password` for `user`.

    A sample account's password is refused even if the validators were relaxed: the
    README publishes them, and production refuses to start while one logs in.
    """
    if password in SEED_PASSWORDS:
        raise ValidationError(
            "This is a published sample password (manage.py seed); choose another.",
            code="password_seed",
        )
    validate_password(password, user)


@transaction.atomic
def user_create_admin(*, email: str, name: str, password: str) -> User:
    """Create an ADMIN, such as a production database's first, with a validated password."""
    email = email.strip().lower()
    if user_email_exists(email=email):
        raise ValidationError(f"A user with the email {email} already exists.", code="taken")
    user_password_validate(password=password, user=User(email=email, name=name))
    return user_create(email=email, name=name, password=password, role=User.Role.ADMIN)


def refresh_token_revoke(*, tokens: QuerySet[RefreshToken]) -> int:
    """Revoke the still-live tokens among `tokens`; revoked rows stay until purged."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def user_language_set(*, user: User, language: str) -> None:
    """Store the agent's console language; "" means follow the browser again."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError(
            _("Unknown language: %(language)s.") % {"language": language}, code="invalid"
        )
    user.language = language
    user.save(update_fields=["language"])


def user_language_chosen(user: User | AnonymousUser) -> str:
    """The user's own still-supported choice, or "" to let the browser decide."""
    language = getattr(user, "language", "")
    return language if language in dict(settings.LANGUAGES) else ""


def user_language(user: User | AnonymousUser, *, accept_language: str = "") -> str:
    """The language to render in for `user` outside a page request (a websocket consumer).

    Same answer as pages get (LocaleMiddleware, then UserLanguageMiddleware): the user's
    choice, else the best supported match in `accept_language` (the handshake's
    Accept-Language header), else LANGUAGE_CODE.
    """
    if language := user_language_chosen(user):
        return language
    for code, _quality in parse_accept_lang_header(accept_language):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return translation.get_supported_language_variant(settings.LANGUAGE_CODE)


def user_alerts_set(*, user: User, sound: bool | None = None, desktop: bool | None = None) -> None:
    """Store the agent's alert switches (None leaves one as it is).

    Kept on the user's row, not in the browser, so the choice follows the agent to
    every tab and machine; only the changed columns are written, so a switch flipped
    in one tab never overwrites the other switch flipped in another.
    """
    fields = []
    if sound is not None:
        user.notify_sound = sound
        fields.append("notify_sound")
    if desktop is not None:
        user.notify_desktop = desktop
        fields.append("notify_desktop")
    if fields:
        user.save(update_fields=fields)
