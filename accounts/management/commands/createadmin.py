import getpass
import os
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.selectors import user_email_exists
from accounts.services import user_create_admin, user_password_validate

PASSWORD_VARIABLE = "ADMIN_PASSWORD"  # noqa: S105 (the variable's name, not a password)


class Command(BaseCommand):
    stealth_options = ("stdin",)
    help = (
        "Create an ADMIN account, such as a production database's first. The password "
        f"comes from {PASSWORD_VARIABLE} or, without it, is asked twice; Django's password "
        "validators apply."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="The admin's login email.")
        parser.add_argument("--name", default="Admin", help="Display name (default: Admin).")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help=f"Never ask: take the password from {PASSWORD_VARIABLE} or fail.",
        )

    def handle(self, *args, email, name, interactive, **options):
        if user_email_exists(email=email):
            raise CommandError(f"A user with the email {email} already exists.")
        password = os.environ.get(PASSWORD_VARIABLE)
        if password is None:
            stdin = options.get("stdin") or sys.stdin
            if not interactive or not stdin.isatty():
                raise CommandError(
                    f"No password: set {PASSWORD_VARIABLE}, or run this in a terminal to be asked."
                )
            try:
                password = self._ask_password(User(email=email.strip().lower(), name=name))
            except (KeyboardInterrupt, EOFError):
                raise CommandError("Cancelled: no admin created.") from None
        try:
            admin = user_create_admin(email=email, name=name, password=password)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(self.style.SUCCESS(f"Created the admin {admin.email}."))

    def _ask_password(self, user: User) -> str:
        """Ask until two entries match and pass the validators; Ctrl-C gives up."""
        while True:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                self.stderr.write("The passwords differ; try again.")
                continue
            try:
                user_password_validate(password=password, user=user)
            except ValidationError as error:
                self.stderr.write(" ".join(error.messages))
                continue
            return password
