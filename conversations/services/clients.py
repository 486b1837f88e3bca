"""The people writing to the bot: created on first sight, locked before any work on them."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from conversations.models import Client


class ClientDetails(Protocol):
    """What Telegram tells about the sender of an update (an `IncomingMessage` or a `Sender`)."""

    name: str
    username: str | None
    language_code: str


@dataclass(frozen=True)
class Sender:
    """The sender of an update that stores no message of theirs (/end, a poll…)."""

    telegram_id: str
    name: str
    username: str | None = None
    language_code: str = ""


def clients_create_missing(*, senders: Mapping[str, ClientDetails]) -> None:
    """Create the clients among `senders` (by Telegram id) that do not exist yet.

    Runs in its own statement, outside the caller's transaction: a duplicate-key
    insert inside one keeps a shared lock on the row, and two such transactions
    then deadlock on `select_for_update`. INSERT IGNORE lets a concurrent creator win.
    """
    known = set(
        Client.objects.filter(telegram_id__in=senders).values_list("telegram_id", flat=True)
    )
    missing = [
        Client(
            telegram_id=telegram_id,
            name=sender.name,
            username=sender.username,
            language_code=sender.language_code,
        )
        for telegram_id, sender in senders.items()
        if telegram_id not in known
    ]
    if missing:
        Client.objects.bulk_create(missing, ignore_conflicts=True)


def clients_lock(*, senders: Mapping[str, ClientDetails]) -> dict[str, Client]:
    """Lock the senders' client rows (in id order) and bring names and languages up to date.

    The row lock serialises all work on one client: it is what keeps a client to
    one ACTIVE session and its messages stored once. Call inside a transaction,
    after `clients_create_missing`.
    """
    clients = {
        client.telegram_id: client
        for client in Client.objects.select_for_update()
        .filter(telegram_id__in=senders)
        .order_by("id")
    }
    renamed = []
    for telegram_id, client in clients.items():
        sender = senders[telegram_id]
        language_code = sender.language_code or client.language_code
        if (client.name, client.username, client.language_code) != (
            sender.name,
            sender.username,
            language_code,
        ):
            client.name, client.username = sender.name, sender.username
            client.language_code = language_code
            renamed.append(client)
    if renamed:
        Client.objects.bulk_update(renamed, ["name", "username", "language_code"])
    return clients
