"""Close live consoles whose sign-in has ended: logout, a new password, a disabled user."""

from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import User
from conversations import events


@receiver(user_logged_out, dispatch_uid="conversations.close_consoles_on_logout")
def close_consoles_on_logout(sender, request, user: User | None, **kwargs) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if user is not None and session_key:
        events.console_signed_out(user.pk, session_key=session_key)


@receiver(post_save, sender=User, dispatch_uid="conversations.close_consoles_on_credentials")
def close_consoles_on_credentials_change(sender, instance: User, created: bool, **kwargs) -> None:
    # As accounts.signals: `_password` is set only while a new password is saved.
    if not created and (instance._password is not None or not instance.is_active):
        events.console_signed_out(instance.pk)
