"""Deploy checks for accounts: `manage.py check --deploy` before going live."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError

from accounts.selectors import users_with_seed_passwords


@register(Tags.security, deploy=True)
def check_seed_passwords(app_configs, **kwargs):
    """Fail while an account still has a sample password: the README prints them all."""
    if settings.DEBUG:
        return []
    try:
        users = users_with_seed_passwords()
    except DatabaseError as error:
        return [
            Warning(
                f"Could not look for accounts with the sample passwords: {error}",
                hint="Run the check again once the database answers.",
                id="accounts.W001",
            )
        ]
    if not users:
        return []
    emails = ", ".join(user.email for user in users)
    return [
        Error(
            f"{len(users)} account(s) still have a sample password from `manage.py seed`: "
            f"{emails}.",
            hint="Change them (manage.py changepassword EMAIL) or deactivate them; "
            "ALLOW_SEED_PASSWORDS=true lets the processes start anyway, for demos only.",
            id="accounts.E001",
        )
    ]
