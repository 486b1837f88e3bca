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
    """What the client wrote, what the bot sent them and the bot's answers to presses
    (toasts), oldest first. A bot message shows as it is now: after the bot's edits, with
    its current inline buttons; a deleted one is gone, as in Telegram."""
    emulator = playground.emulator
    shown = []
    for record in emulator.sent(chat_id=client_id):
        method = record.method.lower()
        if method == "answercallbackquery":
            if record.text:
                shown.append({"from": "toast", "text": record.text, "at": record.timestamp})
            continue
        if record.message is None or method.startswith("edit"):
            continue  # chat actions, deletions; an edit shows on the message it changed
        message = emulator.message(client_id, record.message_id)
        if message is None:
            continue
        shown.append(
            {
                "from": "bot",
                "id": record.message_id,
                "text": message.get("text") or message.get("caption") or "",
                "file": ", ".join(f.filename or "file" for f in record.files),
                "buttons": sandbox_message_buttons(message),
                "at": record.timestamp,
            }
        )
    with playground.lock:
        written = list(playground.client_log.get(client_id, ()))
    return sorted(written + shown, key=lambda message: message["at"])


def sandbox_message_buttons(message: dict) -> list[list[dict]]:
    """The rows of a bot message's current inline buttons that send a press to the bot
    (label and callback data); links and the like are left out."""
    if not (message.get("from") or {}).get("is_bot"):
        return []
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    buttons = (
        [
            {"text": str(button.get("text", "")), "data": button["callback_data"]}
            for button in row
            if isinstance(button, dict) and isinstance(button.get("callback_data"), str)
        ]
        for row in rows
        if isinstance(row, list)
    )
    return [row for row in buttons if row]
