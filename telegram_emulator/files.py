"""Stored files: uploads, injected media and the file_ids that point at them.

Bytes are kept in memory so a test can read back exactly what the bot uploaded and so
getFile plus the download URL round-trip a user's photo like Telegram's file servers do.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import mimetypes
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

MB = 1024 * 1024
DOWNLOAD_LIMIT = 20 * MB  # getFile refuses bigger files for bots
UPLOAD_LIMIT = 50 * MB  # multipart uploads by bots
PHOTO_UPLOAD_LIMIT = 10 * MB

# Telegram's file_ids start with a type-specific prefix; mimicking it keeps logs familiar.
_PREFIX = {
    "photo": "AgAC",
    "document": "BQAC",
    "video": "BAAC",
    "voice": "AwAC",
    "audio": "CQAC",
    "sticker": "CAAC",
    "animation": "CgAC",
    "video_note": "DQAC",
}
_FOLDER = {
    "photo": "photos",
    "document": "documents",
    "video": "videos",
    "voice": "voice",
    "audio": "music",
    "sticker": "stickers",
    "animation": "animations",
    "video_note": "video_notes",
}
_DEFAULT_EXT = {"photo": ".jpg", "voice": ".oga", "video": ".mp4", "sticker": ".webp"}
# Telegram's standard photo boxes (longest side) for the sizes it generates.
PHOTO_BOXES = (90, 320, 800, 1280, 2560)


@dataclass
class StoredFile:
    """One file on the emulated file servers."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    filename: str | None = None
    mime_type: str | None = None
    url: str | None = None  # set when the bot sent an HTTP URL instead of bytes
    declared_size: int | None = None  # lets tests fake a huge file without allocating it
    file_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return self.declared_size if self.declared_size is not None else len(self.data)


class FileStore:
    """file_id → StoredFile and file_path → StoredFile; callers hold the emulator lock."""

    def __init__(self) -> None:
        self.by_id: dict[str, StoredFile] = {}
        self.by_path: dict[str, StoredFile] = {}
        self._ids = itertools.count(1)

    def add(
        self,
        kind: str,
        data: bytes,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
        url: str | None = None,
        size: int | None = None,
        unique_seed: bytes | None = None,
    ) -> StoredFile:
        number = next(self._ids)
        token = secrets.token_urlsafe(18)
        file_id = f"{_PREFIX.get(kind, 'BQAC')}AgADAQ{number:06d}{token}"
        seed = unique_seed if unique_seed is not None else (data or file_id.encode())
        digest = hashlib.blake2b(kind.encode() + b"\0" + seed, digest_size=9).digest()
        unique = "AQAD" + base64.urlsafe_b64encode(digest).decode().rstrip("=")
        if mime_type is None and filename:
            mime_type = mimetypes.guess_type(filename)[0]
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique,
            kind=kind,
            data=data,
            filename=filename,
            mime_type=mime_type,
            url=url,
            declared_size=size,
        )
        self.by_id[file_id] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self.by_id.get(file_id)

    def assign_path(self, stored: StoredFile) -> str:
        """Give the file a download path, as getFile does."""
        if stored.file_path is None:
            ext = ""
            if stored.filename and "." in stored.filename:
                ext = "." + stored.filename.rsplit(".", 1)[1]
            elif stored.mime_type:
                ext = mimetypes.guess_extension(stored.mime_type) or ""
            ext = ext or _DEFAULT_EXT.get(stored.kind, "")
            number = len(self.by_path) + 1
            stored.file_path = f"{_FOLDER.get(stored.kind, 'documents')}/file_{number}{ext}"
            self.by_path[stored.file_path] = stored
        return stored.file_path

    def clear(self) -> None:
        self.by_id.clear()
        self.by_path.clear()


def image_size(data: bytes) -> tuple[int, int] | None:
    """Read width and height from PNG, GIF or JPEG headers; None when unknown."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return width, height
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            i += 2 + length
    return None


def photo_variants(width: int, height: int) -> list[tuple[int, int]]:
    """Return the (width, height) sizes Telegram would generate, smallest first."""
    longest = max(width, height, 1)
    variants = []
    for box in PHOTO_BOXES:
        if box >= longest:
            break
        scale = box / longest
        variants.append((max(1, round(width * scale)), max(1, round(height * scale))))
    scale = min(1.0, PHOTO_BOXES[-1] / longest)
    variants.append((max(1, round(width * scale)), max(1, round(height * scale))))
    return variants[-4:]
