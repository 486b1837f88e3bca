"""The aiogram bot: handlers that parse a Telegram update, call one service, and reply.

Polling (`runbot`) and the webhook view feed updates into the same dispatcher.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandStart
from aiogram.types import Message
from django.conf import settings

from conversations import selectors, services
from telegram_gateway.db import call_service
from telegram_gateway.mapping import incoming_from_message
from telegram_gateway.pacing import pacer
from telegram_gateway.recorder import record_incoming
from telegram_gateway.texts import bot_text

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "channel_post", "edited_channel_post"]


@dataclass(frozen=True)
class BotEndpoint:
    """Which Bot API server the bot calls (Telegram, a local server, the emulator), as whom."""

    api_base: str
    token: str


# Set only by `serve` for its sandbox: the emulator it started in this process.
_process_endpoint: BotEndpoint | None = None


def bot_endpoint() -> BotEndpoint:
    """This process's endpoint: the sandbox's when `serve` started one, else the settings'."""
    return _process_endpoint or BotEndpoint(settings.TELEGRAM_API_BASE, settings.TELEGRAM_BOT_TOKEN)


def bot_endpoint_use(endpoint: BotEndpoint | None) -> None:
    """Point this process's web views (files, webhook) at `endpoint`; None: the settings."""
    global _process_endpoint
    _process_endpoint = endpoint


def build_bot(token: str | None = None, api_base: str | None = None) -> Bot:
    """Return a bot for the given endpoint, by default this process's (`bot_endpoint`)."""
    endpoint = bot_endpoint()
    server = TelegramAPIServer.from_base(api_base or endpoint.api_base)
    return Bot(token or endpoint.token, session=AiohttpSession(api=server))


# Notices on their way: held here so the loop keeps them alive until sent.
_notices: set[asyncio.Task] = set()


def reply(message: Message, key: str, **values: object) -> None:
    """Send the client a notice in the background, paced with every other send.

    The update is already handled: waiting for a pacing slot (30/s for the whole bot)
    must not hold up storing the messages behind it.
    """
    text = bot_text(key, message.from_user.language_code, **values)
    task = asyncio.create_task(_send_notice(message, key, text))
    _notices.add(task)
    task.add_done_callback(_notices.discard)


async def _send_notice(message: Message, key: str, text: str) -> None:
    await pacer().wait_turn(message.chat.id)
    try:
        await message.answer(text)
    except TelegramAPIError as error:
        # A failed notice is logged, never a reason to process the update again.
        logger.warning("could not send %r to chat %s: %s", key, message.chat.id, error)


def notices_pending() -> set[asyncio.Task]:
    return set(_notices)


async def notices_finish(timeout: float, *, except_: set[asyncio.Task] = frozenset()) -> None:
    """Give notices still waiting for their slot a chance to go (before shutdown, or
    before a webhook request ends: under WSGI its event loop ends with it)."""
    pending = _notices - except_
    if pending:
        await asyncio.wait(pending, timeout=timeout)


async def is_private(message: Message) -> bool:
    # An async filter: aiogram runs sync ones (magic F filters too) in a thread per update.
    return message.chat.type == "private"


async def on_start(message: Message) -> None:
    reply(message, "greeting", name=message.from_user.first_name)


async def on_end(message: Message) -> None:
    ended = await call_service(
        services.session_end_for_client, telegram_id=str(message.from_user.id)
    )
    reply(message, "ended" if ended else "nothing_to_end")


async def on_message(message: Message) -> None:
    incoming = incoming_from_message(message)
    if incoming is None:
        logger.info(
            "unsupported %s message %s from %s",
            message.content_type,
            message.message_id,
            message.chat.id,
        )
        reply(message, "unsupported")
        return
    recorded = await record_incoming(incoming)
    if not (recorded.created and recorded.session_opened):
        return
    if recorded.session.cs_id:
        reply(message, "connected")
    else:
        position = await call_service(selectors.queue_position, session=recorded.session)
        reply(message, "queued", position=position)


async def on_edit(message: Message) -> None:
    incoming = incoming_from_message(message)
    if incoming is None:
        return
    await call_service(
        services.chat_edit_incoming,
        telegram_id=incoming.telegram_id,
        telegram_message_id=incoming.telegram_message_id,
        text=incoming.text,
        edited_at=datetime.fromtimestamp(message.edit_date, UTC) if message.edit_date else None,
    )


async def on_not_private(message: Message) -> None:
    # The help desk serves one person at a time; groups and channels are not conversations.
    logger.info(
        "ignored %s message from %s chat %s",
        message.content_type,
        message.chat.type,
        message.chat.id,
    )


def build_dispatcher() -> Dispatcher:
    """Return a dispatcher with fresh routers (an aiogram router joins one dispatcher only)."""
    private = Router(name="private chats")
    private.message.filter(is_private)
    private.edited_message.filter(is_private)
    private.message.register(on_start, CommandStart())
    private.message.register(on_end, Command("end"))
    private.message.register(on_message)
    private.edited_message.register(on_edit)

    others = Router(name="groups and channels")
    for observer in (
        others.message,
        others.edited_message,
        others.channel_post,
        others.edited_channel_post,
    ):
        observer.register(on_not_private)

    dispatcher = Dispatcher(disable_fsm=True)  # no conversation state kept in the bot
    dispatcher.include_routers(private, others)
    return dispatcher
