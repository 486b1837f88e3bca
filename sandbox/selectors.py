"""What the sandbox reads: its clients, their transcripts, and the ids already stored."""

from collections.abc import Collection

from django.db.models.functions import Length

from conversations.models import Client
from sandbox.playground import Playground

# Sandbox clients get ids of 16 digits (see services.SANDBOX_ID_FLOOR); Telegram's own
# user ids are far shorter today, so the longest such id stored is the sandbox's highest.
SANDBOX_ID_DIGITS = 16


def sandbox_client_id_highest_stored() -> int:
    """The highest sandbox client id in the database (0 if none), from any earlier run."""
    highest = (
        Client.objects.alias(digits=Length("telegram_id"))
        .filter(digits=SANDBOX_ID_DIGITS)
        .order_by("-telegram_id")
        .values_list("telegram_id", flat=True)
        .first()
    )
    return int(highest) if highest and highest.isdigit() else 0


def sandbox_client_owned(*, playground: Playground, owned: Collection[int], client_id: int) -> bool:
    """Whether `client_id` is one of this run's clients and belongs to the asker."""
    return client_id in owned and client_id in playground.client_log


def sandbox_client_list(*, playground: Playground, owned: Collection[int]) -> list[dict]:
    """The asker's clients of this run (ids from an earlier run are simply not there)."""
    return [
        user
        for user in playground.emulator.list_users()
        if sandbox_client_owned(playground=playground, owned=owned, client_id=user["id"])
    ]


def sandbox_transcript(*, playground: Playground, client_id: int) -> list[dict]:
    """What the client wrote and what the bot sent them, oldest first."""
    bot_messages = [
        {
            "from": "bot",
            "text": record.text or record.caption or "",
            "file": ", ".join(f.filename or "file" for f in record.files),
            "at": record.timestamp,
        }
        for record in playground.emulator.sent(chat_id=client_id)
        if record.method.lower() != "sendchataction"
    ]
    with playground.lock:
        written = list(playground.client_log.get(client_id, ()))
    return sorted(written + bot_messages, key=lambda message: message["at"])
