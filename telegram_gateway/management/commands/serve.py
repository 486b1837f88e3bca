"""One process for everything: the web app (daphne: HTTP and websockets) and the bot.

Without TELEGRAM_BOT_TOKEN it is a sandbox: the Bot API emulator runs in the same
event loop, the bot talks to it, and /sandbox/ lets a person play Telegram clients.
One process also means the in-memory channel layer reaches every page.
"""

from daphne.server import Server  # isort:skip  (installs Twisted's asyncio reactor first)

import asyncio
import logging

from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from twisted.internet import defer, reactor

from telegram_gateway.bot import BotEndpoint, bot_endpoint, bot_endpoint_use, build_bot
from telegram_gateway.management.bot_process import bot_run
from telegram_gateway.transport import FatalBotAPIError

logger = logging.getLogger("telegram_gateway.serve")

# What daphne's own --proxy-headers sets.
PROXY_HEADERS = {
    "proxy_forwarded_address_header": "X-Forwarded-For",
    "proxy_forwarded_port_header": "X-Forwarded-Port",
    "proxy_forwarded_proto_header": "X-Forwarded-Proto",
}


class Command(BaseCommand):
    help = (
        "Serve the web app and run the bot in one process. Without TELEGRAM_BOT_TOKEN, "
        "runs a sandbox (Bot API emulator + /sandbox/ page) instead of Telegram."
    )

    def add_arguments(self, parser):
        parser.add_argument("address", nargs="?", default="127.0.0.1:8000", help="host:port")
        parser.add_argument(
            "--proxy-headers",
            action="store_true",
            help="behind nginx: take the client's address and scheme from X-Forwarded-For "
            "and X-Forwarded-Proto, as daphne --proxy-headers (only when the proxy alone "
            "can reach this port)",
        )

    def handle(self, *args, address, proxy_headers, **options):
        host, _, port = address.rpartition(":")
        if not port.isdigit():
            raise CommandError(f"Give the address as host:port, not {address!r}.")
        try:
            # Importing the app runs its start-up refusals (helpdesk/startup.py).
            from helpdesk.asgi import application
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None

        self.stop = None
        self.bot_task = None
        server = Server(
            application,
            endpoints=[f"tcp:port={port}:interface={host or '127.0.0.1'}"],
            ready_callable=self._start_bot,
            # Else every client has the proxy's address, and one client's failed logins
            # lock everyone out (the login throttle counts per address).
            **(PROXY_HEADERS if proxy_headers else {}),
        )
        self.stdout.write(f"Serving http://{host or '127.0.0.1'}:{port}/")
        server.run()

    def _start_bot(self) -> None:
        loop = asyncio.get_event_loop()  # the reactor's loop, not running yet
        self.stop = asyncio.Event()
        self.bot_task = loop.create_task(self._run_bot())
        reactor.addSystemEventTrigger(
            "before", "shutdown", lambda: defer.Deferred.fromFuture(loop.create_task(self._stop()))
        )

    async def _stop(self) -> None:
        self.stop.set()
        await asyncio.wait([self.bot_task], timeout=10)

    async def _run_bot(self) -> None:
        endpoint, sandbox = bot_endpoint(), None
        if not endpoint.token and not settings.SANDBOX:
            logger.warning(
                "no bot: TELEGRAM_BOT_TOKEN is empty and SANDBOX is off, so only the web app "
                "runs (set the token, or SANDBOX=true to play clients at /sandbox/)"
            )
            return
        if not endpoint.token:
            # Imported only here: nothing else in the gateway knows the emulator.
            from sandbox.playground import Sandbox

            sandbox = await Sandbox.start()
            endpoint = BotEndpoint(sandbox.base_url, sandbox.token)
            bot_endpoint_use(endpoint)  # the file view fetches clients' files from it
            logger.warning("SANDBOX: no TELEGRAM_BOT_TOKEN, so clients are played at /sandbox/")
        bot = build_bot(endpoint.token, endpoint.api_base)
        try:
            await bot_run(bot, stop=self.stop, poll_timeout=settings.TELEGRAM_POLL_TIMEOUT)
        except (TelegramAPIError, TelegramNetworkError, FatalBotAPIError) as error:
            # The web app keeps serving; the console shows what agents can still do.
            logger.error("the bot could not run: %s", error)
        finally:
            await bot.session.close()
            if sandbox is not None:
                bot_endpoint_use(None)
                await sandbox.stop()
