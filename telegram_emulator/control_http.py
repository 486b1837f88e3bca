"""The control API over HTTP (``/_emulator/...``) for other processes.

A bot run as a subprocess, a benchmark or a sandbox page cannot call Python methods, so the
same controls are offered as JSON endpoints. Bytes travel base64-encoded in ``*_b64`` keys
(``data_b64`` → ``data``). Answers are ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": "..."}`` with status 400/404.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .control import EmulatorControls

PREFIX = "/_emulator"
INJECT_KINDS = frozenset(
    {
        "message",
        "group_message",
        "photo",
        "document",
        "video",
        "animation",
        "voice",
        "audio",
        "sticker",
        "location",
        "contact",
        "poll",
        "dice",
        "edit",
        "callback_query",
        "update",
    }
)
Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _result(value: Any) -> web.Response:
    return web.json_response({"ok": True, "result": value})


def _guard(handler: Route) -> Route:
    """Turn bad control input into a 400/404 JSON answer instead of a 500."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except KeyError as exc:
            return web.json_response({"ok": False, "error": f"not found: {exc}"}, status=404)
        except (ValueError, TypeError, binascii.Error) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)

    return guarded


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    body = await request.json()
    if not isinstance(body, dict):
        raise ValueError("the JSON body must be an object")
    return _decode_bytes(body)


def _decode_bytes(body: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in body.items():
        if key.endswith("_b64") and isinstance(value, str):
            out[key.removesuffix("_b64")] = base64.b64decode(value, validate=True)
        else:
            out[key] = value
    return out


def _int(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    return int(value) if value not in (None, "") else None


def setup_control_routes(app: web.Application, emu: EmulatorControls) -> None:
    """Mount the control endpoints on the emulator's app."""

    def inject(kind: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        if kind not in INJECT_KINDS:
            raise KeyError(kind)
        if kind == "update":
            return emu.inject_update(kwargs["update"], token=kwargs.get("token"))
        return getattr(emu, f"inject_{kind}")(**kwargs)

    async def health(request: web.Request) -> web.Response:
        return _result({"bots": len(emu.list_bots())})

    async def bots(request: web.Request) -> web.Response:
        if request.method == "POST":
            body = await _body(request)
            return _result(emu.add_bot(body.pop("token"), **body))
        return _result(emu.list_bots())

    async def users(request: web.Request) -> web.Response:
        if request.method == "POST":
            return _result(emu.add_user(**await _body(request)))
        return _result(emu.list_users())

    async def groups(request: web.Request) -> web.Response:
        return _result(emu.add_group(**await _body(request)))

    async def block(request: web.Request) -> web.Response:
        user_id = int(request.match_info["user_id"])
        body = await _body(request)
        if request.match_info["action"] == "block":
            emu.block_user(user_id, **body)
        else:
            emu.unblock_user(user_id, **body)
        return _result(True)

    async def inject_one(request: web.Request) -> web.Response:
        return _result(inject(request.match_info["kind"], await _body(request)))

    async def inject_batch(request: web.Request) -> web.Response:
        """Inject many updates in one request: ``{"items": [{"kind": ..., ...}, ...]}``."""
        body = await request.json()
        items = body["items"] if isinstance(body, dict) else body
        results = []
        for item in items:
            kwargs = _decode_bytes(dict(item))
            results.append(inject(kwargs.pop("kind"), kwargs))
        return _result(results)

    async def updates(request: web.Request) -> web.Response:
        return _result(emu.pending_updates(token=request.query.get("token")))

    async def sent(request: web.Request) -> web.Response:
        """List records; ``since_id`` + ``wait`` (seconds) long-polls for new ones."""
        if request.method == "DELETE":
            emu.clear_sent()
            return _result(True)
        chat_id, since = _int(request, "chat_id"), _int(request, "since_id") or 0
        method, token = request.query.get("method"), request.query.get("token")
        with_data = request.query.get("with_data") in ("1", "true")
        deadline = time.monotonic() + min(float(request.query.get("wait", 0)), 60)
        while True:
            records = [r for r in emu.sent(chat_id, method, token=token) if r.id > since]
            if records or time.monotonic() >= deadline:
                return _result([r.to_json(with_data=with_data) for r in records])
            await asyncio.sleep(0.02)

    async def file_bytes(request: web.Request) -> web.Response:
        return web.Response(body=emu.file_bytes(request.match_info["file_id"]))

    async def add_file(request: web.Request) -> web.Response:
        return _result({"file_id": emu.add_file(**await _body(request))})

    async def faults(request: web.Request) -> web.Response:
        if request.method == "DELETE":
            emu.clear_faults()
            return _result(True)
        emu.fail_next(**await _body(request))
        return _result(True)

    async def delays(request: web.Request) -> web.Response:
        emu.delay(**await _body(request))
        return _result(True)

    async def limits(request: web.Request) -> web.Response:
        emu.set_limits(**await _body(request))
        return _result(True)

    async def reset(request: web.Request) -> web.Response:
        emu.reset()
        return _result(True)

    async def stats(request: web.Request) -> web.Response:
        return _result(emu.stats())

    async def webhook(request: web.Request) -> web.Response:
        return _result(emu.webhook_info(token=request.query.get("token")))

    routes: list[tuple[str, str, Route]] = [
        ("GET", "/health", health),
        ("*", "/bots", bots),
        ("*", "/users", users),
        ("POST", "/groups", groups),
        ("POST", r"/users/{user_id:-?\d+}/{action:block|unblock}", block),
        ("POST", "/inject/batch", inject_batch),
        ("POST", "/inject/{kind}", inject_one),
        ("GET", "/updates", updates),
        ("*", "/sent", sent),
        ("GET", "/files/{file_id}", file_bytes),
        ("POST", "/files", add_file),
        ("*", "/faults", faults),
        ("POST", "/delays", delays),
        ("POST", "/limits", limits),
        ("POST", "/reset", reset),
        ("GET", "/stats", stats),
        ("GET", "/webhook", webhook),
    ]
    for verb, path, handler in routes:
        app.router.add_route(verb, PREFIX + path, _guard(handler))
