"""The one boundary where replies become Bot API calls, and Bot API errors become ours."""

import asyncio
import enum
import posixpath
from collections.abc import AsyncGenerator, Awaitable, Callable

import aiohttp
from aiogram import Bot, methods
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    ReplyParameters,
)
from django.core.files.storage import Storage

from conversations.services import Delivery
from conversations.services.files import chat_file_storage
from telegram_gateway.pacing import SendPacer

# Every Bot API method the gateway calls (bot.py, delivery.py, files.py, this module,
# the runbot and setwebhook commands).
METHODS_CALLED = (
    methods.AnswerCallbackQuery,
    methods.DeleteWebhook,
    methods.EditMessageReplyMarkup,
    methods.EditMessageText,
    methods.GetFile,
    methods.GetMe,
    methods.GetWebhookInfo,
    methods.SendChatAction,
    methods.SendDocument,
    methods.SendMessage,
    methods.SendPhoto,
    methods.SendVideo,
    methods.SetWebhook,
)
_answer_models: list[type] = []

TEXT_LIMIT = 4096  # UTF-16 code units, as Telegram counts
CAPTION_LIMIT = 1024
PHOTO_LIMIT_BYTES = 10 * 2**20  # larger images go as documents


def bot_answer_models_prepare() -> None:
    """Build, at start, the models aiogram reads the Bot API's answers with, and keep them.

    aiogram reads each answer as `Response[<the method's result type>]`; pydantic builds
    that class the first time it is asked for (about 70 ms each, holding the GIL) and
    keeps it only while something else refers to it. Built on first use, the first
    replies and notices of a burst stalled the bot's loop for every message in flight.
    """
    _answer_models[:] = [methods.Response[method.__returning__] for method in METHODS_CALLED]


class TransportError(Exception):
    """A send Telegram did not accept: `permanent` ones are not retried.

    `client_unreachable`: Telegram will refuse every send to this client (a 403: it
    blocked the bot or its account is gone) until the client writes again.
    """

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        client_unreachable: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason, self.permanent, self.retry_after = reason, permanent, retry_after
        self.client_unreachable = client_unreachable


class FatalBotAPIError(Exception):
    """Telegram refuses polling for good (bad token, webhook set): retrying cannot help."""


class RetryableBotAPIError(Exception):
    """A getUpdates that failed for now (5xx, an HTML error page, flood control)."""

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FileProblem(enum.Enum):
    """Why Telegram did not give us a client's file."""

    TOO_BIG = "too big"  # over the 20 MB bots may download: final
    EXPIRED = "expired"  # Telegram no longer has it: final
    UNAVAILABLE = "unavailable"  # 5xx, network, flood control…: try again later


def classify(error: Exception) -> TransportError:
    """Turn what a send raised into a TransportError that says whether to retry."""
    if isinstance(error, TelegramRetryAfter):
        return TransportError(
            "Telegram asked to slow down", permanent=False, retry_after=error.retry_after
        )
    if isinstance(error, TelegramForbiddenError):
        return TransportError(
            f"Telegram refused: the client blocked the bot or left ({error.message})",
            permanent=True,
            client_unreachable=True,
        )
    if isinstance(error, TelegramEntityTooLarge):
        return TransportError("Telegram refused: the file is too large", permanent=True)
    if isinstance(error, TelegramBadRequest):
        return TransportError(f"Telegram refused the message: {error.message}", permanent=True)
    if isinstance(error, TelegramServerError | TelegramNetworkError | TelegramUnauthorizedError):
        return TransportError(f"Telegram unavailable: {error}", permanent=False)
    if isinstance(error, TelegramAPIError):
        return TransportError(f"Telegram error: {error.message}", permanent=True)
    if isinstance(error, FileNotFoundError):
        return TransportError("The stored file is missing", permanent=True)
    return TransportError(f"Could not reach Telegram: {error}", permanent=False)


def classify_polling_answer(status: int, body: object) -> Exception:
    """Turn a getUpdates answer that was not `ok` (raw: polling reads it itself) into ours.

    `body` is the decoded JSON, or None when the answer was not JSON (a proxy's HTML 502).
    """
    if not isinstance(body, dict):
        return RetryableBotAPIError(f"HTTP {status}, not JSON")
    code, description = body.get("error_code"), body.get("description", "")
    if code in (401, 404):
        return FatalBotAPIError(f"Telegram rejected the bot token: {description}")
    if code == 409:
        return FatalBotAPIError(
            f"{description} (run `manage.py setwebhook --delete` to poll instead)"
        )
    parameters = body.get("parameters")
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    return RetryableBotAPIError(f"{code} {description}", retry_after=retry_after)


def classify_file_error(error: Exception) -> FileProblem:
    """Turn a failed getFile (aiogram) or file download (aiohttp) into a FileProblem."""
    if isinstance(error, TelegramBadRequest | TelegramNotFound):
        return FileProblem.TOO_BIG if "too big" in error.message.lower() else FileProblem.EXPIRED
    if isinstance(error, aiohttp.ClientResponseError) and error.status in (400, 404):
        return FileProblem.EXPIRED
    return FileProblem.UNAVAILABLE


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _prefix_within(text: str, budget: int) -> int:
    """Characters of `text` that fit in `budget` UTF-16 units (never halving a pair)."""
    used = 0
    for index, character in enumerate(text):
        used += 2 if ord(character) > 0xFFFF else 1
        if used > budget:
            return index
    return len(text)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split on paragraph, then line, then word boundaries into parts of at most `limit`."""
    parts = []
    while utf16_len(text) > limit:
        window = text[: _prefix_within(text, limit)]
        for separator in ("\n\n", "\n", " "):
            # A separator right after the window is a boundary too.
            cut = text.rfind(separator, 0, len(window) + len(separator))
            if cut > 0:
                parts.append(window[:cut].rstrip())
                text = text[cut + len(separator) :].lstrip("\n ")
                break
        else:
            parts.append(window)
            text = text[len(window) :]
    if text.strip():
        parts.append(text)
    return parts


def _steps(delivery: Delivery) -> list[tuple[str, str]]:
    """The Bot API calls a reply takes: ("file", caption) and/or ("text", part)..."""
    text = delivery.text
    if not delivery.stored_file:
        return [("text", part) for part in split_text(text)]
    if utf16_len(text) <= CAPTION_LIMIT:
        return [("file", text)]
    # A caption over 1,024 goes as its own text after the file.
    return [("file", ""), *(("text", part) for part in split_text(text))]


def _reply_parameters(delivery: Delivery) -> ReplyParameters | None:
    """Answer the client's message as a Telegram reply; sent anyway if it was deleted."""
    if delivery.reply_to_message_id is None:
        return None
    return ReplyParameters(
        message_id=delivery.reply_to_message_id, allow_sending_without_reply=True
    )


class StoredInputFile(InputFile):
    """A stored file for upload, read from its storage (local or object) while it is sent.

    Chunk by chunk in a worker thread: neither the event loop nor memory holds it whole.
    Each send (a retry too) reads it afresh.
    """

    def __init__(self, storage: Storage, name: str, filename: str | None = None) -> None:
        super().__init__(filename=filename or posixpath.basename(name))
        self.storage, self.name = storage, name

    async def read(self, bot: Bot) -> AsyncGenerator[bytes, None]:
        handle = await asyncio.to_thread(self.storage.open, self.name, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, self.chunk_size):
                yield chunk
        finally:
            handle.close()


async def _send_file(
    bot: Bot, delivery: Delivery, caption: str, reply: ReplyParameters | None = None
) -> Message:
    storage, name = chat_file_storage(), delivery.stored_file
    size = await asyncio.to_thread(storage.size, name)  # FileNotFoundError: gone
    upload = StoredInputFile(storage, name, filename=delivery.file_name or None)
    kind = delivery.content_type
    caption = caption or None
    chat_id = delivery.telegram_chat_id
    if (
        kind.startswith("image/")
        and kind not in ("image/gif", "image/svg+xml")
        and (size <= PHOTO_LIMIT_BYTES)
    ):
        return await bot.send_photo(chat_id, upload, caption=caption, reply_parameters=reply)
    if kind == "video/mp4":
        return await bot.send_video(chat_id, upload, caption=caption, reply_parameters=reply)
    return await bot.send_document(chat_id, upload, caption=caption, reply_parameters=reply)


def _keyboard(delivery: Delivery) -> InlineKeyboardMarkup | None:
    if not delivery.buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data) for text, data in delivery.buttons]
        ]
    )


def _file_id(message: Message) -> str:
    if message.photo:
        return message.photo[-1].file_id
    media = message.video or message.document
    return media.file_id if media else ""


async def send_delivery(
    bot: Bot,
    delivery: Delivery,
    pacer: SendPacer,
    on_part: Callable[[int, int], Awaitable[None]],
) -> tuple[int, str]:
    """Send what is left of a reply; return (first message id, Telegram file id).

    `on_part(parts_sent, message_id)` runs after each accepted part but the last, so a
    retry resumes where Telegram stopped accepting.
    """
    steps = _steps(delivery)
    first_id, file_id = 0, ""
    for number, (kind, content) in enumerate(steps, start=1):
        if number <= delivery.parts_sent:
            continue
        await pacer.wait_turn(delivery.telegram_chat_id)
        # Only the first part answers: the rest follow it as the reply's continuation.
        reply = _reply_parameters(delivery) if number == 1 else None
        try:
            if kind == "file":
                message = await _send_file(bot, delivery, content, reply)
                file_id = _file_id(message)
            else:
                message = await bot.send_message(
                    delivery.telegram_chat_id,
                    content,
                    reply_parameters=reply,
                    # The buttons go under the last part, where the question ends.
                    reply_markup=_keyboard(delivery) if number == len(steps) else None,
                )
        except Exception as error:
            raise classify(error) from error
        first_id = first_id or message.message_id
        if number < len(steps):
            await on_part(number, message.message_id)
    return first_id, file_id
