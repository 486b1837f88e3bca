from django.core.management.base import BaseCommand

from conversations.seed import seed_demo_data


class Command(BaseCommand):
    help = (
        "Create the default accounts (admin@helpdesk.com, cs1-3@helpdesk.com) and sample "
        "clients with one active session (npm run db:seed). Running it again adds nothing."
    )

    def handle(self, *args, **options):
        report = seed_demo_data()
        for item in report.created:
            self.stdout.write(f"created {item}")
        if report.kept:
            self.stdout.write(f"already there: {len(report.kept)} item(s), left unchanged")
        self.stdout.write(self.style.SUCCESS("Seed complete."))
