"""The control API over HTTP (``/_emulator/...``) for other processes.

A bot run as a subprocess, a benchmark or a sandbox page cannot call Python methods, so the
same controls are offered as JSON endpoints. Bytes travel base64-encoded in ``*_b64`` keys
(``data_b64`` → ``data``; an album's ``items_b64`` is a list of them). Answers are
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "..."}`` with status 400/404.
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
        "album",
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
        elif key.endswith("_b64") and isinstance(value, list):  # an album's items
            out[key.removesuffix("_b64")] = [base64.b64decode(v, validate=True) for v in value]
        else:
            out[key] = value
    return out


def _int(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    return int(value) if value not in (None, "") else None


def setup_control_routes(app: web.Application, emu: EmulatorControls) -> None:
    """Mount the control endpoints on the emulator's app."""
    _ControlRoutes(emu).mount(app)


class _ControlRoutes:
    """One small handler per control endpoint, over the emulator's Python controls."""

    def __init__(self, emu: EmulatorControls) -> None:
        self.emu = emu

    def inject(self, kind: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        if kind not in INJECT_KINDS:
            raise KeyError(kind)
        if kind == "update":
            return self.emu.inject_update(kwargs["update"], token=kwargs.get("token"))
        return getattr(self.emu, f"inject_{kind}")(**kwargs)

    async def health(self, request: web.Request) -> web.Response:
        return _result({"bots": len(self.emu.list_bots())})

    async def bots(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            body = await _body(request)
            return _result(self.emu.add_bot(body.pop("token"), **body))
        return _result(self.emu.list_bots())

    async def users(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            return _result(self.emu.add_user(**await _body(request)))
        return _result(self.emu.list_users())

    async def groups(self, request: web.Request) -> web.Response:
        return _result(self.emu.add_group(**await _body(request)))

    async def block(self, request: web.Request) -> web.Response:
        user_id = int(request.match_info["user_id"])
        body = await _body(request)
        if request.match_info["action"] == "block":
            self.emu.block_user(user_id, **body)
        else:
            self.emu.unblock_user(user_id, **body)
        return _result(True)

    async def inject_one(self, request: web.Request) -> web.Response:
        return _result(self.inject(request.match_info["kind"], await _body(request)))

    async def inject_batch(self, request: web.Request) -> web.Response:
        """Inject many updates in one request: ``{"items": [{"kind": ..., ...}, ...]}``."""
        body = await request.json()
        items = body["items"] if isinstance(body, dict) else body
        results = []
        for item in items:
            kwargs = _decode_bytes(dict(item))
            results.append(self.inject(kwargs.pop("kind"), kwargs))
        return _result(results)

    async def updates(self, request: web.Request) -> web.Response:
        return _result(self.emu.pending_updates(token=request.query.get("token")))

    async def sent(self, request: web.Request) -> web.Response:
        """List records; ``since_id`` + ``wait`` (seconds) long-polls for new ones."""
        if request.method == "DELETE":
            self.emu.clear_sent()
            return _result(True)
        chat_id, since = _int(request, "chat_id"), _int(request, "since_id") or 0
        method, token = request.query.get("method"), request.query.get("token")
        with_data = request.query.get("with_data") in ("1", "true")
        deadline = time.monotonic() + min(float(request.query.get("wait", 0)), 60)
        while True:
            records = [r for r in self.emu.sent(chat_id, method, token=token) if r.id > since]
            if records or time.monotonic() >= deadline:
                return _result([r.to_json(with_data=with_data) for r in records])
            await asyncio.sleep(0.02)

    async def file_bytes(self, request: web.Request) -> web.Response:
        return web.Response(body=self.emu.file_bytes(request.match_info["file_id"]))

    async def add_file(self, request: web.Request) -> web.Response:
        return _result({"file_id": self.emu.add_file(**await _body(request))})

    async def faults(self, request: web.Request) -> web.Response:
        if request.method == "DELETE":
            self.emu.clear_faults()
            return _result(True)
        self.emu.fail_next(**await _body(request))
        return _result(True)

    async def delays(self, request: web.Request) -> web.Response:
        self.emu.delay(**await _body(request))
        return _result(True)

    async def limits(self, request: web.Request) -> web.Response:
        self.emu.set_limits(**await _body(request))
        return _result(True)

    async def reset(self, request: web.Request) -> web.Response:
        self.emu.reset()
        return _result(True)

    async def stats(self, request: web.Request) -> web.Response:
        return _result(self.emu.stats())

    async def webhook(self, request: web.Request) -> web.Response:
        return _result(self.emu.webhook_info(token=request.query.get("token")))

    def mount(self, app: web.Application) -> None:
        routes: list[tuple[str, str, Route]] = [
            ("GET", "/health", self.health),
            ("*", "/bots", self.bots),
            ("*", "/users", self.users),
            ("POST", "/groups", self.groups),
            ("POST", r"/users/{user_id:-?\d+}/{action:block|unblock}", self.block),
            ("POST", "/inject/batch", self.inject_batch),
            ("POST", "/inject/{kind}", self.inject_one),
            ("GET", "/updates", self.updates),
            ("*", "/sent", self.sent),
            ("GET", "/files/{file_id}", self.file_bytes),
            ("POST", "/files", self.add_file),
            ("*", "/faults", self.faults),
            ("POST", "/delays", self.delays),
            ("POST", "/limits", self.limits),
            ("POST", "/reset", self.reset),
            ("GET", "/stats", self.stats),
            ("GET", "/webhook", self.webhook),
        ]
        for verb, path, handler in routes:
            app.router.add_route(verb, PREFIX + path, _guard(handler))
