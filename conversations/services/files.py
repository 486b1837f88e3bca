"""Chats' files: their protected address, and the copy the web app keeps under MEDIA_ROOT."""

from urllib.parse import quote

from django.db import transaction
from django.urls import reverse

from conversations.models import Chat


@transaction.atomic
def chat_file_cache(*, chat_id: str, relative_path: str) -> None:
    """Point the chat at its cached copy (a MEDIA_ROOT-relative path) if it has no file yet.

    One conditional UPDATE: an agent's upload, or a copy recorded by a concurrent
    request, is never replaced.
    """
    Chat.objects.filter(pk=chat_id, local_file="").update(local_file=relative_path)


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
