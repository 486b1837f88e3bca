"""What a long-running process (daphne, runbot, deliver, serve) does once it has started."""

import gc
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

logger = logging.getLogger("helpdesk.startup")


def start_up_heap_freeze() -> None:
    """Exclude everything loaded at start from the garbage collector's full passes.

    aiogram's and Django's import leave a few hundred thousand long-lived objects;
    every full collection walked them all, stalling the bot for about 120 ms (a burst
    of late pushes in bench/console.py). Frozen, a full pass sees only newer objects.
    """
    gc.collect()
    gc.freeze()


def start_up_refuse_seed_passwords() -> None:
    """Refuse to start a production process while an account has a sample password.

    The seed's passwords are printed in the README: with DEBUG off, a process that would
    let them log in raises ImproperlyConfigured with one line, unless ALLOW_SEED_PASSWORDS
    is set (then it warns at every start). A database that does not answer yet must not
    keep the app down, so that is logged and the start goes on.
    """
    if settings.DEBUG:
        return
    if settings.ALLOW_SEED_PASSWORDS:
        logger.warning(
            "ALLOW_SEED_PASSWORDS is on: accounts with the seed's published passwords can "
            "log in. For demos and test runs only, never in production."
        )
        return
    from accounts.selectors import users_with_seed_passwords  # needs the app registry

    try:
        users = users_with_seed_passwords()
    except (DatabaseError, RuntimeError) as error:
        # DatabaseError: down or not migrated yet. RuntimeError: database access refused
        # here, as pytest-django does while collecting a test module that imports the app.
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        logger.warning("could not look for accounts with the sample passwords: %s", first_line)
        return
    if users:
        emails = ", ".join(user.email for user in users[:5]) + (", …" if len(users) > 5 else "")
        raise ImproperlyConfigured(
            f"Refusing to start: {len(users)} account(s) still have a sample password of "
            f"`manage.py seed` ({emails}). Change them (manage.py changepassword EMAIL), "
            "or set ALLOW_SEED_PASSWORDS=true for a demo."
        )
