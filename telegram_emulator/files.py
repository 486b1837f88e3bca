"""Stored files: uploads, injected media and the file_ids that point at them.

Bytes are kept in memory so a test can read back exactly what the bot uploaded and so
getFile plus the download URL round-trip a user's photo like Telegram's file servers do.
A user's file may instead be given as a path or a binary file object: it is then copied
in chunks into the store's own temporary folder and served from there, so a large
upload is never held in memory whole.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import mimetypes
import os
import secrets
import shutil
import struct
import tempfile
import threading
import weakref
from dataclasses import dataclass, field
from typing import IO, Any, Union

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
_CHUNK = 64 * 1024
_HEAD = 256 * 1024  # enough of an image to find its size (JPEG EXIF comes first)

# What a user's file may be given as: its bytes, a path, or a binary file object.
FileSource = Union[bytes, str, "os.PathLike[str]", IO[bytes]]


@dataclass(frozen=True)
class Spooled:
    """A user's file copied into the store's folder: where it is and what it starts with."""

    path: str
    size: int
    digest: bytes
    head: bytes


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
    path: str | None = None  # spooled on disk instead of ``data``: its first ``path_size`` bytes
    path_size: int = 0

    @property
    def size(self) -> int:
        if self.declared_size is not None:
            return self.declared_size
        return self.path_size if self.path is not None else len(self.data)

    def read(self) -> bytes:
        """Return the whole content (from disk for a spooled file)."""
        if self.path is None:
            return self.data
        with open(self.path, "rb") as file:
            return file.read(self.path_size)

    def chunks(self) -> Any:
        """Yield the content in chunks, so a download never holds a large file whole."""
        if self.path is None:
            yield self.data
            return
        remaining = self.path_size
        with open(self.path, "rb") as file:
            while remaining > 0 and (chunk := file.read(min(_CHUNK, remaining))):
                remaining -= len(chunk)
                yield chunk


class FileStore:
    """file_id → StoredFile and file_path → StoredFile; callers hold the emulator lock."""

    def __init__(self) -> None:
        self.by_id: dict[str, StoredFile] = {}
        self.by_path: dict[str, StoredFile] = {}
        self._ids = itertools.count(1)
        self._spool_dir: str | None = None
        self._spool_lock = threading.Lock()  # spool() runs outside the emulator lock

    def spool(self, source: FileSource) -> bytes | Spooled:
        """Copy a path's or file object's content into the store's folder, in chunks.

        Bytes are returned as they are. Copying (rather than keeping the caller's path)
        lets the caller delete its temporary file as soon as the call returns.
        """
        if isinstance(source, bytes | bytearray | memoryview):
            return bytes(source)
        if isinstance(source, str | os.PathLike):
            with open(source, "rb") as file:
                return self._copy(file)
        return self._copy(source)  # the caller's file object: read from where it stands

    def _copy(self, file: IO[bytes]) -> Spooled:
        digest, head, size = hashlib.blake2b(digest_size=16), bytearray(), 0
        with tempfile.NamedTemporaryFile(dir=self._folder(), delete=False) as target:
            while chunk := file.read(_CHUNK):
                target.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                if len(head) < _HEAD:
                    head += chunk[: _HEAD - len(head)]
        return Spooled(target.name, size, digest.digest(), bytes(head))

    def _folder(self) -> str:
        with self._spool_lock:
            if self._spool_dir is None:
                self._spool_dir = tempfile.mkdtemp(prefix="telegram-emulator-files-")
                weakref.finalize(self, shutil.rmtree, self._spool_dir, ignore_errors=True)
            return self._spool_dir

    def add(
        self,
        kind: str,
        data: bytes | Spooled,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
        url: str | None = None,
        size: int | None = None,
        unique_seed: bytes | None = None,
        length: int | None = None,
    ) -> StoredFile:
        """Store a file; a ``Spooled`` one is served from disk (its first ``length`` bytes)."""
        number = next(self._ids)
        token = secrets.token_urlsafe(18)
        file_id = f"{_PREFIX.get(kind, 'BQAC')}AgADAQ{number:06d}{token}"
        if isinstance(data, Spooled):
            path, path_size = data.path, data.size if length is None else min(length, data.size)
            seed = unique_seed if unique_seed is not None else data.digest
            data = b""
        else:
            path, path_size = None, 0
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
            path=path,
            path_size=path_size,
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
        for path in {stored.path for stored in self.by_id.values() if stored.path}:
            with contextlib.suppress(OSError):
                os.unlink(path)
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
