from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from conversations.management.database import database_drop_all_tables


class Command(BaseCommand):
    help = (
        "Delete ALL data: drop every table, re-apply migrations and seed again "
        "(npm run db:reset). Asks first; refuses with DEBUG off unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Do not ask for confirmation.",
        )
        parser.add_argument(
            "--force", action="store_true", help="Allow a reset while DEBUG is off."
        )
        parser.add_argument("--skip-seed", action="store_true", help="Leave the database empty.")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, interactive, force, skip_seed, database, verbosity, **options):
        connection = connections[database]
        name = connection.settings_dict["NAME"]
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to reset a database while DEBUG is off (production?). "
                "Pass --force if you really mean to delete all data."
            )
        if interactive and not self._confirmed(name):
            raise CommandError("Reset cancelled; nothing was changed.")

        dropped = database_drop_all_tables(connection)
        self.stdout.write(f"dropped {len(dropped)} table(s) from {name}")
        call_command("migrate", database=database, interactive=False, verbosity=verbosity)
        if not skip_seed:
            call_command("seed", verbosity=verbosity, stdout=self.stdout)

    def _confirmed(self, name) -> bool:
        try:
            answer = input(f"This deletes ALL data in database '{name}'. Type 'yes' to continue: ")
        except EOFError:  # no terminal to ask
            return False
        return answer.strip().lower() == "yes"
