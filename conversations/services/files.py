"""Chats' files: their protected address, and the copy the web app keeps in its storage.

Every byte goes through Django's storage API (`Chat.local_file`'s storage, which is
STORAGES["default"]), never a local path: object storage is a settings change.
"""

import contextlib
import logging
import posixpath
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File
from django.core.files.storage import Storage
from django.urls import reverse
from django.utils import timezone
from django.utils.text import get_valid_filename

from conversations.models import Chat

logger = logging.getLogger(__name__)

# Where copies of clients' Telegram files are kept (storage names), one folder per chat.
# Agents' uploads live under chats/<year>/<month>/ instead: they may be the only copy.
FILE_CACHE_DIR = "chats/cache/"
PRUNE_BATCH = 500


def chat_file_storage() -> Storage:
    """The storage holding agents' uploads and cached client files (STORAGES["default"])."""
    return Chat._meta.get_field("local_file").storage


def chat_file_cache(*, chat_id: str, file_name: str, content: File) -> None:
    """Keep a copy of a client's Telegram file, so the next view needs no download.

    Saved first, then the chat pointed at it by one conditional UPDATE, so an agent's
    upload or a copy a concurrent request recorded is never replaced (ours is deleted
    then). A chat still naming a lost copy takes the new one saved under that name.
    """
    storage = chat_file_storage()
    max_length = Chat._meta.get_field("local_file").max_length
    saved = storage.save(_cache_name(chat_id, file_name), content, max_length=max_length)
    if not Chat.objects.filter(pk=chat_id, local_file__in=("", saved)).update(local_file=saved):
        storage.delete(saved)


def _cache_name(chat_id: str, file_name: str) -> str:
    """One fixed place per chat, so a copy lost and fetched again returns where it was."""
    try:
        safe = get_valid_filename(file_name)[-100:]
    except SuspiciousFileOperation:
        safe = "file"
    return f"{FILE_CACHE_DIR}{chat_id}/{safe}"


@dataclass(frozen=True)
class PrunedFiles:
    files: int
    bytes: int


def chat_file_cache_prune(*, older_than: timedelta, dry_run: bool = False) -> PrunedFiles:
    """Delete the cached copies of clients' files in chats older than `older_than`.

    The chat forgets its copy, so the file view fetches it from Telegram again on the
    next request. Only a client's chat with a Telegram file id and a copy under
    FILE_CACHE_DIR qualifies: an agent's upload is never touched, whatever its age.
    Age is the chat's `created_at` (the project records no last access). Each chat is
    its own statement, not one long transaction, so agents' writes are never held up;
    a copy is deleted only if the chat still pointed at it.
    """
    cutoff = timezone.now() - older_than
    candidates = (
        Chat.objects.filter(
            sender_type=Chat.SenderType.CLIENT,
            created_at__lt=cutoff,
            local_file__startswith=FILE_CACHE_DIR,
        )
        .exclude(telegram_file_id="")
        .order_by("pk")
    )
    storage = chat_file_storage()
    files = freed = 0
    last = ""
    # Keyset batches: rows change under a plain iterator (SQLite shares no isolation).
    while batch := list(
        candidates.filter(pk__gt=last).values_list("pk", "local_file")[:PRUNE_BATCH]
    ):
        last = batch[-1][0]
        for pk, name in batch:
            try:
                size = storage.size(name)
            except OSError:  # already gone: forgetting it is still right
                size = 0
            if not dry_run:
                if not Chat.objects.filter(pk=pk, local_file=name).update(local_file=""):
                    continue  # changed since the batch was read
                _delete_stored(storage, name)
            files += 1
            freed += size
    return PrunedFiles(files=files, bytes=freed)


def chat_file_discard(name: str) -> None:
    """Delete the stored file of a chat that is gone (a deleted client, session or chat).

    Called after the deletion committed; a storage that fails is logged, never raised:
    the rows are gone either way, and the file is only what is left of them.
    """
    try:
        _delete_stored(chat_file_storage(), name)
    except Exception:
        logger.exception("could not delete the stored file %s of a deleted chat", name)


def _delete_stored(storage: Storage, name: str) -> None:
    """Delete a chat's file, and a cached copy's chat folder once empty (a fetch
    recreates it when needed).

    FileSystemStorage deletes an empty folder; object storages have none to delete.
    """
    storage.delete(name)
    if not name.startswith(FILE_CACHE_DIR):
        return
    folder = posixpath.dirname(name)
    with contextlib.suppress(OSError):  # gone already, or refilled meanwhile
        folders, files = storage.listdir(folder)
        if not folders and not files:
            storage.delete(folder)


def chat_file_url(*, chat_id: str, file_name: str) -> str:
    """Return the app's own (protected) address for a chat's file; never Telegram's.

    The name is only cosmetic (the chat decides what is served), so a long one is cut
    to fit the spec's column, by whole characters so no percent-escape is split.
    """
    limit = Chat._meta.get_field("file_url").max_length
    name = file_name or "file"
    url = _address(chat_id, name)
    while len(url) > limit:
        # A character quotes to at most 12 ("%F0%9F%93%A6"): never cut more than needed.
        name = name[: -max(1, (len(url) - limit) // 12)]
        url = _address(chat_id, name)
    return url


def _address(chat_id: str, name: str) -> str:
    # reverse() would quote an already quoted name again ("%20" → "%2520"): quote the name
    # fully here and undo that second pass, which can only have touched the "%" signs.
    quoted = quote(name, safe="")
    return reverse("chat_file", kwargs={"chat_id": chat_id, "name": quoted}).replace("%25", "%")
