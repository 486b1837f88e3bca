"""Fetching a client's file from Telegram: getFile, then a streamed download capped at 20 MB.

The download URL (`/file/bot<token>/<path>`) holds the bot token, and aiohttp's errors
quote it: callers only ever see our own wording, and what is logged goes through `redact`.
"""

import logging
from contextlib import aclosing
from typing import IO
from urllib.parse import quote

import aiohttp
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from telegram_gateway.transport import FileProblem, classify_file_error

logger = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 20 * 2**20  # what Telegram lets bots download through getFile
DOWNLOAD_TIMEOUT = 120  # seconds for the whole download

TOO_BIG = "Telegram does not let bots download files over 20 MB."
EXPIRED = "Telegram no longer has this file (it may have expired)."
UNAVAILABLE = "Telegram is unavailable; try again."


class FileFetchError(Exception):
    """Telegram could not give us the file; `message` is safe to show, `status` to answer."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message, self.status = message, status

    @classmethod
    def of(cls, problem: FileProblem) -> "FileFetchError":
        return cls(*ANSWERS[problem])


ANSWERS = {
    FileProblem.TOO_BIG: (TOO_BIG, 502),
    FileProblem.EXPIRED: (EXPIRED, 502),
    FileProblem.UNAVAILABLE: (UNAVAILABLE, 503),
}


def redact(text: str, token: str) -> str:
    """Replace the bot token (plain or URL-quoted) with "<token>"."""
    if not token:
        return text
    return text.replace(token, "<token>").replace(quote(token, safe=""), "<token>")


async def telegram_file_download(
    bot: Bot, file_id: str, out: IO[bytes], max_bytes: int = MAX_DOWNLOAD_BYTES
) -> None:
    """Resolve `file_id` with getFile and stream its bytes into `out`.

    Nothing is written when getFile fails. On FileFetchError part of the file may have
    been written: the caller discards `out` (nothing is stored until it is complete).
    """
    try:
        file = await bot.get_file(file_id)
    except TelegramAPIError as error:  # a refusal, or 5xx, network, flood control…
        problem = classify_file_error(error)
        logger.warning(
            "getFile for file %s failed (%s): %s",
            file_id,
            problem.value,
            redact(str(error), bot.token),
        )
        raise FileFetchError.of(problem) from None
    if not file.file_path:
        raise FileFetchError.of(FileProblem.EXPIRED)
    if file.file_size and file.file_size > max_bytes:
        raise FileFetchError.of(FileProblem.TOO_BIG)
    await _stream_to(bot, file.file_path, out, max_bytes)


async def _stream_to(bot: Bot, file_path: str, out: IO[bytes], limit: int) -> None:
    """GET the file in chunks through aiogram's session, never holding it all in memory."""
    url = bot.session.api.file_url(bot.token, file_path)
    received = 0
    try:
        chunks = bot.session.stream_content(url=url, timeout=DOWNLOAD_TIMEOUT)
        async with aclosing(chunks):
            async for chunk in chunks:
                received += len(chunk)
                if received > limit:  # getFile's size may be missing or wrong
                    raise FileFetchError.of(FileProblem.TOO_BIG)
                out.write(chunk)
    except aiohttp.ClientResponseError as error:
        logger.warning("download of %s failed: HTTP %s", file_path, error.status)
        raise FileFetchError.of(classify_file_error(error)) from None
    except (aiohttp.ClientError, TimeoutError) as error:
        logger.warning(
            "download of %s failed: %s",
            file_path,
            redact(f"{type(error).__name__}: {error}", bot.token),
        )
        raise FileFetchError.of(classify_file_error(error)) from None
