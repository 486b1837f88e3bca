"""Translate Telegram messages into the spec's chat types (TEXT/IMAGE/FILE/VIDEO/LINK)."""

from aiogram.types import Message, MessageEntity

from conversations.models import Chat
from conversations.services import IncomingMessage
from conversations.services.replies import reply_quote_cut

LINK_ENTITIES = {"url", "text_link"}


def sender_name(message: Message) -> str:
    user = message.from_user
    name = " ".join(part for part in (user.first_name, user.last_name) if part)
    return name or user.username or str(user.id)


def _with_hidden_links(text: str, entities: list[MessageEntity] | None) -> str:
    """Append the addresses that text_links hide behind words, so agents can read them.

    Offsets count UTF-16 units, so the visible words come from `extract_from`; a link
    whose words already are its address is not repeated.
    """
    hidden = [
        entity.url
        for entity in entities or []
        if entity.type == "text_link" and entity.url and entity.extract_from(text) != entity.url
    ]
    return "\n".join([text, *hidden]) if hidden else text


def _text_and_type(message: Message) -> tuple[str, str]:
    entities = message.entities or []
    text = _with_hidden_links(message.text, entities)
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
    if message.animation:
        # A GIF also carries a `document` of the same file: it is a video, not a file.
        media = message.animation
        return Chat.MessageType.VIDEO, media.file_id, media.file_name or "animation.mp4"
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
    for kind, default_name in (("video", "video.mp4"), ("video_note", "video_note.mp4")):
        media = getattr(message, kind)
        if media:
            return (
                Chat.MessageType.VIDEO,
                media.file_id,
                getattr(media, "file_name", None) or default_name,
            )
    return None


# What a quote shows of a message without words, most telling first. Stored, so
# in no one language: the console shows them as they are.
_QUOTE_LABELS = (
    ("photo", "[photo]"),
    ("video", "[video]"),
    ("animation", "[GIF]"),
    ("video_note", "[video message]"),
    ("voice", "[voice message]"),
    ("audio", "[audio]"),
    ("document", "[file]"),
    ("location", "[location]"),
    ("contact", "[contact]"),
    ("poll", "[poll]"),
    ("dice", "[dice]"),
)


def quote_of(message: Message) -> str:
    """What the answered message showed: its words, else a label for its kind."""
    if message.text or message.caption:
        return message.text or message.caption
    if message.sticker:
        return f"[sticker {message.sticker.emoji or ''}]".replace(" ]", "]")
    return next(
        (label for kind, label in _QUOTE_LABELS if getattr(message, kind, None)), "[message]"
    )


def _reply_to(message: Message) -> tuple[int | None, str]:
    """(message id, quote) of the message this one answers in the client's chat.

    A part the client quoted (Telegram's `quote`) is what Telegram shows above the
    reply, so it is the quote; else the answered message's words or kind.
    """
    answered = message.reply_to_message
    if answered is None:
        return None, ""
    quote = message.quote.text if message.quote and message.quote.text else quote_of(answered)
    return answered.message_id, reply_quote_cut(quote)


def incoming_from_message(message: Message) -> IncomingMessage | None:
    """Map a private-chat message; None for kinds the help desk does not take (polls, dice…)."""
    file_id = file_name = ""
    attachment = _attachment(message)
    if attachment:
        message_type, file_id, file_name = attachment
        if message.caption:
            text = _with_hidden_links(message.caption, message.caption_entities)
        else:
            text = (message.sticker.emoji if message.sticker else "") or ""
    elif message.text is not None:
        text, message_type = _text_and_type(message)
    elif message.location:
        text, message_type = _location(message)
    elif message.contact:
        text, message_type = _contact(message)
    else:
        return None
    user = message.from_user
    reply_to_message_id, reply_quote = _reply_to(message)
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
        reply_to_message_id=reply_to_message_id,
        reply_quote=reply_quote,
        media_group_id=message.media_group_id or "",
    )
