"""Delete cached copies of clients' Telegram files; meant for a daily cron job."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from conversations.services.files import chat_file_cache_prune


class Command(BaseCommand):
    help = (
        "Delete the cached copies of clients' files in chats older than DAYS; the file "
        "view fetches them from Telegram again when asked. Agents' uploads are never "
        "deleted. E.g. from cron: python manage.py prune_files --older-than 30"
    )

    def add_arguments(self, parser) -> None:
        # Required: a default would make a bare run delete more than meant.
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would go; delete nothing."
        )

    def handle(self, *args, older_than: int, dry_run: bool, **options) -> None:
        if older_than < 0:
            raise CommandError("--older-than must be 0 or more days.")
        pruned = chat_file_cache_prune(older_than=timedelta(days=older_than), dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {pruned.files} cached file(s), {pruned.bytes} bytes "
            f"({pruned.bytes / 2**20:.1f} MiB)."
        )
