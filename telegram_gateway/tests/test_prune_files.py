"""`manage.py prune_files --older-than DAYS`: old cached client files go, and come back.

Files are cached through the real view and the emulator, as test_files does.
"""

from datetime import timedelta
from io import StringIO

import pytest
from asgiref.sync import sync_to_async
from django.core.management import CommandError, call_command
from django.utils import timezone

from conversations.models import Chat
from telegram_gateway.tests import test_files
from telegram_gateway.tests.test_files import ANN, PHOTO, fetch, login, stored_files

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

# The file view's fixtures, as test_files defines them (the autouse ones included).
close_bots = test_files.close_bots
no_token_in_logs = test_files.no_token_in_logs
make_chat = test_files.make_chat
people = test_files.people
telegram = test_files.telegram


@sync_to_async
def prune(*args: str) -> str:
    out = StringIO()
    call_command("prune_files", *args, stdout=out)
    return out.getvalue()


@sync_to_async
def age(chat: Chat, days: int) -> None:
    Chat.objects.filter(pk=chat.pk).update(created_at=timezone.now() - timedelta(days=days))


async def cached_photo(async_client, telegram, make_chat, data: bytes = PHOTO) -> Chat:
    update = telegram.inject_photo(ANN, data)
    chat = await make_chat(file_id=update["message"]["photo"][-1]["file_id"])
    response, body = await fetch(async_client, chat.file_url)
    assert (response.status_code, body) == (200, data)
    await chat.arefresh_from_db()
    assert chat.local_file.name.startswith("chats/cache/")
    return chat


async def test_an_old_cached_file_is_deleted_and_fetched_again_on_the_next_view(
    async_client, telegram, make_chat, people, media_root
):
    await login(async_client, people["cs1"])
    chat = await cached_photo(async_client, telegram, make_chat)
    copy = media_root / chat.local_file.name
    await age(chat, 31)

    output = await prune("--older-than", "30")

    assert output == f"Deleted 1 cached file(s), {len(PHOTO)} bytes (0.7 MiB).\n"
    assert not copy.exists()
    assert not copy.parent.exists()  # the chat's empty cache folder went too
    await chat.arefresh_from_db()
    assert not chat.local_file
    assert telegram.requests("getFile") == 1

    response, body = await fetch(async_client, chat.file_url)

    assert (response.status_code, body) == (200, PHOTO)
    assert telegram.requests("getFile") == 2
    await chat.arefresh_from_db()
    assert (media_root / chat.local_file.name).read_bytes() == PHOTO


async def test_a_recent_cached_file_is_kept(async_client, telegram, make_chat, people, media_root):
    await login(async_client, people["cs1"])
    old = await cached_photo(async_client, telegram, make_chat, b"old" * 100)
    recent = await cached_photo(async_client, telegram, make_chat, b"recent" * 100)
    await age(old, 10)
    await age(recent, 5)

    output = await prune("--older-than", "7")

    assert output.startswith("Deleted 1 cached file(s), 300 bytes")
    await old.arefresh_from_db()
    await recent.arefresh_from_db()
    assert not old.local_file
    assert (media_root / recent.local_file.name).read_bytes() == b"recent" * 100
    response, body = await fetch(async_client, recent.file_url)
    assert (response.status_code, body) == (200, b"recent" * 100)
    assert telegram.requests("getFile") == 2  # the two first views only


async def test_an_agents_upload_is_kept_whatever_its_age(
    async_client, telegram, make_chat, people, media_root
):
    # Sent long ago (so Telegram gave it a file id), yet our copy is the one we serve.
    (media_root / "chats/2020/01").mkdir(parents=True)
    (media_root / "chats/2020/01/contract.pdf").write_bytes(b"%PDF-1.4 contract")
    upload = await make_chat(
        name="contract.pdf",
        kind=Chat.MessageType.FILE,
        local_file="chats/2020/01/contract.pdf",
        sender=Chat.SenderType.CS,
        file_id="BQACAgIAAxkBAAI-sent-long-ago",
    )
    await age(upload, 2000)

    output = await prune("--older-than", "0")

    assert output.startswith("Deleted 0 cached file(s), 0 bytes")
    assert (media_root / "chats/2020/01/contract.pdf").read_bytes() == b"%PDF-1.4 contract"
    await upload.arefresh_from_db()
    assert upload.local_file.name == "chats/2020/01/contract.pdf"
    await login(async_client, people["cs1"])
    response, body = await fetch(async_client, upload.file_url)
    assert (response.status_code, body) == (200, b"%PDF-1.4 contract")
    assert telegram.requests() == 0


async def test_a_dry_run_counts_but_changes_nothing(
    async_client, telegram, make_chat, people, media_root
):
    await login(async_client, people["cs1"])
    chat = await cached_photo(async_client, telegram, make_chat)
    await age(chat, 90)
    before = {path: path.read_bytes() for path in stored_files(media_root)}

    output = await prune("--older-than", "30", "--dry-run")

    assert output == f"Would delete 1 cached file(s), {len(PHOTO)} bytes (0.7 MiB).\n"
    assert {path: path.read_bytes() for path in stored_files(media_root)} == before
    name = chat.local_file.name
    await chat.arefresh_from_db()
    assert chat.local_file.name == name
    response, body = await fetch(async_client, chat.file_url)
    assert (response.status_code, body) == (200, PHOTO)
    assert telegram.requests("getFile") == 1


async def test_a_copy_already_lost_is_still_forgotten(
    async_client, telegram, make_chat, people, media_root
):
    await login(async_client, people["cs1"])
    chat = await cached_photo(async_client, telegram, make_chat)
    (media_root / chat.local_file.name).unlink()
    await age(chat, 31)

    output = await prune("--older-than", "30")

    assert output.startswith("Deleted 1 cached file(s), 0 bytes")
    await chat.arefresh_from_db()
    assert not chat.local_file


async def test_a_negative_age_is_refused():
    with pytest.raises(CommandError, match="0 or more"):
        await prune("--older-than", "-1")
    with pytest.raises(CommandError):
        await prune()  # required: a bare run must not delete everything
