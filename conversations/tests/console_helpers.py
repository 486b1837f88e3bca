"""Builders shared by the console tests (no tests of its own)."""

from datetime import timedelta
from itertools import count

from django.utils import timezone

from accounts.models import User
from conversations.models import Chat, Client, Session
from conversations.services.activity import chats_insert

_numbers = count(1000)


def make_session(
    *,
    cs: User | None,
    name: str = "",
    username: str | None = "client",
    status: str = Session.Status.ACTIVE,
    client: Client | None = None,
) -> Session:
    if client is None:
        n = next(_numbers)
        client = Client.objects.create(
            telegram_id=str(n), name=name or f"Client {n}", username=username
        )
    # Opened a day ago, so the messages `add_chat` dates in the past come after it.
    opened = timezone.now() - timedelta(days=1)
    return Session.objects.create(
        client=client,
        cs=cs,
        status=status,
        created_at=opened,
        last_activity_at=opened,
        ended_at=timezone.now() if status == Session.Status.ENDED else None,
    )


def add_chat(
    session: Session,
    text: str = "hello",
    *,
    sender: str = Chat.SenderType.CLIENT,
    minutes_ago: float = 0,
    **fields,
) -> Chat:
    defaults = {"is_read": sender == Chat.SenderType.CS}
    if sender == Chat.SenderType.CS:
        defaults["delivery_status"] = Chat.DeliveryStatus.SENT
    chat = Chat(
        session=session,
        sender_type=sender,
        message=text,
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
        **{**defaults, **fields},
    )
    return chats_insert(chats=[chat])[0]


def go_online(*agents: User) -> None:
    User.objects.filter(pk__in=[a.pk for a in agents]).update(status_online=True)
    for agent in agents:
        agent.status_online = True
