"""Media objects (PhotoSize lists, Document, Video, ...) built over stored files.

Used both for what bots upload and for what emulated users send, so an injected photo and
a photo the bot sends look the same to aiogram.
"""

from __future__ import annotations

from typing import Any

from .files import FileStore, Spooled, StoredFile, image_size, photo_variants
from .records import compact

DEFAULT_PHOTO_SIZE = (800, 600)  # used when the bytes are not a PNG/GIF/JPEG we can read
KIND_NAMES = {
    "photo": "Photo",
    "document": "Document",
    "video": "Video",
    "audio": "Audio",
    "voice": "Voice",
    "animation": "Animation",
    "sticker": "Sticker",
    "video_note": "VideoNote",
}
DEFAULT_MIME = {
    "video": "video/mp4",
    "voice": "audio/ogg",
    "audio": "audio/mpeg",
    "animation": "video/mp4",
}


def make_photo(store: FileStore, data: bytes | Spooled) -> list[dict[str, Any]]:
    """Store a photo as Telegram does: several sizes, smallest first, largest = the bytes.

    Smaller sizes carry a proportional prefix of the bytes, so a bot that downloads
    ``photo[0]`` instead of ``photo[-1]`` visibly gets less than the user sent.
    """
    spooled = isinstance(data, Spooled)
    total = data.size if spooled else len(data)
    width, height = image_size(data.head if spooled else data) or DEFAULT_PHOTO_SIZE
    variants = photo_variants(width, height)
    largest_area = variants[-1][0] * variants[-1][1]
    sizes: list[dict[str, Any]] = []
    for index, (w, h) in enumerate(variants):
        last = index == len(variants) - 1
        length = total if last else max(1, total * w * h // largest_area)
        stored = _photo_part(store, data, length, b"" if last else f"@{w}x{h}".encode())
        sizes.append(
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.size,
                "width": w,
                "height": h,
            }
        )
        stored.extra["json"] = sizes
    return sizes


def _photo_part(store: FileStore, data: bytes | Spooled, length: int, tag: bytes) -> StoredFile:
    """Store the first ``length`` bytes as one photo size (a spooled file is not copied)."""
    if isinstance(data, Spooled):
        return store.add(
            "photo", data, mime_type="image/jpeg", unique_seed=data.digest + tag, length=length
        )
    return store.add("photo", data[:length], mime_type="image/jpeg", unique_seed=data + tag)


def media_json(kind: str, stored: StoredFile, **attrs: Any) -> dict[str, Any]:
    """Build the Document/Video/Voice/... object Telegram would attach to a message."""
    base: dict[str, Any] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
    mime = stored.mime_type or DEFAULT_MIME.get(kind)
    if kind == "document":
        extra = {"file_name": stored.filename, "mime_type": mime}
    elif kind in ("video", "animation"):
        extra = {
            "width": attrs.get("width") or 640,
            "height": attrs.get("height") or 360,
            "duration": attrs.get("duration") or 0,
            "file_name": stored.filename,
            "mime_type": mime,
        }
    elif kind == "audio":
        extra = {
            "duration": attrs.get("duration") or 0,
            "performer": attrs.get("performer"),
            "title": attrs.get("title"),
            "file_name": stored.filename,
            "mime_type": mime,
        }
    elif kind == "voice":
        extra = {"duration": attrs.get("duration") or 0, "mime_type": mime}
    elif kind == "video_note":
        extra = {"length": attrs.get("length") or 240, "duration": attrs.get("duration") or 0}
    elif kind == "sticker":
        extra = {
            "type": "regular",
            "width": attrs.get("width") or 512,
            "height": attrs.get("height") or 512,
            "is_animated": bool(attrs.get("is_animated")),
            "is_video": bool(attrs.get("is_video")),
            "emoji": attrs.get("emoji"),
            "set_name": attrs.get("set_name"),
        }
    else:
        raise ValueError(f"unknown media kind {kind!r}")
    result = compact({**base, **extra, "file_size": stored.size})
    stored.extra["json"] = result
    return result


def make_animation(
    store: FileStore,
    data: bytes,
    *,
    filename: str | None = None,
    mime_type: str | None = None,
    **attrs: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Store a GIF as Telegram delivers one: an Animation plus a Document of the same file.

    Telegram attaches the document too so that clients which predate animations still
    get the file; a bot that looks at ``document`` first sees a plain file.
    """
    animation = make_media(
        store, "animation", data, filename=filename, mime_type=mime_type, **attrs
    )
    document = compact(
        {
            key: animation.get(key)
            for key in ("file_id", "file_unique_id", "file_name", "mime_type", "file_size")
        }
    )
    return animation, document


def make_media(
    store: FileStore,
    kind: str,
    data: bytes | Spooled,
    *,
    filename: str | None = None,
    mime_type: str | None = None,
    size: int | None = None,
    **attrs: Any,
) -> Any:
    """Store bytes (or a spooled file) as a new file of ``kind``; return the field's value."""
    if kind == "photo":
        return make_photo(store, data)
    stored = store.add(kind, data, filename=filename, mime_type=mime_type, size=size)
    return media_json(kind, stored, **attrs)
