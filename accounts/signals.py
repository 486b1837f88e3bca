"""Revoke a user's refresh tokens when its password changes or it is disabled."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import User
from accounts.tokens import refresh_tokens_revoke_for_user


@receiver(post_save, sender=User, dispatch_uid="accounts.revoke_tokens_on_credentials_change")
def revoke_tokens_on_credentials_change(sender, instance: User, created: bool, **kwargs) -> None:
    """Every path that sets a password (the admin's forms, `changepassword`, a service)
    calls `set_password()`, which keeps the raw password in `_password` until the save
    completes. The hash upgrade during a login (bcrypt → Argon2) clears it first, so an
    upgrade is not taken for a change.
    """
    if created:
        return
    if instance._password is not None or not instance.is_active:
        refresh_tokens_revoke_for_user(user=instance)
