"""The console log every process writes (web, `runbot`, `deliver`): plain or JSON lines.

Operators read it to follow a request or an update, so each line carries the id of
what it is about (a web request, a Telegram update, a reply being delivered); it must
never show the bot token, which Bot API URLs (`/bot<token>/method`) carry and errors
may quote. Imported by settings: nothing here may import models at module level.
"""

import logging
import logging.config
import re
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

from django.conf import settings  # lazy: read when a line is written, not on import
from pythonjsonlogger.json import JsonFormatter

LOG_FORMATS = ("plain", "json")
# What each line may be about; only one of them is usually set.
CONTEXT_KEYS = ("request_id", "update_id", "reply_id")

_log_context: ContextVar[Mapping[str, object]] = ContextVar(
    "log_context", default=MappingProxyType({})
)


@contextmanager
def log_context(**ids: object) -> Iterator[None]:
    """Tag every line logged inside the block (and in tasks and threads it starts)."""
    token = _log_context.set({**_log_context.get(), **ids})
    try:
        yield
    finally:
        _log_context.reset(token)


def log_context_bind(**ids: object) -> None:
    """Tag every later line of the current task; for a task of its own, which ends with it."""
    _log_context.set({**_log_context.get(), **ids})


class ContextFilter(logging.Filter):
    """Copy the ids of the current request/update/reply onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _log_context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class RetriedUpdateFilter(logging.Filter):
    """Drop aiogram's lines about an update that failed on a database outage.

    aiogram logs the update as "not handled" (and, on some paths, the exception with
    its traceback) while the error propagates; our poller and webhook retry that
    update and log one warning saying so. Any other exception keeps aiogram's lines.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        from telegram_gateway.db import TRANSIENT_DATABASE_ERRORS

        # aiogram logs from a `finally` or `except` block: the error is still current.
        return not isinstance(sys.exc_info()[1], TRANSIENT_DATABASE_ERRORS)


REDACTED = "<redacted>"
# A Bot API URL's token (`/bot<token>/getMe`, `/file/bot<token>/path`), ':' maybe quoted,
# and anything shaped like a real token (bot id, ':', a 35-character secret).
_TOKEN_PATTERNS = re.compile(r"(?<=bot)\d+(?::|%3[Aa])[\w-]+|\b\d{6,}(?::|%3[Aa])[\w-]{30,}")


def redact(text: str) -> str:
    """Remove the configured bot token and anything token-shaped from `text`."""
    token = getattr(settings, "TELEGRAM_BOT_TOKEN", "") if settings.configured else ""
    if token:
        text = text.replace(token, REDACTED).replace(token.replace(":", "%3A"), REDACTED)
    return _TOKEN_PATTERNS.sub(REDACTED, text)


class PlainFormatter(logging.Formatter):
    """`time LEVEL logger [id=...]: message`, the ids only when a line has them."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = [f"{key}={getattr(record, key)}" for key in CONTEXT_KEYS if hasattr(record, key)]
        record.ids = f" [{' '.join(ids)}]" if ids else ""
        # Redacted last, whole: message, arguments and traceback alike.
        return redact(super().format(record))


class JsonLineFormatter(JsonFormatter):
    """One JSON object a line: time, level, logger, message, the ids, exc_info."""

    def __init__(self) -> None:
        super().__init__(
            "{levelname}{name}{message}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",  # ISO 8601, UTC
        )

    def format(self, record: logging.LogRecord) -> str:
        record.__dict__.pop("ids", None)  # the plain formatter's, if it saw the record first
        return redact(super().format(record))


def logging_configure(config: dict) -> None:
    """settings.LOGGING_CONFIG: Python's warnings become log lines too, in LOG_FORMAT."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)


def logging_config(*, level: str, log_format: str) -> dict:
    """settings.LOGGING: everything to standard error, in `log_format`, from `level` up."""
    level = level.upper()
    formatter = {"plain": PlainFormatter, "json": JsonLineFormatter}[log_format]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": ContextFilter},
            "retried_update": {"()": RetriedUpdateFilter},
        },
        "formatters": {"console": {"()": formatter}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "console",
                "filters": ["context"],
                "level": level,
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's default config adds its own console handler (with DEBUG on):
            # its lines would come twice, the second time not in LOG_FORMAT.
            "django": {"handlers": [], "level": "INFO"},
            "py.warnings": {"handlers": []},
            "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
            # One INFO line per update ("Update id=... is handled"): thousands a second
            # while a backlog drains. Shown only when asked for everything (DEBUG).
            "aiogram.event": {
                "level": "DEBUG" if level == "DEBUG" else "WARNING",
                "filters": ["retried_update"],
            },
        },
    }


# A request id given by a proxy is kept only when it cannot forge or break a line.
_WELL_FORMED_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:;=+/-]{0,127}")


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name.lower() == b"x-request-id":
            given = value.decode("latin-1")
            if _WELL_FORMED_REQUEST_ID.fullmatch(given):
                return given
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """ASGI: tag each HTTP request's and websocket's lines with its X-Request-ID.

    Taken from the request when well formed (a proxy's), else made up; an HTTP
    response carries it back, so a user's report can be found in the log. At the ASGI
    level, not Django's, so Django's own lines about the response carry it too.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        request_id = request_id_from(scope.get("headers", []))
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                kept = [h for h in message.get("headers", []) if h[0].lower() != header[0]]
                message = {**message, "headers": [*kept, header]}
            await send(message)

        with log_context(request_id=request_id):
            return await self.app(scope, receive, send_with_id)
