"""The Bot API wire format: reading parameters from any encoding, writing JSON answers.

Telegram accepts the same parameters from a query string, a urlencoded or multipart form,
or a JSON body. Form values are strings, with non-string values JSON-encoded (aiogram sends
``reply_markup`` that way), so typed accessors here decode as Telegram does.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField

from . import errors


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    data: bytes
    filename: str | None
    content_type: str | None


class Params:
    """Request parameters with Telegram's lenient typing."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload]) -> None:
        self.values = values
        self.uploads = uploads

    def __contains__(self, name: str) -> bool:
        return name in self.values or name in self.uploads

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def string(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return int(value)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise errors.bad_request(f"invalid {name} specified") from None

    def number(self, name: str, default: float | None = None) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise errors.bad_request(f"invalid {name} specified") from None

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("true", "1", "yes", "on")

    def json(self, name: str) -> Any:
        """Decode a JSON-encoded form value; typed JSON bodies pass through."""
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise errors.bad_request(f"can't parse {name} JSON object") from None

    def input_file(self, name: str) -> Upload | str | None:
        """Return an upload (direct or ``attach://``), or a file_id/URL string."""
        if name in self.uploads:
            return self.uploads[name]
        value = self.values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = self.uploads.get(value.removeprefix("attach://"))
            if upload is None:
                raise errors.bad_request(f"file {value!r} not found in the request")
            return upload
        if value is None or value == "":
            return None
        return value if isinstance(value, str) else None

    def scalars(self) -> dict[str, Any]:
        """Parameters for the sent record: JSON values decoded, uploads named."""
        out: dict[str, Any] = {}
        for key, value in self.values.items():
            if isinstance(value, str) and value[:1] in ("{", "["):
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            out[key] = value
        attached = {v.removeprefix("attach://") for v in out.values() if isinstance(v, str)}
        for key, upload in self.uploads.items():
            if key not in attached:  # a file sent directly as the parameter's value
                out[key] = f"<upload {upload.filename or key}>"
        return out


async def read_params(request: web.Request) -> Params:
    """Collect parameters from the query string and whichever body encoding was used."""
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.method == "POST" and request.can_read_body:
        content_type = request.content_type
        if content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise errors.bad_request("can't parse JSON request body") from None
            if not isinstance(body, dict):
                raise errors.bad_request("JSON request body must be an object")
            values.update(body)
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, FileField):
                    uploads[key] = Upload(value.file.read(), value.filename, value.content_type)
                else:
                    values[key] = value
    return Params(values, uploads)


def ok(result: Any, description: str | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return web.json_response(body)


def error(exc: errors.BotAPIError) -> web.Response:
    return web.json_response(exc.payload(), status=exc.error_code)
