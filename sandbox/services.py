"""What the sandbox does: create clients (rate-limited), write as them, press the bot's buttons."""

import math
import time
from collections import deque

from django.core.files.uploadedfile import UploadedFile

from sandbox.playground import Playground
from sandbox.selectors import sandbox_client_id_highest_stored, sandbox_message_buttons

# Client ids are the time in milliseconds times 1000, counted up within a millisecond, and
# always above the highest one stored: a restart (even with the clock set back) never
# hands out an earlier run's id, so a new client never meets an old client's history,
# and the emulator's message ids, which count per chat, never meet old chats' ids.
# 16 digits until the year 2112: within Telegram's 52-bit user ids and JavaScript's
# exact integers, and far above the ids Telegram gives real users today.
SANDBOX_ID_FLOOR = 10**15
CREATION_WINDOW = 60.0  # seconds
CREATIONS_PER_SESSION = 10  # per window: a person trying the desk needs a few
CREATIONS_PER_USER = 30  # per window, over all of one user's browser sessions


class SandboxRateLimited(Exception):
    """Too many clients created lately; `retry_after` seconds until the next is allowed."""

    def __init__(self, *, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


def sandbox_client_create(
    *,
    playground: Playground,
    session_key: str,
    user_id: int,
    first_name: str,
    last_name: str | None = None,
    username: str | None = None,
    language_code: str = "en",
) -> dict:
    """Add a Telegram user to the emulator under a never-used id; returns the user."""
    _creation_allow(playground, {f"session:{session_key}": CREATIONS_PER_SESSION,
                                 f"user:{user_id}": CREATIONS_PER_USER})  # fmt: skip
    client_id = _client_id_next(playground)
    user = playground.emulator.add_user(client_id, first_name, last_name, username, language_code)
    with playground.lock:
        playground.client_log[client_id] = []
    return user


def sandbox_client_write(
    *, playground: Playground, client_id: int, text: str, file: UploadedFile | None = None
) -> dict:
    """Queue a message from the client for the bot; a file is handed over as a file object
    (the emulator copies it in chunks), never read whole here. Returns the update."""
    emulator = playground.emulator
    if file is None:
        update = emulator.inject_message(client_id, text)
    else:
        update = _inject_file(playground, client_id, text, file)
    with playground.lock:
        playground.client_log[client_id].append(
            {
                "from": "client",
                "text": text,
                "file": file.name if file is not None else "",
                "at": time.monotonic(),  # the clock the emulator stamps sends with
            }
        )
    return update


class SandboxPressRefused(Exception):
    """The press names no current button of a bot message in the client's chat."""


def sandbox_client_press(
    *, playground: Playground, client_id: int, message_id: int, data: str
) -> dict:
    """Press an inline button of a bot message as the client; returns the callback_query update.

    The page names the button by its callback data, so only data that is one of the
    message's buttons now (after the bot's edits) is accepted: the sandbox presses buttons,
    it never sends the bot a payload of the page's making. Raises SandboxPressRefused.
    """
    emulator = playground.emulator
    message = emulator.message(client_id, message_id)
    if message is None:
        raise SandboxPressRefused
    current = {button["data"] for row in sandbox_message_buttons(message) for button in row}
    if data not in current:
        raise SandboxPressRefused
    try:
        return emulator.inject_callback_query(client_id, message_id, data)
    except ValueError as gone:  # deleted by the bot between the check and the press
        raise SandboxPressRefused from gone


def _inject_file(playground: Playground, client_id: int, text: str, file: UploadedFile) -> dict:
    emulator, caption, kind = playground.emulator, text or None, file.content_type or ""
    file.seek(0)
    if kind.startswith("image/"):
        return emulator.inject_photo(client_id, file, caption=caption)
    if kind.startswith("video/"):
        return emulator.inject_video(client_id, file, caption=caption, filename=file.name)
    return emulator.inject_document(
        client_id, file, filename=file.name, mime_type=kind or None, caption=caption
    )


def _client_id_next(playground: Playground) -> int:
    stored = 0 if playground.last_client_id else sandbox_client_id_highest_stored()
    with playground.lock:
        now_based = max(SANDBOX_ID_FLOOR, int(time.time() * 1000) * 1000)
        playground.last_client_id = max(now_based, playground.last_client_id + 1, stored + 1)
        return playground.last_client_id


def _creation_allow(playground: Playground, limits: dict[str, int]) -> None:
    """Count one creation against every key, or raise if any key is at its limit."""
    now = time.monotonic()
    with playground.lock:
        windows = {key: playground.creations.setdefault(key, deque()) for key in limits}
        for window in windows.values():
            while window and window[0] <= now - CREATION_WINDOW:
                window.popleft()
        waits = [
            window[0] + CREATION_WINDOW - now
            for key, window in windows.items()
            if len(window) >= limits[key]
        ]
        if waits:
            raise SandboxRateLimited(retry_after=max(1, math.ceil(max(waits))))
        for window in windows.values():
            window.append(now)
