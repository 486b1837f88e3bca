"""Reads about agents that other apps and the deploy checks share.

`users_with_seed_passwords` also notes the hashes it vetted, so the next start is quick.
"""

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

    Each test is a full Argon2 (or bcrypt) verification of about 0.2 s, so only hashes
    not vetted before are tested (a hash shared by several rows once, on every core:
    argon2-cffi and bcrypt release the GIL), and the clean ones are remembered in
    `password_vetted`. An inactive user cannot log in and is skipped.
    """
    users = list(
        User.objects.filter(is_active=True).only("id", "email", "password", "password_vetted")
    )
    unvetted = sorted({user.password for user in users if user.password != user.password_vetted})
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        found = pool.map(_is_seed_password, unvetted)
        known = {encoded for encoded, seed in zip(unvetted, found, strict=True) if seed}
    for encoded in set(unvetted) - known:
        # Filtered by the hash, so a password changed meanwhile is not marked vetted.
        User.objects.filter(password=encoded).update(password_vetted=encoded)
    return sorted((user for user in users if user.password in known), key=lambda user: user.email)


def user_email_exists(*, email: str) -> bool:
    """Whether an account has this email, whatever its case (Node-era rows keep theirs)."""
    return User.objects.filter(email__iexact=email.strip()).exists()
