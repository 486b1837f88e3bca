from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from conversations.services import agent_presence_set


class Command(BaseCommand):
    help = (
        "Set an agent online or offline. Going online assigns waiting sessions to "
        "the agent, oldest first."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        state = parser.add_mutually_exclusive_group(required=True)
        state.add_argument("--online", action="store_true")
        state.add_argument("--offline", action="store_true")

    def handle(self, *args, email, online, offline, **options):
        agent = User.objects.filter(email__iexact=email, role=User.Role.CS).first()
        if agent is None:
            raise CommandError(f"No CS agent with email {email}.")
        assigned = agent_presence_set(agent=agent, online=online)
        self.stdout.write(
            f"{agent.email} is {'online' if online else 'offline'}; "
            f"{len(assigned)} waiting session(s) assigned."
        )
