"""Bot API errors with Telegram's own codes and wording.

Clients (aiogram included) classify failures by ``error_code`` and by the description text,
so every error the emulator serves is built here, worded exactly as Telegram words it.
"""

from __future__ import annotations

from typing import Any


class BotAPIError(Exception):
    """An unsuccessful Bot API answer: HTTP status == ``error_code``."""

    def __init__(
        self, error_code: int, description: str, *, retry_after: int | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        """Return the JSON body Telegram sends for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> BotAPIError:
    return BotAPIError(400, f"Bad Request: {reason}")


def unauthorized() -> BotAPIError:
    return BotAPIError(401, "Unauthorized")


def forbidden(reason: str) -> BotAPIError:
    return BotAPIError(403, f"Forbidden: {reason}")


def not_found() -> BotAPIError:
    return BotAPIError(404, "Not Found")


def conflict(reason: str) -> BotAPIError:
    return BotAPIError(409, f"Conflict: {reason}")


def too_many_requests(retry_after: int) -> BotAPIError:
    retry_after = max(1, int(retry_after))
    return BotAPIError(
        429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
    )


def entity_too_large() -> BotAPIError:
    return BotAPIError(413, "Request Entity Too Large")


# Default descriptions for injected faults, as Telegram's front end words them.
STATUS_DESCRIPTIONS: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def for_status(
    status: int, description: str | None = None, *, retry_after: int | None = None
) -> BotAPIError:
    """Build an arbitrary error, e.g. for fault injection."""
    if status == 429:
        error = too_many_requests(retry_after or 1)
        if description:
            error.description = description
        return error
    return BotAPIError(
        status,
        description or STATUS_DESCRIPTIONS.get(status, f"Error {status}"),
        retry_after=retry_after,
    )
