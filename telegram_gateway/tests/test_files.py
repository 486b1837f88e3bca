"""Clients' files for agents: `/files/<chat id>/<name>` resolves Telegram's file id.

The view runs on the test's event loop (AsyncClient) and talks HTTP to the emulator.
"""

import asyncio
import io
import logging
import os
import struct
from pathlib import Path

import pytest
import pytest_asyncio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from asgiref.sync import sync_to_async

from accounts.models import User
from conversations.models import Chat, Client, Session
from conversations.services import chat_file_url
from telegram_emulator.pytest_fixtures import BOT_TOKEN
from telegram_gateway.bot import build_bot
from telegram_gateway.files import (
    EXPIRED,
    TOO_BIG,
    UNAVAILABLE,
    FileFetchError,
    telegram_file_download,
)
from telegram_gateway.views import NO_FILE, runtime_bot

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ANN = 8101
# A PNG header and ~700 kB: several chunks both from Telegram and to the browser.
PHOTO = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + struct.pack(">II", 64, 48) + os.urandom(700_000)
SECRET_PART = BOT_TOKEN.split(":", 1)[1]


@pytest.fixture(autouse=True)
def no_token_in_logs(caplog):
    """Every case: not one captured log line (with tracebacks) holds the token."""
    caplog.set_level(logging.DEBUG)
    yield
    assert BOT_TOKEN not in caplog.text
    assert SECRET_PART not in caplog.text
    for record in caplog.records:
        assert SECRET_PART not in record.getMessage()


@pytest.fixture
def telegram(settings, emulator, bot_token):
    settings.TELEGRAM_BOT_TOKEN = bot_token
    settings.TELEGRAM_API_BASE = emulator.base_url
    emulator.add_user(ANN, "Ann")
    return emulator


@pytest_asyncio.fixture(autouse=True)
async def close_bots():
    """The view's bot belongs to the test's loop: close its HTTP session afterwards."""
    runtime_bot.instances.clear()
    yield
    bot = runtime_bot.instances.pop(asyncio.get_running_loop(), None)
    if bot is not None:
        await bot.session.close()


@pytest.fixture
def people(make_user):
    return {
        "cs1": make_user("cs1@helpdesk.com"),
        "cs2": make_user("cs2@helpdesk.com"),
        "admin": make_user("admin@helpdesk.com", role=User.Role.ADMIN),
    }


@pytest.fixture
def make_chat(people):
    """A client's chat in cs1's session, as the bot stores it."""

    def make(
        *,
        file_id: str = "",
        name: str = "photo.jpg",
        kind: str = Chat.MessageType.IMAGE,
        local_file: str = "",
        sender: str = Chat.SenderType.CLIENT,
    ) -> Chat:
        client, _ = Client.objects.get_or_create(telegram_id=str(ANN), defaults={"name": "Ann"})
        session, _ = Session.objects.get_or_create(
            client=client, status=Session.Status.ACTIVE, defaults={"cs": people["cs1"]}
        )
        chat = Chat(
            session=session,
            sender_type=sender,
            message_type=kind,
            telegram_file_id=file_id,
            local_file=local_file,
        )
        chat.file_url = chat_file_url(chat_id=chat.id, file_name=name)
        chat.save()
        return chat

    return sync_to_async(make)


async def fetch(client, url: str, method: str = "get"):
    """Request `url`; return the response and its whole body, checked for the token."""
    response = await getattr(client, method)(url)
    if not response.streaming:
        body = response.content
    elif response.is_async:
        body = b"".join([chunk async for chunk in response.streaming_content])
    else:  # HEAD: the test client dropped the body
        body = b"".join(response.streaming_content)
    assert SECRET_PART.encode() not in body
    for header, value in response.headers.items():
        assert SECRET_PART not in header + value
    return response, body


async def login(client, user: User):
    await client.aforce_login(user)
    return client


def stored_files(root: Path) -> list[Path]:
    return [path for path in Path(root).rglob("*") if path.is_file()]


async def photo_chat(telegram, make_chat) -> Chat:
    update = telegram.inject_photo(ANN, PHOTO)
    return await make_chat(file_id=update["message"]["photo"][-1]["file_id"])


async def test_the_assigned_agent_gets_the_photo_then_from_the_cache(
    async_client, telegram, make_chat, people, media_root
):
    chat = await photo_chat(telegram, make_chat)
    await login(async_client, people["cs1"])

    response, body = await fetch(async_client, chat.file_url)

    assert response.status_code == 200
    assert body == PHOTO
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == 'inline; filename="photo.jpg"'
    assert response["Content-Length"] == str(len(PHOTO))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "private" in response["Cache-Control"]
    assert telegram.requests("getFile") == 1
    await chat.arefresh_from_db()
    assert chat.local_file.name == f"chats/cache/{chat.pk}/photo.jpg"
    assert (media_root / chat.local_file.name).read_bytes() == PHOTO
    assert [p.name for p in stored_files(media_root)] == ["photo.jpg"]  # no temp file left

    response, body = await fetch(async_client, chat.file_url)
    assert (response.status_code, body) == (200, PHOTO)
    assert telegram.requests("getFile") == 1


async def test_the_name_in_the_address_is_cosmetic(async_client, telegram, make_chat, people):
    chat = await photo_chat(telegram, make_chat)
    await login(async_client, people["cs1"])
    response, body = await fetch(async_client, f"/files/{chat.pk}/whatever.exe")
    assert body == PHOTO
    assert response["Content-Disposition"] == 'inline; filename="photo.jpg"'


async def test_another_agent_gets_the_same_404_as_for_a_missing_chat(
    async_client, telegram, make_chat, people, media_root
):
    chat = await photo_chat(telegram, make_chat)
    await login(async_client, people["cs2"])

    theirs, theirs_body = await fetch(async_client, chat.file_url)
    missing, missing_body = await fetch(async_client, "/files/nosuchchat/photo.jpg")

    assert theirs.status_code == missing.status_code == 404
    assert theirs_body == missing_body == NO_FILE.encode()
    assert telegram.requests("getFile") == 0
    assert stored_files(media_root) == []


async def test_anonymous_is_sent_to_log_in_with_no_bytes(async_client, telegram, make_chat):
    chat = await photo_chat(telegram, make_chat)

    response, body = await fetch(async_client, chat.file_url)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    assert body == b""
    assert telegram.requests("getFile") == 0


async def test_an_admin_gets_any_chats_file(async_client, telegram, make_chat, people):
    chat = await photo_chat(telegram, make_chat)
    await login(async_client, people["admin"])
    response, body = await fetch(async_client, chat.file_url)
    assert (response.status_code, body) == (200, PHOTO)


async def test_a_document_over_20_mb_gets_the_clear_message_and_stores_nothing(
    async_client, telegram, make_chat, people, media_root
):
    update = telegram.inject_document(ANN, b"x", filename="huge.zip", size=21 * 2**20)
    chat = await make_chat(
        file_id=update["message"]["document"]["file_id"],
        name="huge.zip",
        kind=Chat.MessageType.FILE,
    )
    await login(async_client, people["cs1"])

    response, body = await fetch(async_client, chat.file_url)

    assert response.status_code == 502
    assert body.decode() == TOO_BIG
    assert response["Content-Type"].startswith("text/plain")
    assert stored_files(media_root) == []
    await chat.arefresh_from_db()
    assert not chat.local_file


async def test_an_unknown_file_id_says_telegram_no_longer_has_it(
    async_client, telegram, make_chat, people, media_root
):
    chat = await make_chat(file_id="AgACAgADAQ999999gone")
    await login(async_client, people["cs1"])

    response, body = await fetch(async_client, chat.file_url)

    assert (response.status_code, body.decode()) == (502, EXPIRED)
    assert stored_files(media_root) == []


async def test_telegram_failing_is_a_503_and_a_retry_works(
    async_client, telegram, make_chat, people
):
    chat = await photo_chat(telegram, make_chat)
    telegram.fail_next("getFile", 500)
    await login(async_client, people["cs1"])

    response, body = await fetch(async_client, chat.file_url)
    assert (response.status_code, body.decode()) == (503, UNAVAILABLE)

    response, body = await fetch(async_client, chat.file_url)
    assert (response.status_code, body) == (200, PHOTO)


async def test_telegram_unreachable_is_a_503(async_client, telegram, settings, make_chat, people):
    chat = await photo_chat(telegram, make_chat)
    settings.TELEGRAM_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    await login(async_client, people["cs1"])

    response, body = await fetch(async_client, chat.file_url)

    assert (response.status_code, body.decode()) == (503, UNAVAILABLE)


async def test_a_chat_without_a_file_is_a_404(async_client, telegram, make_chat, people):
    chat = await make_chat(kind=Chat.MessageType.TEXT)
    await login(async_client, people["cs1"])
    response, body = await fetch(async_client, chat.file_url)
    assert (response.status_code, body) == (404, NO_FILE.encode())


async def test_a_local_upload_is_served_without_telegram(
    async_client, telegram, make_chat, people, media_root
):
    (media_root / "chats/2025/01").mkdir(parents=True)
    (media_root / "chats/2025/01/report.pdf").write_bytes(b"%PDF-1.4 report")
    chat = await make_chat(
        name="report.pdf",
        kind=Chat.MessageType.FILE,
        local_file="chats/2025/01/report.pdf",
        sender=Chat.SenderType.CS,
    )
    await login(async_client, people["cs1"])

    response, body = await fetch(async_client, chat.file_url)

    assert (response.status_code, body) == (200, b"%PDF-1.4 report")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="report.pdf"'
    assert telegram.requests() == 0


async def test_a_lost_cached_copy_is_fetched_again(
    async_client, telegram, make_chat, people, media_root
):
    chat = await photo_chat(telegram, make_chat)
    await login(async_client, people["cs1"])
    await fetch(async_client, chat.file_url)
    for path in stored_files(media_root):
        path.unlink()

    response, body = await fetch(async_client, chat.file_url)

    assert (response.status_code, body) == (200, PHOTO)
    assert telegram.requests("getFile") == 2
    # Kept again where the chat still looked for it, so the next view is served from it.
    await chat.arefresh_from_db()
    assert (media_root / chat.local_file.name).read_bytes() == PHOTO
    assert len(stored_files(media_root)) == 1
    response, body = await fetch(async_client, chat.file_url)
    assert (response.status_code, body) == (200, PHOTO)
    assert telegram.requests("getFile") == 2


async def test_without_the_cache_nothing_is_kept(
    async_client, telegram, settings, make_chat, people, media_root
):
    settings.TELEGRAM_FILE_CACHE = False
    update = telegram.inject_video(ANN, b"\x00\x00\x00\x18ftypmp42" * 1000, filename="clip.mp4")
    chat = await make_chat(
        file_id=update["message"]["video"]["file_id"], name="clip.mp4", kind=Chat.MessageType.VIDEO
    )
    await login(async_client, people["cs1"])

    for _ in range(2):
        response, body = await fetch(async_client, chat.file_url)
        assert body == b"\x00\x00\x00\x18ftypmp42" * 1000
        assert response["Content-Type"] == "video/mp4"
        assert response["Content-Disposition"] == 'inline; filename="clip.mp4"'

    assert telegram.requests("getFile") == 2
    assert stored_files(media_root) == []
    await chat.arefresh_from_db()
    assert not chat.local_file


@pytest.mark.parametrize(
    ("name", "disposition"),
    [
        (
            '<script>alert("x")</script>.html',
            r'attachment; filename="<script>alert(\"x\")</script>.html"',
        ),
        (
            "évil\r\nSet-Cookie: a=1.txt",
            "attachment; filename*=utf-8''%C3%A9vil%0D%0ASet-Cookie%3A%20a%3D1.txt",
        ),
        (
            "<img src=x onerror=alert(1)>.svg",
            'attachment; filename="<img src=x onerror=alert(1)>.svg"',
        ),
    ],
)
async def test_html_ish_names_are_quoted_and_never_shown_inline(
    async_client, telegram, make_chat, people, media_root, name, disposition
):
    update = telegram.inject_document(ANN, b"<script>alert(1)</script>", filename=name)
    chat = await make_chat(
        file_id=update["message"]["document"]["file_id"], name=name, kind=Chat.MessageType.IMAGE
    )
    await login(async_client, people["cs1"])

    response, body = await fetch(async_client, chat.file_url)

    assert (response.status_code, body) == (200, b"<script>alert(1)</script>")
    assert response["Content-Disposition"] == disposition
    assert "Set-Cookie" not in response.headers
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    # The cached copy got a plain name inside the chat's own folder.
    [cached] = stored_files(media_root)
    assert cached.parent == media_root / "chats/cache" / chat.pk
    assert not set(cached.name) & set('<>"\r\n :/\\')


async def test_only_get_and_head(async_client, telegram, make_chat, people):
    chat = await photo_chat(telegram, make_chat)
    await login(async_client, people["cs1"])
    assert (await async_client.post(chat.file_url)).status_code == 405
    response, body = await fetch(async_client, chat.file_url, method="head")
    assert (response.status_code, body) == (200, b"")
    assert response["Content-Length"] == str(len(PHOTO))


class TestDownload:
    """`telegram_file_download` on its own: the 20 MB cap when getFile's size lies."""

    @pytest_asyncio.fixture
    async def bot(self, telegram):
        bot = build_bot(BOT_TOKEN, telegram.base_url)
        yield bot
        await bot.session.close()

    async def test_a_size_over_the_cap_is_refused_before_downloading(self, bot, telegram):
        file_id = telegram.add_file(b"x" * 2000, filename="a.bin")
        out = io.BytesIO()
        with pytest.raises(FileFetchError) as caught:
            await telegram_file_download(bot, file_id, out, max_bytes=1000)
        assert (caught.value.message, caught.value.status) == (TOO_BIG, 502)
        assert out.getvalue() == b""

    async def test_the_stream_is_cut_at_the_cap(self, bot, telegram):
        file_id = telegram.add_file(b"x" * 200_000, filename="a.bin", size=10)  # getFile says 10
        out = io.BytesIO()
        with pytest.raises(FileFetchError) as caught:
            await telegram_file_download(bot, file_id, out, max_bytes=100_000)
        assert caught.value.message == TOO_BIG
        assert len(out.getvalue()) <= 100_000

    @pytest.mark.parametrize(
        ("file_host", "message", "status"),
        [
            ("{base}/nowhere", EXPIRED, 502),  # the file server answers 404
            ("http://[::1", UNAVAILABLE, 503),  # aiohttp's InvalidURL quotes the whole URL
        ],
        ids=["not-found", "invalid-url"],
    )
    async def test_a_failed_download_is_reported_without_the_token(
        self, telegram, caplog, file_host, message, status
    ):
        file_id = telegram.add_file(b"x" * 100, filename="a.bin")
        host = file_host.format(base=telegram.base_url)
        server = TelegramAPIServer(
            base=f"{telegram.base_url}/bot{{token}}/{{method}}",
            file=f"{host}/file/bot{{token}}/{{path}}",
        )
        bot = Bot(BOT_TOKEN, session=AiohttpSession(api=server))
        out = io.BytesIO()
        try:
            with pytest.raises(FileFetchError) as caught:
                await telegram_file_download(bot, file_id, out)
        finally:
            await bot.session.close()
        assert (caught.value.message, caught.value.status) == (message, status)
        assert caught.value.__suppress_context__  # tracebacks leave out aiohttp's error
        assert out.getvalue() == b""
        assert "download of documents/" in caplog.text
