"""Chats' files live wherever STORAGES["default"] says: object storage is a settings change.

Django's InMemoryStorage stands in for object storage (S3 and the like): nothing it holds
is on the local disk, so any code still reaching for a local path fails here. The real
view, delivery worker and prune command run against it, with the emulator as Telegram.
"""

from datetime import timedelta
from io import StringIO

import pytest
from asgiref.sync import sync_to_async
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from conversations.models import Chat
from conversations.services import chat_send
from telegram_gateway.tests import test_files
from telegram_gateway.tests.test_delivery import delivered, open_session
from telegram_gateway.tests.test_file_ranges import VIDEO, get, video_chat
from telegram_gateway.tests.test_files import login

pytestmark = pytest.mark.django_db(transaction=True)
Status = Chat.DeliveryStatus

# The file view's fixtures, as test_files defines them (the autouse ones included).
close_bots = test_files.close_bots
no_token_in_logs = test_files.no_token_in_logs
make_chat = test_files.make_chat
people = test_files.people
telegram = test_files.telegram


@pytest.fixture(autouse=True)
def object_storage(settings, media_root):
    """Only STORAGES changes; afterwards the local MEDIA_ROOT must still not exist."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    yield default_storage
    assert not media_root.exists()


def stored(name: str) -> bytes:
    with default_storage.open(name, "rb") as file:
        return file.read()


class TestAgentsUploads:
    def test_an_upload_is_stored_and_sent_to_the_client_from_storage(
        self, emulator, people, start_worker
    ):
        session = open_session(emulator, people["cs1"], 9301)
        content = b"%PDF-1.4 " + bytes(range(256)) * 1200  # ~300 kB: several upload chunks
        upload = SimpleUploadedFile("invoice.pdf", content, content_type="application/pdf")
        chat = chat_send(session=session, agent=people["cs1"], text="Invoice", upload=upload)
        assert stored(chat.local_file.name) == content

        start_worker()
        sent = delivered(chat)

        (record,) = emulator.sent(chat_id=9301, method="sendDocument")
        (sent_file,) = record.files
        assert (sent_file.data, sent_file.filename) == (content, "invoice.pdf")
        assert sent.telegram_file_id == sent_file.file_id

    def test_an_image_goes_as_a_photo_by_its_stored_size(self, emulator, people, start_worker):
        session = open_session(emulator, people["cs1"], 9302)
        upload = SimpleUploadedFile("shot.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")
        chat = chat_send(session=session, agent=people["cs1"], upload=upload)

        start_worker()
        delivered(chat)

        assert len(emulator.sent(chat_id=9302, method="sendPhoto")) == 1

    def test_an_upload_gone_from_storage_fails_the_reply_without_retrying(
        self, emulator, people, start_worker
    ):
        session = open_session(emulator, people["cs1"], 9303)
        upload = SimpleUploadedFile("notes.txt", b"notes", content_type="text/plain")
        chat = chat_send(session=session, agent=people["cs1"], upload=upload)
        default_storage.delete(chat.local_file.name)

        start_worker()
        failed = delivered(chat, Status.FAILED)

        assert failed.delivery_error == "The stored file is missing"
        assert failed.delivery_attempts == 1
        assert emulator.sent(chat_id=9303) == []


@sync_to_async
def prune(days: int) -> str:
    out = StringIO()
    call_command("prune_files", "--older-than", str(days), stdout=out)
    return out.getvalue()


@pytest.mark.asyncio
async def test_a_clients_file_is_cached_served_by_range_and_pruned_in_storage(
    async_client, telegram, make_chat, people
):
    chat = await video_chat(telegram, make_chat)
    await login(async_client, people["cs1"])

    # The first view answers the range from the download, and keeps a copy in storage.
    response, body = await get(async_client, chat.file_url, Range="bytes=500000-")
    assert (response.status_code, body) == (206, VIDEO[500_000:])
    await chat.arefresh_from_db()
    assert chat.local_file.name == f"chats/cache/{chat.pk}/clip.mp4"
    assert await sync_to_async(stored)(chat.local_file.name) == VIDEO

    # Later views read only the range asked, from storage: Telegram is not asked again.
    response, body = await get(async_client, chat.file_url, Range="bytes=100-199")
    assert (response.status_code, body) == (206, VIDEO[100:200])
    assert response["Content-Range"] == f"bytes 100-199/{len(VIDEO)}"
    response, body = await get(async_client, chat.file_url)
    assert (response.status_code, body) == (200, VIDEO)
    assert response["Content-Length"] == str(len(VIDEO))
    assert telegram.requests("getFile") == 1

    await Chat.objects.filter(pk=chat.pk).aupdate(created_at=timezone.now() - timedelta(days=40))
    output = await prune(30)

    assert output.startswith(f"Deleted 1 cached file(s), {len(VIDEO)} bytes")
    assert not await sync_to_async(default_storage.exists)(chat.local_file.name)
    folders, _ = await sync_to_async(default_storage.listdir)("chats/cache")
    assert chat.pk not in folders  # the chat's emptied folder went too
    response, body = await get(async_client, chat.file_url, Range="bytes=0-9")
    assert (response.status_code, body) == (206, VIDEO[:10])
    assert telegram.requests("getFile") == 2
