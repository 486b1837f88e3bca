"""The spec's default accounts and sample data (its `db:seed`), safe to run twice."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import SEED_ADMIN_PASSWORD, SEED_CS_PASSWORD
from accounts.services import user_create
from conversations.models import Chat, Client, Session
from conversations.services.activity import chats_insert
from conversations.services.measures import assignments_record, first_reply_record

DEFAULT_ACCOUNTS = [
    # (email, name, password, role). The passwords are public: with DEBUG off, processes
    # refuse to start while they still log in (accounts/selectors.py, helpdesk/startup.py).
    ("admin@helpdesk.com", "Admin", SEED_ADMIN_PASSWORD, User.Role.ADMIN),
    ("cs1@helpdesk.com", "CS 1", SEED_CS_PASSWORD, User.Role.CS),
    ("cs2@helpdesk.com", "CS 2", SEED_CS_PASSWORD, User.Role.CS),
    ("cs3@helpdesk.com", "CS 3", SEED_CS_PASSWORD, User.Role.CS),
]

SAMPLE_CLIENTS = [
    # (telegram_id, name, username)
    ("100000001", "John Doe", "johndoe"),
    ("100000002", "Jane Smith", "janesmith"),
    ("100000003", "Bob Wilson", "bobwilson"),
]

SAMPLE_CONVERSATION = [
    (Chat.SenderType.CLIENT, "Hello, I need help with my order."),
    (Chat.SenderType.CS, "Hi John! I'm happy to help. What is your order number?"),
    (Chat.SenderType.CLIENT, "It's #10234. It hasn't arrived yet."),
]


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


@transaction.atomic
def seed_demo_data() -> SeedReport:
    """Create what is missing; leave existing rows (and changed passwords) alone."""
    report = SeedReport()
    users = {}
    for email, name, password, role in DEFAULT_ACCOUNTS:
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = user_create(email=email, name=name, password=password, role=role)
            report.created.append(f"user {email}")
        else:
            report.kept.append(f"user {email}")
        users[email] = user

    clients = {}
    for telegram_id, name, username in SAMPLE_CLIENTS:
        client, created = Client.objects.get_or_create(
            telegram_id=telegram_id, defaults={"name": name, "username": username}
        )
        (report.created if created else report.kept).append(f"client {name}")
        clients[name] = client

    john = clients["John Doe"]
    if john.sessions.exists():
        report.kept.append("sample session")
    else:
        started = timezone.now() - timedelta(minutes=len(SAMPLE_CONVERSATION) + 1)
        session = Session.objects.create(
            client=john, cs=users["cs1@helpdesk.com"], created_at=started, last_activity_at=started
        )
        # Assigned as it opened, the way the allocator does it: reports measure it.
        assignments_record(sessions=[session], at=started)
        chats = [
            Chat(
                session=session,
                sender_type=sender,
                message=text,
                # The last client message is left unread, as an agent would find it.
                is_read=minute < len(SAMPLE_CONVERSATION),
                created_at=started + timedelta(minutes=minute),
            )
            for minute, (sender, text) in enumerate(SAMPLE_CONVERSATION, start=1)
        ]
        chats_insert(chats=chats)
        first_reply = next(c for c in chats if c.sender_type == Chat.SenderType.CS)
        first_reply_record(session_id=session.pk, agent_id=session.cs_id, at=first_reply.created_at)
        report.created.append(f"sample session with {len(SAMPLE_CONVERSATION)} messages")
    return report
