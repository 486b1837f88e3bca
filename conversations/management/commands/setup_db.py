from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections

from conversations.management.database import database_create_if_missing
from conversations.services.measures import measures_backfill


class Command(BaseCommand):
    help = (
        "Create the database if missing (utf8mb4 on MySQL/MariaDB) and apply migrations; "
        "with DEBUG on, also seed the default accounts and sample data (npm run db:setup); "
        "then fill the reports' measures of older sessions (backfill_measures)."
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
        else:
            # The sample accounts' passwords are in the README: never in a production database.
            self.stdout.write(
                "DEBUG is off: no sample accounts or data. Create the first admin with "
                "`python manage.py createadmin --email you@example.com`."
            )
        # A database the Node version wrote (or the sample session) gets the reports'
        # measures; on a database already filled this finds nothing and says nothing.
        filled = measures_backfill(using=database)
        if filled.sessions:
            self.stdout.write(
                f"backfill_measures: filled {filled.sessions} session(s) written before "
                "the reports' measures were stored."
            )
