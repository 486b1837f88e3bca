from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from conversations.services.measures import measures_backfill


class Command(BaseCommand):
    help = (
        "Fill the reports' measures of sessions written before they were stored (the Node "
        "version's): first assignment at creation, one assignment to the session's agent and "
        "its first reply. Sessions that have an assignment are left alone: running it again "
        "changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="sessions per transaction (1000)"
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, batch_size, database, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        filled = measures_backfill(batch_size=batch_size, using=database)
        self.stdout.write(
            f"filled {filled.sessions} session(s): {filled.first_assigned} first assignment(s) "
            f"dated at creation, {filled.first_replies} first reply(ies) found."
        )
