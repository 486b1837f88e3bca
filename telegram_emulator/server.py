"""The HTTP server: Bot API routes, file downloads and the control API on one aiohttp app."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from typing import Any

import aiohttp
from aiohttp import web

from . import errors, methods, sending  # noqa: F401  (importing registers the methods)
from .control import EmulatorControls
from .control_http import setup_control_routes
from .files import UPLOAD_LIMIT
from .limits import LimitSettings
from .records import Delay, Fault
from .registry import Described, lookup
from .webhook import stop_worker
from .wire import error, ok, read_params

log = logging.getLogger(__name__)


class BotAPIEmulator(EmulatorControls):
    """A Telegram Bot API server on loopback, plus the controls tests drive it with.

    ``await emulator.start()`` serves on ``emulator.base_url``; point aiogram at it with
    ``AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url))``.
    """

    def __init__(
        self,
        tokens: Iterable[str] = (),
        *,
        accept_any_token: bool = False,
        limits_enabled: bool = True,
        limits: LimitSettings | None = None,
        webhook_timeout: float = 10.0,
        webhook_retry_base: float = 0.1,
        webhook_retry_max: float = 5.0,
    ) -> None:
        super().__init__(
            accept_any_token=accept_any_token,
            limits_enabled=limits_enabled,
            limits=limits,
            webhook_timeout=webhook_timeout,
            webhook_retry_base=webhook_retry_base,
            webhook_retry_max=webhook_retry_max,
        )
        for token in tokens:
            self.add_bot(token)
        self._runner: web.AppRunner | None = None
        self._address: tuple[str, int] | None = None

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://host:port`` once started (what TelegramAPIServer.from_base takes)."""
        if self._address is None:
            raise RuntimeError("the emulator is not running; call start() first")
        host, port = self._address
        return f"http://{host}:{port}"

    def make_app(self) -> web.Application:
        # Bots upload up to 50 MB; aiohttp's 1 MB default would refuse them.
        app = web.Application(client_max_size=UPLOAD_LIMIT + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        setup_control_routes(app, self)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 = any free port); return the base URL."""
        if self._runner is not None:
            raise RuntimeError("already started")
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self.stopping = False
        self.http_client = aiohttp.ClientSession()
        runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound = runner.addresses[0]
        self._address = (host, bound[1])
        return self.base_url

    async def stop(self) -> None:
        """Finish long polls, stop webhook workers, close the server."""
        self.stopping = True
        with self.lock:
            bots = list(self.bots.values())
        workers = [b.webhook.task for b in bots if b.webhook is not None and b.webhook.task]
        for bot in bots:
            if bot.webhook is not None:
                stop_worker(bot.webhook)
            self.wake(bot, "stop")
        await asyncio.gather(*workers, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.http_client is not None:
            await self.http_client.close()
            self.http_client = None
        self._address = None
        self._loop = None

    async def __aenter__(self) -> BotAPIEmulator:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- request handling ----------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        delay: Delay | None = None
        try:
            bot = self.authenticate(request.match_info["token"])
            method = lookup(request.match_info["method"])
            if method is None:
                self.count_request(request.match_info["method"])
                raise errors.not_found()
            self.count_request(method.name)
            try:
                params = await read_params(request)
            except web.HTTPRequestEntityTooLarge:
                raise errors.entity_too_large() from None
            delay = self.take_delay(method.name)
            if delay is not None and delay.when == "before":
                await asyncio.sleep(delay.seconds)
            fault = self.take_fault(method.name)
            if fault is not None:
                response = self._fault_response(fault)
            else:
                result: Any = method.handler(self, bot, params)
                if method.is_async:
                    result = await result
                if isinstance(result, Described):
                    response = ok(result.result, result.description)
                else:
                    response = ok(result)
        except errors.BotAPIError as exc:
            self.count_error(exc.error_code)
            response = error(exc)
        except Exception:  # an emulator bug: answer like Telegram's 500 and say where
            log.exception("emulator failed on %s", request.path)
            self.count_error(500)
            response = error(errors.for_status(500))
        if delay is not None and delay.when == "after":
            await asyncio.sleep(delay.seconds)
        return response

    def _fault_response(self, fault: Fault) -> web.Response:
        self.count_error(fault.status)
        if fault.body is not None:
            return web.Response(text=fault.body, status=fault.status, content_type="text/html")
        return error(
            errors.for_status(fault.status, fault.description, retry_after=fault.retry_after)
        )

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        """Serve ``/file/bot<token>/<file_path>`` like Telegram's file server."""
        try:
            self.authenticate(request.match_info["token"])
        except errors.BotAPIError as exc:
            return error(exc)
        with self.lock:
            stored = self.files.by_path.get(request.match_info["path"])
        if stored is None:
            return error(errors.not_found())
        content_type = stored.mime_type or "application/octet-stream"
        if stored.path is None:
            return web.Response(body=stored.data, content_type=content_type)
        response = web.StreamResponse(headers={"Content-Type": content_type})
        response.content_length = stored.size
        await response.prepare(request)
        for chunk in stored.chunks():  # a spooled file: from disk, a chunk at a time
            await response.write(chunk)
        await response.write_eof()
        return response
