"""Close live consoles whose sign-in has ended: logout, a new password, a disabled user;
delete the stored files of chats that are deleted."""

from functools import partial

from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from accounts.models import User
from accounts.signals import credentials_changed
from conversations import events
from conversations.models import Chat
from conversations.services.files import chat_file_discard


@receiver(user_logged_out, dispatch_uid="conversations.close_consoles_on_logout")
def close_consoles_on_logout(sender, request, user: User | None, **kwargs) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if user is not None and session_key:
        events.console_signed_out(user.pk, session_key=session_key)


@receiver(credentials_changed, dispatch_uid="conversations.close_consoles_on_credentials")
def close_consoles_on_credentials_change(sender, user: User, **kwargs) -> None:
    events.console_signed_out(user.pk)


@receiver(post_delete, sender=Chat, dispatch_uid="conversations.discard_deleted_chats_files")
def discard_deleted_chats_files(sender, instance: Chat, using: str, **kwargs) -> None:
    """A signal, because chats mostly go by cascade (an admin deleting a client or a
    session), which no service sees; the file goes only once the deletion committed."""
    if instance.local_file:
        transaction.on_commit(
            partial(chat_file_discard, instance.local_file.name), using=using, robust=True
        )
