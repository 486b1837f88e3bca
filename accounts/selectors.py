"""Reads about agents that other apps and the deploy checks share."""

import os
from concurrent.futures import ThreadPoolExecutor

from django.contrib.auth.hashers import check_password

from accounts.models import User, password_hash_for_django

# The spec's sample accounts' passwords (conversations/seed.py gives them out, and the
# Node version's seed did too): printed in the README, so anyone can try them.
SEED_ADMIN_PASSWORD = "admin123"  # noqa: S105
SEED_CS_PASSWORD = "cs123"  # noqa: S105
SEED_PASSWORDS = (SEED_ADMIN_PASSWORD, SEED_CS_PASSWORD)


def _is_seed_password(encoded: str) -> bool:
    # No setter: a match must not re-hash and save (that would count as a password change).
    encoded = password_hash_for_django(encoded)
    return any(check_password(password, encoded) for password in SEED_PASSWORDS)


def users_with_seed_passwords() -> list[User]:
    """Active users who still log in with one of SEED_PASSWORDS, by email.

    Each test is a full Argon2 (or bcrypt) verification of about 0.1 s, so an inactive
    user (who cannot log in) is skipped, a hash shared by several rows is tested once,
    and the tests run on every core (argon2-cffi and bcrypt release the GIL).
    """
    users = list(User.objects.filter(is_active=True).only("id", "email", "password"))
    hashes = sorted({user.password for user in users})
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        found = pool.map(_is_seed_password, hashes)
        known = {encoded for encoded, seed in zip(hashes, found, strict=True) if seed}
    return sorted((user for user in users if user.password in known), key=lambda user: user.email)


def user_email_exists(*, email: str) -> bool:
    """Whether an account has this email, whatever its case (Node-era rows keep theirs)."""
    return User.objects.filter(email__iexact=email.strip()).exists()
