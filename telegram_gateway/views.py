"""Web endpoints of the bot: Telegram's webhook, and clients' files for agents.

The webhook: Telegram POSTs updates here when `setwebhook` registered it.
Files: the app's own `/files/<chat id>/<name>` address, so no page needs the bot token.
"""

import asyncio
import contextlib
import json
import logging
import mimetypes
import os
import re
import secrets
import tempfile
from collections.abc import AsyncIterator
from functools import cache
from typing import IO
from urllib.parse import unquote

from aiogram import Dispatcher
from aiogram.types import Update
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.files import File
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from pydantic import ValidationError

from conversations.models import Chat
from conversations.selectors import chat_get_for_agent
from conversations.services.files import chat_file_cache
from helpdesk.logs import log_context
from helpdesk.metrics import telegram_updates_received
from telegram_gateway.bot import bot_endpoint, build_bot, build_dispatcher
from telegram_gateway.db import TRANSIENT_DATABASE_ERRORS
from telegram_gateway.files import FileFetchError, telegram_file_download
from telegram_gateway.loops import PerEventLoop
from telegram_gateway.watch import transport_seen_write

logger = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


# One bot per event loop: its HTTP session cannot cross loops (daphne has one; WSGI many).
runtime_bot = PerEventLoop(build_bot)


@cache
def webhook_dispatcher() -> Dispatcher:
    return build_dispatcher()


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"ok": False, "error": message}, status=status)


@csrf_exempt  # Telegram cannot send a CSRF token; the secret header authenticates it.
@require_POST
async def telegram_webhook(request: HttpRequest) -> JsonResponse:
    expected = settings.TELEGRAM_WEBHOOK_SECRET
    given = request.headers.get(SECRET_HEADER, "")
    # Checked before anything touches the database or parses the body.
    if not expected or not secrets.compare_digest(given.encode(), expected.encode()):
        return _error(403, "wrong or missing secret token")
    if not bot_endpoint().token:
        return _error(503, "TELEGRAM_BOT_TOKEN is not configured")
    bot, dispatcher = runtime_bot(), webhook_dispatcher()
    try:
        update = Update.model_validate(json.loads(request.body), context={"bot": bot})
    # RecursionError: JSON nested a few thousand deep (json recurses once per level).
    except (ValueError, ValidationError, RecursionError) as error:
        logger.error("malformed webhook update refused: %s", error)
        return _error(400, "malformed update")
    telegram_updates_received("webhook")
    with log_context(update_id=update.update_id):
        try:
            await dispatcher.feed_update(bot, update)
        except TRANSIENT_DATABASE_ERRORS as error:
            # Not stored: a non-2xx answer makes Telegram deliver the update again later.
            logger.warning("database unavailable for update %s: %s", update.update_id, error)
            return _error(503, "temporarily unavailable, retry later")
        except Exception:
            # Redelivering would fail the same way and hold up every later update.
            logger.exception("update %s failed and was skipped", update.update_id)
    with contextlib.suppress(*TRANSIENT_DATABASE_ERRORS):
        await transport_seen_write()  # for the transport panel, a few times a minute
    return JsonResponse({"ok": True})


NO_FILE = "No such file."
# Like NO_FILE, for a media element rather than a person (Range comes from players).
NO_RANGE = "The requested range is not in the file."
INLINE_KINDS = (Chat.MessageType.IMAGE, Chat.MessageType.VIDEO)
BROWSER_CACHE_SECONDS = 3600  # a chat's file never changes
# A download from Telegram stays in memory up to this size, beyond it in a temporary file.
DOWNLOAD_SPOOL_BYTES = 2 * 2**20


def _text(status: int, message: str) -> HttpResponse:
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _file_name(chat: Chat) -> str:
    """The file's own name (kept quoted at the end of `file_url`), for the browser."""
    if chat.file_url:
        return unquote(chat.file_url.rsplit("/", 1)[-1]) or "file"
    return os.path.basename(chat.local_file.name) or "file"


async def _chunks(
    handle: IO[bytes], start: int = 0, length: int | None = None, size: int = 256 * 1024
) -> AsyncIterator[bytes]:
    """Read off the event loop, chunk by chunk: given a sync iterator, Django's ASGI
    handler would read the whole file into memory before sending a byte.

    From `start`, and at most `length` bytes when given (one byte range of the file).
    """
    if start:
        await asyncio.to_thread(handle.seek, start)
    remaining = length
    while remaining is None or remaining > 0:
        want = size if remaining is None else min(size, remaining)
        chunk = await asyncio.to_thread(handle.read, want)
        if not chunk:
            return
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk


class RangeNotSatisfiable(Exception):
    """The Range header asks for bytes the file does not have (answered with 416)."""


# One range only ("bytes=a-b", "bytes=a-", "bytes=-n"); the unit is case-insensitive.
_BYTE_RANGE = re.compile(r"bytes=(\d*)-(\d*)", re.ASCII | re.IGNORECASE)


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The first and last byte (inclusive) a `Range` header asks of a `size`-byte file.

    None means "send the whole file": no header, a malformed one, or several ranges
    (RFC 9110 lets a server ignore Range; browsers seeking a video ask for one range).
    Raises RangeNotSatisfiable when the range starts past the end.
    """
    match = _BYTE_RANGE.fullmatch(header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    try:
        if not first:  # the last n bytes
            suffix = int(last)
            if suffix == 0 or size == 0:
                raise RangeNotSatisfiable
            return max(size - suffix, 0), size - 1
        start = int(first)
        end = int(last) if last else None
    except ValueError:  # more digits than int() takes
        return None
    if end is not None and end < start:
        return None  # invalid, so ignored
    if start >= size:
        raise RangeNotSatisfiable
    return start, size - 1 if end is None else min(end, size - 1)


def _file_response(
    request: HttpRequest, handle: IO[bytes], size: int, chat: Chat, name: str
) -> HttpResponseBase:
    """The open file (at its start) as the response: whole (200), or the one byte range
    asked (206). Blocking (FileResponse seeks the file): run it in a thread."""
    # Without validators of ours, an If-Range cannot be checked: send the whole file.
    header = "" if "If-Range" in request.headers else request.headers.get("Range", "")
    try:
        wanted = byte_range(header, size)
    except RangeNotSatisfiable:
        handle.close()
        response = _text(416, NO_RANGE)
        response["Content-Range"] = f"bytes */{size}"
        return response
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    # Inline so the console can show it in <img>/<video>; never SVG, which can run script.
    inline = (
        chat.message_type in INLINE_KINDS
        and content_type.startswith(("image/", "video/"))
        and content_type != "image/svg+xml"
    )
    response = FileResponse(handle, content_type=content_type)  # sets Content-Length
    # FileResponse still closes `handle`.
    if wanted is None:
        response.streaming_content = _chunks(handle)
    else:  # only the slice is read from storage
        start, end = wanted
        response.streaming_content = _chunks(handle, start, end - start + 1)
        response.status_code = 206
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    # The whole name, quoted (FileResponse would keep only what follows a "/").
    response["Content-Disposition"] = content_disposition_header(not inline, name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    patch_cache_control(response, private=True, max_age=BROWSER_CACHE_SECONDS)
    return response


def _open_stored(file: FieldFile) -> tuple[IO[bytes], int]:
    """Open a chat's stored file through its storage; blocking, so run in a thread."""
    size = file.storage.size(file.name)
    return file.storage.open(file.name, "rb"), size


async def _fetch_from_telegram(chat: Chat, name: str) -> tuple[IO[bytes], int]:
    """Download the chat's file, and keep a copy in storage when TELEGRAM_FILE_CACHE is on.

    The response is served from the download itself, which lives as long as it reads.
    """
    if not bot_endpoint().token:
        raise FileFetchError("Telegram is not configured.", 503)
    # Closed by the response that serves it, or here when the download fails.
    download = tempfile.SpooledTemporaryFile(max_size=DOWNLOAD_SPOOL_BYTES)  # noqa: SIM115
    try:
        await telegram_file_download(runtime_bot(), chat.telegram_file_id, download)
        size = download.tell()
        if settings.TELEGRAM_FILE_CACHE:
            try:
                await sync_to_async(chat_file_cache)(
                    chat_id=chat.pk, file_name=name, content=File(download)
                )
            except Exception:  # storage or database down: the agent still gets the file
                logger.exception("could not keep a copy of chat %s's file", chat.pk)
        await asyncio.to_thread(download.seek, 0)
    except BaseException:
        download.close()
        raise
    return download, size


@require_http_methods(["GET", "HEAD"])
async def chat_file(request: HttpRequest, chat_id: str, name: str) -> HttpResponseBase:
    """A chat's file, for its assigned CS and admins; `name` is cosmetic, the chat decides.

    Served from storage when we hold it (an agent's upload or a cached copy), else
    fetched from Telegram by the stored file id.
    """
    user = await request.auser()
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        chat = await sync_to_async(chat_get_for_agent)(user=user, chat_id=chat_id)
    except Chat.DoesNotExist:
        return _text(404, NO_FILE)  # alike for a missing chat and another agent's
    name = _file_name(chat)
    if chat.local_file:
        try:
            handle, size = await asyncio.to_thread(_open_stored, chat.local_file)
        except FileNotFoundError:  # a lost cached copy can be fetched again
            logger.warning("stored file of chat %s is missing: %s", chat.pk, chat.local_file.name)
        else:
            return await asyncio.to_thread(_file_response, request, handle, size, chat, name)
    if not chat.telegram_file_id:
        return _text(404, NO_FILE)
    try:
        handle, size = await _fetch_from_telegram(chat, name)
    except FileFetchError as error:
        return _text(error.status, error.message)
    return await asyncio.to_thread(_file_response, request, handle, size, chat, name)
