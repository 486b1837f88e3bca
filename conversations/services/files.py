"""Chats' files: their protected address, and the copy the web app keeps under MEDIA_ROOT."""

from urllib.parse import quote

from django.db import transaction

from conversations.models import Chat


@transaction.atomic
def chat_file_cache(*, chat_id: str, relative_path: str) -> None:
    """Point the chat at its cached copy (a MEDIA_ROOT-relative path) if it has no file yet.

    One conditional UPDATE: an agent's upload, or a copy recorded by a concurrent
    request, is never replaced.
    """
    Chat.objects.filter(pk=chat_id, local_file="").update(local_file=relative_path)


def chat_file_url(*, chat_id: str, file_name: str) -> str:
    """Return the app's own (protected) address for a chat's file; never Telegram's."""
    name = quote(file_name or "file", safe="")
    limit = Chat._meta.get_field("file_url").max_length
    prefix = f"/files/{chat_id}/"
    return prefix + name[: limit - len(prefix)].rstrip("%")
