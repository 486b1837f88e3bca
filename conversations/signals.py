"""Close live consoles whose sign-in has ended: logout, a new password, a disabled user."""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from accounts.models import User
from accounts.signals import credentials_changed
from conversations import events


@receiver(user_logged_out, dispatch_uid="conversations.close_consoles_on_logout")
def close_consoles_on_logout(sender, request, user: User | None, **kwargs) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if user is not None and session_key:
        events.console_signed_out(user.pk, session_key=session_key)


@receiver(credentials_changed, dispatch_uid="conversations.close_consoles_on_credentials")
def close_consoles_on_credentials_change(sender, user: User, **kwargs) -> None:
    events.console_signed_out(user.pk)
