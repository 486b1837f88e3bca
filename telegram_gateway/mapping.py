"""Translate Telegram messages into the spec's chat types (TEXT/IMAGE/FILE/VIDEO/LINK)."""

from aiogram.types import Message

from conversations.models import Chat
from conversations.services import IncomingMessage

LINK_ENTITIES = {"url", "text_link"}


def sender_name(message: Message) -> str:
    user = message.from_user
    name = " ".join(part for part in (user.first_name, user.last_name) if part)
    return name or user.username or str(user.id)


def _text_and_type(message: Message) -> tuple[str, str] | None:
    text = message.text if message.text is not None else ""
    entities = message.entities or []
    # A text_link hides its address behind words: keep the address readable for agents.
    hidden = [e.url for e in entities if e.type == "text_link" and e.url]
    if hidden:
        text = "\n".join([text, *hidden])
    is_link = any(e.type in LINK_ENTITIES for e in entities)
    return text, Chat.MessageType.LINK if is_link else Chat.MessageType.TEXT


def _location(message: Message) -> tuple[str, str]:
    point = message.location
    url = f"https://www.openstreetmap.org/?mlat={point.latitude}&mlon={point.longitude}"
    if message.venue:
        return f"📍 {message.venue.title}, {message.venue.address}\n{url}", Chat.MessageType.LINK
    return f"📍 {point.latitude}, {point.longitude}\n{url}", Chat.MessageType.LINK


def _contact(message: Message) -> tuple[str, str]:
    contact = message.contact
    name = " ".join(part for part in (contact.first_name, contact.last_name) if part)
    return f"👤 {name}: {contact.phone_number}", Chat.MessageType.TEXT


def _attachment(message: Message) -> tuple[str, str, str] | None:
    """Return (message type, Telegram file id, file name) of the message's file, if any."""
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        return Chat.MessageType.IMAGE, largest.file_id, "photo.jpg"
    if message.sticker:
        extension = "webm" if message.sticker.is_video else "webp"
        return Chat.MessageType.IMAGE, message.sticker.file_id, f"sticker.{extension}"
    for kind, default_name in (
        ("document", "document"),
        ("audio", "audio.mp3"),
        ("voice", "voice.ogg"),
    ):
        media = getattr(message, kind)
        if media:
            return (
                Chat.MessageType.FILE,
                media.file_id,
                getattr(media, "file_name", None) or default_name,
            )
    for kind, default_name in (
        ("video", "video.mp4"),
        ("animation", "animation.mp4"),
        ("video_note", "video_note.mp4"),
    ):
        media = getattr(message, kind)
        if media:
            return (
                Chat.MessageType.VIDEO,
                media.file_id,
                getattr(media, "file_name", None) or default_name,
            )
    return None


def incoming_from_message(message: Message) -> IncomingMessage | None:
    """Map a private-chat message; None for kinds the help desk does not take (polls, dice…)."""
    file_id = file_name = ""
    attachment = _attachment(message)
    if attachment:
        message_type, file_id, file_name = attachment
        text = message.caption or (message.sticker.emoji if message.sticker else "") or ""
    elif message.text is not None:
        text, message_type = _text_and_type(message)
    elif message.location:
        text, message_type = _location(message)
    elif message.contact:
        text, message_type = _contact(message)
    else:
        return None
    user = message.from_user
    return IncomingMessage(
        telegram_id=str(user.id),
        name=sender_name(message),
        username=user.username,
        telegram_message_id=message.message_id,
        message_type=message_type,
        text=text,
        telegram_file_id=file_id,
        file_name=file_name,
        sent_at=message.date,
        language_code=user.language_code or "",
    )
