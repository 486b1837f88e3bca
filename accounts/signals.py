"""Tell the rest of the project when a user's credentials stop being valid."""

from django.db.models.signals import post_save
from django.dispatch import Signal, receiver

from accounts.models import User
from accounts.tokens import refresh_tokens_revoke_for_user

# Sent with `user` after a saved password change or a deactivation: whatever a
# sign-in had opened (refresh tokens here, live consoles elsewhere) must close.
credentials_changed = Signal()


@receiver(post_save, sender=User, dispatch_uid="accounts.credentials_changed_on_save")
def send_credentials_changed(sender, instance: User, created: bool, **kwargs) -> None:
    """Every path that sets a password (the admin's forms, `changepassword`, a service)
    calls `set_password()`, which keeps the raw password in `_password` until the save
    completes. The hash upgrade during a login (bcrypt → Argon2) clears it first, so an
    upgrade is not taken for a change.
    """
    if created:
        return
    if instance._password is not None or not instance.is_active:
        credentials_changed.send(sender=User, user=instance)


@receiver(credentials_changed, dispatch_uid="accounts.revoke_tokens_on_credentials_change")
def revoke_tokens_on_credentials_change(sender, user: User, **kwargs) -> None:
    refresh_tokens_revoke_for_user(user=user)
