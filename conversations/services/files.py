"""Recording the copy of a client's file that the web app keeps under MEDIA_ROOT."""

from django.db import transaction

from conversations.models import Chat


@transaction.atomic
def chat_file_cache(*, chat_id: str, relative_path: str) -> None:
    """Point the chat at its cached copy (a MEDIA_ROOT-relative path) if it has no file yet.

    One conditional UPDATE: an agent's upload, or a copy recorded by a concurrent
    request, is never replaced.
    """
    Chat.objects.filter(pk=chat_id, local_file="").update(local_file=relative_path)
