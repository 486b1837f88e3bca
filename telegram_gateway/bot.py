"""The aiogram bot: handlers that parse a Telegram update and call one service.

Handlers send nothing themselves: what the bot says (greeting, queued, ended…) is
stored by the services as notices, in the transaction of what caused it, and the
delivery worker sends them with its retries. Polling (`runbot`) and the webhook
view feed updates into the same dispatcher.
"""

import dataclasses
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, Message
from django.conf import settings

from conversations import services
from conversations.bot_texts import bot_text
from conversations.services import Sender
from telegram_gateway.db import call_service
from telegram_gateway.mapping import incoming_from_message, sender_name
from telegram_gateway.metrics import bot_api_measured
from telegram_gateway.recorder import record_incoming

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = [
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "callback_query",
]


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
    session = AiohttpSession(api=server)
    session.middleware(bot_api_measured)  # latency, 429s, last success (metrics)
    return Bot(token or endpoint.token, session=session)


async def is_private(message: Message) -> bool:
    # An async filter: aiogram runs sync ones (magic F filters too) in a thread per update.
    return message.chat.type == "private"


def _sender(message: Message) -> Sender:
    user = message.from_user
    return Sender(
        telegram_id=str(user.id),
        name=sender_name(message),
        username=user.username,
        language_code=user.language_code or "",
    )


async def on_start(message: Message) -> None:
    # Recorded like any text (once per Telegram message), so the greeting is stored
    # with it and opening the session tells the client who answers, as a first text does.
    incoming = incoming_from_message(message)
    await record_incoming(
        dataclasses.replace(incoming, is_start=True, first_name=message.from_user.first_name)
    )


async def on_end(message: Message) -> None:
    sender = _sender(message)
    if await call_service(services.client_hold_back_if_blocked, sender=sender):
        return  # a blocked client hears only the daily "blocked" notice
    await call_service(services.session_end_for_client, sender=sender)


async def on_message(message: Message) -> None:
    incoming = incoming_from_message(message)
    if incoming is None:
        logger.info(
            "unsupported %s message %s from %s",
            message.content_type,
            message.message_id,
            message.chat.id,
        )
        sender = _sender(message)
        if not await call_service(services.client_hold_back_if_blocked, sender=sender):
            await call_service(services.client_notify, sender=sender, key="unsupported")
        return
    await record_incoming(incoming)  # with the notices it calls for (see the service)


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


async def on_callback_query(query: CallbackQuery) -> None:
    """A press on an inline button: an idle warning's Yes / No, or a survey's 1 to 5.

    The payload is untrusted (see `services.idle_answer`, `services.csat_answer`);
    whatever it is, the press is answered, or the client's Telegram shows a spinner.
    """
    if (query.data or "").startswith("csat:"):
        await on_survey_press(query)
        return
    user = query.from_user
    result = await call_service(
        services.idle_answer,
        data=query.data or "",
        telegram_id=str(user.id),
        message_id=query.message.message_id if query.message else None,
        quote=getattr(query.message, "text", None) or "",
    )
    text = None
    if not result.accepted:
        text = bot_text("idle_expired", result.language_code or user.language_code)
    await _answer_press(query, text)


async def _answer_press(query: CallbackQuery, text: str | None) -> None:
    """Stop the client's spinner; a failed answer (the query expired, a redelivered
    update already answered) is never worth retrying the update for."""
    try:
        await query.answer(text=text)
    except Exception as error:
        logger.info("callback query %s not answered: %r", query.id, error)


async def on_survey_press(query: CallbackQuery) -> None:
    """A press on a satisfaction survey's button: answered, then the survey edited."""
    user = query.from_user
    result = await call_service(
        services.csat_answer,
        data=query.data or "",
        telegram_id=str(user.id),
        message_id=query.message.message_id if query.message else None,
    )
    await _answer_press(query, result.notice or None)
    if result.edit_message_id is None:
        return
    # In the presser's own chat with the bot, where the survey was sent.
    where = {"chat_id": user.id, "message_id": result.edit_message_id}
    try:
        if result.edit_text:  # a new text without a keyboard: the buttons go
            await query.bot.edit_message_text(text=result.edit_text, **where)
        else:
            await query.bot.edit_message_reply_markup(reply_markup=None, **where)
    except Exception as error:  # the rating is stored; a survey left as it was is harmless
        logger.info("survey message %s not edited: %r", result.edit_message_id, error)


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
    private.callback_query.register(on_callback_query)

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
