"""Methods by which a bot acts on a chat: send*, edit*, delete, copy/forward, chat actions.

Every send goes the same way as on Telegram: resolve the chat (400 chat not found),
validate content (empty/too long/markup), then refuse blocked users (403), then apply the
flood limits (429), and only then assign a message_id and record what was sent.
"""

from __future__ import annotations

import os
import random
from typing import Any
from urllib.parse import urlparse

from . import errors
from .core import EmulatorCore
from .files import PHOTO_UPLOAD_LIMIT, UPLOAD_LIMIT, StoredFile
from .media import KIND_NAMES, make_photo, media_json
from .records import BotRecord, SentFile, SentRecord, compact
from .registry import api_method
from .textparse import format_text, utf16_len
from .wire import Params, Upload

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
CONTENT_KEYS = (
    "text",
    "entities",
    "caption",
    "caption_entities",
    "photo",
    "document",
    "video",
    "audio",
    "voice",
    "animation",
    "sticker",
    "video_note",
    "location",
    "contact",
    "dice",
    "poll",
)
MEDIA_METHODS = {
    "sendPhoto": "photo",
    "sendDocument": "document",
    "sendVideo": "video",
    "sendAudio": "audio",
    "sendVoice": "voice",
    "sendAnimation": "animation",
    "sendSticker": "sticker",
    "sendVideoNote": "video_note",
}


# --- validation helpers ------------------------------------------------------------------


def formatted_text(p: Params, field: str = "text") -> tuple[Any, str | None, Any]:
    """Return (raw, plain, entities) of ``text`` or ``caption``, enforcing Telegram's limits."""
    is_text = field == "text"
    entities_field, limit = (
        ("entities", TEXT_LIMIT) if is_text else ("caption_entities", CAPTION_LIMIT)
    )
    raw = p.string(field)
    if raw is None or raw == "":
        return None, None, None
    entities = p.json(entities_field)
    plain, parsed = format_text(raw, p.string("parse_mode"), entities)
    if utf16_len(plain) > limit:
        raise errors.bad_request(
            "message is too long" if is_text else "message caption is too long"
        )
    return raw, plain, parsed or None


def reply_markup(p: Params) -> dict[str, Any] | None:
    markup = p.json("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise errors.bad_request("object expected as reply markup")
    keyboard = markup.get("inline_keyboard")
    if keyboard is not None:
        if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
            raise errors.bad_request("can't parse inline keyboard button: InlineKeyboardButton")
        for button in (b for row in keyboard for b in row):
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise errors.bad_request(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            if not any(key in button for key in INLINE_ACTIONS):
                raise errors.bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the "
                    "inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
                raise errors.bad_request("BUTTON_DATA_INVALID")
    elif not any(k in markup for k in ("keyboard", "remove_keyboard", "force_reply")):
        raise errors.bad_request("object expected as reply markup")
    return markup


def reply_target(
    emu: EmulatorCore, bot: BotRecord, p: Params, chat_id: int
) -> dict[str, Any] | None:
    """Find the message being replied to (reply_parameters or reply_to_message_id)."""
    params = p.json("reply_parameters")
    if not isinstance(params, dict):
        params = {}
    message_id = params.get("message_id", p.integer("reply_to_message_id"))
    if message_id is None:
        return None
    target_chat = emu.resolve_chat(params["chat_id"])[0] if params.get("chat_id") else chat_id
    try:
        found = emu.find_message(bot, target_chat, int(message_id))
    except (TypeError, ValueError):
        found = None
    allow = params.get("allow_sending_without_reply") or p.flag("allow_sending_without_reply")
    if found is None and not allow:
        raise errors.bad_request("message to be replied not found")
    if found is None:
        return None
    return {k: v for k, v in found.items() if k != "reply_to_message"}


def commit(
    emu: EmulatorCore,
    bot: BotRecord,
    p: Params,
    method: str,
    chat_id: int,
    chat: dict[str, Any],
    content: dict[str, Any],
    *,
    text: str | None = None,
    caption: str | None = None,
    files: tuple[SentFile, ...] = (),
) -> dict[str, Any]:
    """Apply block and flood checks, then create, store and record the bot's message."""
    reply_to = reply_target(emu, bot, p, chat_id)
    markup = reply_markup(p)
    with emu.lock:
        emu.check_not_blocked(chat_id)
        emu.check_flood(bot, chat_id)
        message = compact(
            {
                "message_id": bot.next_message_id(chat_id),
                "from": bot.as_user(),
                "chat": chat,
                "date": emu.now(),
                "message_thread_id": p.integer("message_thread_id"),
                "reply_to_message": reply_to,
                **content,
                "has_protected_content": True if p.flag("protect_content") else None,
                "reply_markup": markup if markup and "inline_keyboard" in markup else None,
            }
        )
        emu.store_message(bot, message)
        emu.record(
            SentRecord(
                method=method,
                bot_id=bot.id,
                chat_id=chat_id,
                timestamp=emu.monotonic(),
                message_id=message["message_id"],
                text=text,
                caption=caption,
                parse_mode=p.string("parse_mode"),
                files=files,
                params=p.scalars(),
                message=message,
            )
        )
    return message


# --- text ----------------------------------------------------------------------------------


@api_method("sendMessage")
def send_message(emu: EmulatorCore, bot: BotRecord, p: Params) -> dict[str, Any]:
    chat_id, chat = emu.resolve_chat(p.raw("chat_id"))
    raw, plain, entities = formatted_text(p)
    if plain is None or not plain.strip():
        raise errors.bad_request("message text is empty")
    content = {"text": plain, "entities": entities}
    return commit(emu, bot, p, "sendMessage", chat_id, chat, content, text=raw)


# --- media ---------------------------------------------------------------------------------


def resolve_media(
    emu: EmulatorCore, p: Params, kind: str, field: str
) -> tuple[Any, SentFile] | None:
    """Turn an upload, file_id or URL into the message field value plus a SentFile."""
    value = p.input_file(field)
    if value is None:
        return None
    attrs = {
        key: p.integer(key)
        for key in ("width", "height", "duration", "length")
        if p.integer(key) is not None
    }
    attrs.update({k: p.string(k) for k in ("performer", "title", "emoji") if p.string(k)})
    with emu.lock:
        if isinstance(value, Upload):
            if not value.data:
                raise errors.bad_request("file must be non-empty")
            limit = PHOTO_UPLOAD_LIMIT if kind == "photo" else UPLOAD_LIMIT
            if len(value.data) > limit:
                raise errors.entity_too_large()
            if kind == "photo":
                result: Any = make_photo(emu.files, value.data)
                file_id = result[-1]["file_id"]
            else:
                stored = emu.files.add(
                    kind, value.data, filename=value.filename, mime_type=_mime(value)
                )
                result, file_id = media_json(kind, stored, **attrs), stored.file_id
            sent = SentFile(field, file_id, value.data, value.filename, value.content_type)
            return result, sent
        if urlparse(value).scheme in ("http", "https"):
            name = os.path.basename(urlparse(value).path) or None
            stored = emu.files.add(kind, b"", filename=name, url=value)
            if kind == "photo":
                stored.extra["json"] = [_size_json(stored, *_url_photo_size())]
            else:
                media_json(kind, stored, **attrs)
            sent = SentFile(field, stored.file_id, None, name, None, source="url")
            return stored.extra["json"], sent
        stored = emu.files.get(value)
        if stored is None:
            raise errors.bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise errors.bad_request(
                f"can't use file of type {KIND_NAMES.get(stored.kind, stored.kind)} as "
                f"{KIND_NAMES[kind]}"
            )
        sent = SentFile(
            field, stored.file_id, stored.read(), stored.filename, stored.mime_type, "file_id"
        )
        return stored.extra.get("json") or media_json(kind, stored, **attrs), sent


def _mime(upload: Upload) -> str | None:
    if upload.content_type and upload.content_type != "application/octet-stream":
        return upload.content_type
    return None


def _url_photo_size() -> tuple[int, int]:
    return 800, 600


def _size_json(stored: StoredFile, width: int, height: int) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "width": width,
        "height": height,
    }


def _media_sender(method: str, kind: str) -> None:
    def send_media(emu: EmulatorCore, bot: BotRecord, p: Params) -> dict[str, Any]:
        chat_id, chat = emu.resolve_chat(p.raw("chat_id"))
        caption_raw, caption, caption_entities = formatted_text(p, "caption")
        media = resolve_media(emu, p, kind, kind)
        if media is None:
            raise errors.bad_request(f"there is no {kind} in the request")
        value, sent = media
        content: dict[str, Any] = {kind: value}
        if kind not in ("sticker", "video_note"):
            content.update(caption=caption, caption_entities=caption_entities)
        if p.flag("has_spoiler"):
            content["has_media_spoiler"] = True
        return commit(
            emu, bot, p, method, chat_id, chat, content, caption=caption_raw, files=(sent,)
        )

    send_media.__name__ = f"send_{kind}"
    api_method(method)(send_media)


for _method, _kind in MEDIA_METHODS.items():
    _media_sender(_method, _kind)


# --- other content -------------------------------------------------------------------------


@api_method("sendLocation")
def send_location(emu: EmulatorCore, bot: BotRecord, p: Params) -> dict[str, Any]:
    chat_id, chat = emu.resolve_chat(p.raw("chat_id"))
    latitude, longitude = p.number("latitude"), p.number("longitude")
    if latitude is None or not -90 <= latitude <= 90:
        raise errors.bad_request("wrong latitude specified")
    if longitude is None or not -180 <= longitude <= 180:
        raise errors.bad_request("wrong longitude specified")
    content = {"location": {"latitude": latitude, "longitude": longitude}}
    return commit(emu, bot, p, "sendLocation", chat_id, chat, content)


@api_method("sendContact")
def send_contact(emu: EmulatorCore, bot: BotRecord, p: Params) -> dict[str, Any]:
    chat_id, chat = emu.resolve_chat(p.raw("chat_id"))
    phone, first_name = p.string("phone_number"), p.string("first_name")
    if not phone:
        raise errors.bad_request("phone number is empty")
    if not first_name:
        raise errors.bad_request("first name is empty")
    contact = compact(
        {"phone_number": phone, "first_name": first_name, "last_name": p.string("last_name")}
    )
    return commit(emu, bot, p, "sendContact", chat_id, chat, {"contact": contact})


DICE_MAX = {"🎲": 6, "🎯": 6, "🎳": 6, "🏀": 5, "⚽": 5, "🎰": 64}


@api_method("sendDice")
def send_dice(emu: EmulatorCore, bot: BotRecord, p: Params) -> dict[str, Any]:
    chat_id, chat = emu.resolve_chat(p.raw("chat_id"))
    emoji = p.string("emoji") or "🎲"
    if emoji not in DICE_MAX:
        raise errors.bad_request("wrong emoji specified")
    dice = {"emoji": emoji, "value": random.randint(1, DICE_MAX[emoji])}  # noqa: S311
    return commit(emu, bot, p, "sendDice", chat_id, chat, {"dice": dice})


@api_method("sendChatAction")
def send_chat_action(emu: EmulatorCore, bot: BotRecord, p: Params) -> bool:
    """Show "typing…"; Telegram does not count actions against message limits."""
    chat_id, _ = emu.resolve_chat(p.raw("chat_id"))
    action = p.string("action")
    if action not in CHAT_ACTIONS:
        raise errors.bad_request("wrong parameter action in request")
    emu.check_not_blocked(chat_id)
    emu.record(
        SentRecord(
            method="sendChatAction",
            bot_id=bot.id,
            chat_id=chat_id,
            timestamp=emu.monotonic(),
            params=p.scalars(),
        )
    )
    return True


# --- copies --------------------------------------------------------------------------------


def _source(emu: EmulatorCore, bot: BotRecord, p: Params, what: str) -> dict[str, Any]:
    from_chat = p.raw("from_chat_id")
    message_id = p.integer("message_id")
    if from_chat is None or message_id is None:
        raise errors.bad_request(f"message to {what} not found")
    from_chat_id, _ = emu.resolve_chat(from_chat)
    found = emu.find_message(bot, from_chat_id, message_id)
    if found is None:
        raise errors.bad_request(f"message to {what} not found")
    return found


@api_method("forwardMessage")
def forward_message(emu: EmulatorCore, bot: BotRecord, p: Params) -> dict[str, Any]:
    chat_id, chat = emu.resolve_chat(p.raw("chat_id"))
    source = _source(emu, bot, p, "forward")
    sender = source.get("from") or {}
    content = {k: source[k] for k in CONTENT_KEYS if k in source}
    content["forward_origin"] = {"type": "user", "sender_user": sender, "date": source["date"]}
    return commit(emu, bot, p, "forwardMessage", chat_id, chat, content, text=source.get("text"))


@api_method("copyMessage")
def copy_message(emu: EmulatorCore, bot: BotRecord, p: Params) -> dict[str, Any]:
    chat_id, chat = emu.resolve_chat(p.raw("chat_id"))
    source = _source(emu, bot, p, "copy")
    content = {k: source[k] for k in CONTENT_KEYS if k in source}
    if "caption" in p:
        _, caption, entities = formatted_text(p, "caption")
        content.update(caption=caption, caption_entities=entities)
    message = commit(emu, bot, p, "copyMessage", chat_id, chat, content, text=source.get("text"))
    return {"message_id": message["message_id"]}


# --- edits ---------------------------------------------------------------------------------


def _own_message(emu: EmulatorCore, bot: BotRecord, p: Params, what: str) -> dict[str, Any]:
    if p.string("inline_message_id"):
        raise errors.bad_request(f"message to {what} not found")
    chat_id, _ = emu.resolve_chat(p.raw("chat_id"))
    message_id = p.integer("message_id")
    found = emu.find_message(bot, chat_id, message_id) if message_id is not None else None
    if found is None:
        raise errors.bad_request(f"message to {what} not found")
    if (found.get("from") or {}).get("id") != bot.id:
        raise errors.bad_request("message can't be edited")
    return found


def _apply_edit(
    emu: EmulatorCore,
    bot: BotRecord,
    p: Params,
    method: str,
    message: dict[str, Any],
    changes: dict[str, Any],
    *,
    text: str | None = None,
    caption: str | None = None,
) -> dict[str, Any]:
    markup = reply_markup(p)
    changes["reply_markup"] = markup if markup and "inline_keyboard" in markup else None
    if all(message.get(k) == v for k, v in changes.items()):
        raise errors.bad_request(
            "message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        )
    with emu.lock:
        emu.check_not_blocked(message["chat"]["id"])
        edited = compact({**message, **changes, "edit_date": emu.now()})
        emu.store_message(bot, edited)
        emu.record(
            SentRecord(
                method=method,
                bot_id=bot.id,
                chat_id=message["chat"]["id"],
                timestamp=emu.monotonic(),
                message_id=message["message_id"],
                text=text,
                caption=caption,
                parse_mode=p.string("parse_mode"),
                params=p.scalars(),
                message=edited,
            )
        )
    return edited


@api_method("editMessageText")
def edit_message_text(emu: EmulatorCore, bot: BotRecord, p: Params) -> dict[str, Any]:
    message = _own_message(emu, bot, p, "edit")
    if "text" not in message:
        raise errors.bad_request("there is no text in the message to edit")
    raw, plain, entities = formatted_text(p)
    if plain is None or not plain.strip():
        raise errors.bad_request("message text is empty")
    changes = {"text": plain, "entities": entities}
    return _apply_edit(emu, bot, p, "editMessageText", message, changes, text=raw)


@api_method("editMessageCaption")
def edit_message_caption(emu: EmulatorCore, bot: BotRecord, p: Params) -> dict[str, Any]:
    message = _own_message(emu, bot, p, "edit")
    if "text" in message:
        raise errors.bad_request("there is no caption in the message to edit")
    raw, caption, entities = formatted_text(p, "caption")
    changes = {"caption": caption, "caption_entities": entities}
    return _apply_edit(emu, bot, p, "editMessageCaption", message, changes, caption=raw)


@api_method("editMessageReplyMarkup")
def edit_message_reply_markup(emu: EmulatorCore, bot: BotRecord, p: Params) -> dict[str, Any]:
    message = _own_message(emu, bot, p, "edit")
    return _apply_edit(emu, bot, p, "editMessageReplyMarkup", message, {})


@api_method("deleteMessage")
def delete_message(emu: EmulatorCore, bot: BotRecord, p: Params) -> bool:
    chat_id, _ = emu.resolve_chat(p.raw("chat_id"))
    message_id = p.integer("message_id")
    with emu.lock:
        found = bot.messages.pop((chat_id, message_id or 0), None)
        if found is None:
            raise errors.bad_request("message to delete not found")
        emu.record(
            SentRecord(
                method="deleteMessage",
                bot_id=bot.id,
                chat_id=chat_id,
                timestamp=emu.monotonic(),
                message_id=message_id,
                params=p.scalars(),
            )
        )
    return True


# --- callback queries ----------------------------------------------------------------------


@api_method("answerCallbackQuery")
def answer_callback_query(emu: EmulatorCore, bot: BotRecord, p: Params) -> bool:
    query_id = p.string("callback_query_id") or ""
    with emu.lock:
        query = emu.callback_queries.get(query_id)
        if query is None or query.get("answered"):
            raise errors.bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = p.string("text")
        if text is not None and len(text) > 200:
            raise errors.bad_request("MESSAGE_TOO_LONG")
        query["answered"] = True
        emu.record(
            SentRecord(
                method="answerCallbackQuery",
                bot_id=bot.id,
                chat_id=query.get("chat_id"),
                timestamp=emu.monotonic(),
                text=text,
                params=p.scalars(),
            )
        )
    return True
