"""``python -m telegram_emulator --port 8081 --token 123456:TEST``

Serves until SIGINT/SIGTERM. The first line on stdout is the base URL, so a parent
process can read it (useful with ``--port 0``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from .server import BotAPIEmulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m telegram_emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", action="append", default=[], help="bot token (repeatable)")
    parser.add_argument("--username", help="username of the first bot")
    parser.add_argument("--accept-any-token", action="store_true")
    parser.add_argument("--no-limits", action="store_true", help="disable flood limits")
    parser.add_argument(
        "--user", action="append", default=[], metavar="ID:NAME", help="pre-create a user"
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    emulator = BotAPIEmulator(
        accept_any_token=args.accept_any_token, limits_enabled=not args.no_limits
    )
    for index, token in enumerate(args.token):
        emulator.add_bot(token, username=args.username if index == 0 else None)
    for spec in args.user:
        user_id, _, name = spec.partition(":")
        emulator.add_user(int(user_id), name or f"User{user_id}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    base_url = await emulator.start(args.host, args.port)
    print(base_url, flush=True)
    logging.getLogger(__name__).info("Bot API emulator serving at %s", base_url)
    try:
        await stop.wait()
    finally:
        await emulator.stop()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    asyncio.run(serve(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
