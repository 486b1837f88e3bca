"""Deleting a client, a session or a chat deletes its stored files, once that commits."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from conversations.models import Chat, Client
from conversations.services import chat_send
from conversations.services.files import chat_file_cache
from conversations.tests.console_helpers import add_chat, make_session

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def files_of_a_conversation(agent) -> tuple[Client, list]:
    """A client's conversation holding an agent's upload and a cached photo of the client's."""
    session = make_session(cs=agent)
    upload = SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 invoice", "application/pdf")
    reply = chat_send(session=session, agent=agent, text="Your invoice", upload=upload)
    photo = add_chat(session, "", message_type=Chat.MessageType.IMAGE, telegram_file_id="AgAD1")
    chat_file_cache(chat_id=photo.pk, file_name="photo.jpg", content=ContentFile(b"\xff\xd8jpeg"))
    photo.refresh_from_db()
    return session.client, [reply.local_file, photo.local_file]


def test_deleting_a_client_deletes_its_chats_files_and_no_one_elses(
    cs_user, media_root, django_capture_on_commit_callbacks
):
    client, files = files_of_a_conversation(cs_user)
    _, others = files_of_a_conversation(cs_user)
    paths = [media_root / file.name for file in files]
    assert all(path.is_file() for path in paths)

    with django_capture_on_commit_callbacks(execute=True):
        client.delete()

    assert not any(path.exists() for path in paths)
    assert not paths[1].parent.exists()  # the chat's cache folder went with its copy
    assert all((media_root / file.name).is_file() for file in others)


def test_a_deletion_rolled_back_keeps_the_files(
    cs_user, media_root, django_capture_on_commit_callbacks
):
    client, files = files_of_a_conversation(cs_user)

    def delete_then_fail() -> None:
        with transaction.atomic():
            client.sessions.get().delete()
            raise RuntimeError("the admin's request failed later")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        delete_then_fail()

    assert callbacks == []
    assert Client.objects.filter(pk=client.pk).exists()
    assert all((media_root / file.name).is_file() for file in files)


def test_a_storage_that_fails_loses_no_deletion_and_says_which_file(
    cs_user, media_root, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    client, files = files_of_a_conversation(cs_user)

    def unreachable(self, name):
        raise OSError("object storage unreachable")

    monkeypatch.setattr("django.core.files.storage.FileSystemStorage.delete", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        client.delete()

    assert not Client.objects.filter(pk=client.pk).exists()
    assert not Chat.objects.filter(session__client_id=client.pk).exists()
    logged = [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]
    assert sorted(logged) == sorted(
        f"could not delete the stored file {file.name} of a deleted chat" for file in files
    )
