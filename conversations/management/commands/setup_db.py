from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections

from conversations.management.database import database_create_if_missing


class Command(BaseCommand):
    help = (
        "Create the database if missing (utf8mb4 on MySQL/MariaDB) and apply migrations; "
        "with DEBUG on, also seed the default accounts and sample data (npm run db:setup)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, database, verbosity, **options):
        connection = connections[database]
        if database_create_if_missing(connection):
            self.stdout.write(f"created database {connection.settings_dict['NAME']}")
        call_command("migrate", database=database, interactive=False, verbosity=verbosity)
        if settings.DEBUG:
            call_command("seed", verbosity=verbosity, stdout=self.stdout)
            return
        # The sample accounts' passwords are in the README: never in a production database.
        self.stdout.write(
            "DEBUG is off: no sample accounts or data. Create the first admin with "
            "`python manage.py createadmin --email you@example.com`."
        )
