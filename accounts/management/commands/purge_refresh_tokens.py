"""Delete expired and revoked refresh tokens; meant for a daily cron job."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from accounts.tokens import refresh_tokens_purge


class Command(BaseCommand):
    help = (
        "Delete refresh tokens that have expired or were revoked. "
        "Run daily, e.g. from cron: python manage.py purge_refresh_tokens --older-than 1"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=0,
            metavar="DAYS",
            help="Keep revoked tokens for this many days (default 0): a replay of one "
            "is then still recognised as reuse and revokes its login chain.",
        )

    def handle(self, *args, older_than: int, **options) -> None:
        if older_than < 0:
            raise CommandError("--older-than must be 0 or more days.")
        deleted = refresh_tokens_purge(revoked_older_than=timedelta(days=older_than))
        self.stdout.write(f"Deleted {deleted} refresh token(s).")
