from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # Sends credentials_changed (and revokes refresh tokens) on a password change
        # or deactivation.
        from accounts import checks, signals  # noqa: F401  (checks registers deploy checks)
