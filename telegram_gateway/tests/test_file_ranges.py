"""`/files/…` answers one byte range with 206, so a browser can seek in a client's video.

Through the real view and the emulator, as test_files does: from the cached copy and
on the first fetch from Telegram, with the view's authorization unchanged.
"""

import io
import os

import pytest
import pytest_asyncio

from conversations.models import Chat
from telegram_gateway.tests import test_files
from telegram_gateway.tests.test_files import ANN, SECRET_PART, login
from telegram_gateway.views import NO_FILE, NO_RANGE, _chunks

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

# The file view's fixtures, as test_files defines them (the autouse ones included).
close_bots = test_files.close_bots
no_token_in_logs = test_files.no_token_in_logs
make_chat = test_files.make_chat
people = test_files.people
telegram = test_files.telegram

# ~900 kB of MP4-ish bytes: several 256 kB chunks, so slices cross chunk edges.
VIDEO = b"\x00\x00\x00\x18ftypmp42" + os.urandom(900_000)
SIZE = len(VIDEO)


async def get(client, url: str, method: str = "get", **headers):
    response = await getattr(client, method)(url, headers=headers)
    if not response.streaming:
        body = response.content
    elif response.is_async:
        body = b"".join([chunk async for chunk in response.streaming_content])
    else:  # HEAD
        body = b"".join(response.streaming_content)
    assert SECRET_PART.encode() not in body
    return response, body


async def video_chat(telegram, make_chat) -> Chat:
    update = telegram.inject_video(ANN, VIDEO, filename="clip.mp4")
    return await make_chat(
        file_id=update["message"]["video"]["file_id"], name="clip.mp4", kind=Chat.MessageType.VIDEO
    )


@pytest_asyncio.fixture
async def cached_video(async_client, telegram, make_chat, people):
    """A client's video already fetched once by cs1, so it is served from the cache."""
    chat = await video_chat(telegram, make_chat)
    await login(async_client, people["cs1"])
    response, body = await get(async_client, chat.file_url)
    assert (response.status_code, body) == (200, VIDEO)
    await chat.arefresh_from_db()
    assert chat.local_file
    return chat


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=300000-600000", 300_000, 600_000),  # across chunk edges
        (f"bytes={SIZE - 10}-", SIZE - 10, SIZE - 1),
        ("bytes=-500", SIZE - 500, SIZE - 1),
        (f"bytes=-{SIZE * 2}", 0, SIZE - 1),  # a suffix longer than the file: all of it
        (f"bytes=100-{SIZE * 2}", 100, SIZE - 1),  # an end past the file is cut
        ("Bytes=5-5", 5, 5),
    ],
)
async def test_one_range_of_the_cached_file_is_a_206_with_exactly_those_bytes(
    async_client, telegram, cached_video, header, first, last
):
    response, body = await get(async_client, cached_video.file_url, Range=header)

    assert response.status_code == 206
    assert body == VIDEO[first : last + 1]
    assert response["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
    assert response["Content-Length"] == str(last - first + 1)
    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Disposition"] == 'inline; filename="clip.mp4"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert telegram.requests("getFile") == 1  # the cache answered


async def test_a_whole_file_says_it_accepts_ranges(async_client, telegram, cached_video):
    response, body = await get(async_client, cached_video.file_url)
    assert (response.status_code, body) == (200, VIDEO)
    assert response["Accept-Ranges"] == "bytes"
    assert "Content-Range" not in response


async def test_a_browser_seeking_in_a_video_gets_the_rest_from_there(
    async_client, telegram, cached_video
):
    """Chromium asks `bytes=0-` on load, then `bytes=N-` where the user drags to."""
    response, body = await get(async_client, cached_video.file_url, Range="bytes=0-")
    assert (response.status_code, body) == (206, VIDEO)
    assert response["Content-Range"] == f"bytes 0-{SIZE - 1}/{SIZE}"

    seek = 654_321
    response, body = await get(async_client, cached_video.file_url, Range=f"bytes={seek}-")
    assert response.status_code == 206
    assert body == VIDEO[seek:]
    assert response["Content-Range"] == f"bytes {seek}-{SIZE - 1}/{SIZE}"
    assert response["Content-Length"] == str(SIZE - seek)
    assert telegram.requests("getFile") == 1


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 5}-{SIZE + 9}", "bytes=-0"])
async def test_a_range_outside_the_file_is_a_416_naming_the_size(
    async_client, telegram, cached_video, header
):
    response, body = await get(async_client, cached_video.file_url, Range=header)

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{SIZE}"
    assert body == NO_RANGE.encode()
    assert VIDEO[:100] not in body


@pytest.mark.parametrize(
    "header",
    ["bytes=0-1,5-6", "bytes=9-3", "items=0-5", "bytes=abc", "bytes=-", "bytes 0-5", "0-5"],
    ids=["two-ranges", "backwards", "other-unit", "letters", "empty", "no-equals", "no-unit"],
)
async def test_a_malformed_or_multiple_range_gets_the_whole_file(
    async_client, telegram, cached_video, header
):
    response, body = await get(async_client, cached_video.file_url, Range=header)
    assert (response.status_code, body) == (200, VIDEO)
    assert response["Content-Length"] == str(SIZE)
    assert "Content-Range" not in response


async def test_if_range_is_not_checkable_so_the_whole_file_is_sent(
    async_client, telegram, cached_video
):
    response, body = await get(
        async_client, cached_video.file_url, Range="bytes=0-9", **{"If-Range": '"x"'}
    )
    assert (response.status_code, body) == (200, VIDEO)


async def test_head_with_a_range_gives_the_slices_headers(async_client, telegram, cached_video):
    response, body = await get(async_client, cached_video.file_url, "head", Range="bytes=10-19")
    assert (response.status_code, body) == (206, b"")
    assert response["Content-Length"] == "10"
    assert response["Content-Range"] == f"bytes 10-19/{SIZE}"


@pytest.mark.parametrize("cache", [True, False], ids=["cached-after", "no-cache"])
async def test_the_first_fetch_from_telegram_already_answers_the_range(
    async_client,
    telegram,
    settings,
    make_chat,
    people,
    media_root,
    cache,
):
    """The view downloads the whole file before answering, so its size is known."""
    settings.TELEGRAM_FILE_CACHE = cache
    chat = await video_chat(telegram, make_chat)
    await login(async_client, people["cs1"])

    response, body = await get(async_client, chat.file_url, Range="bytes=500000-")

    assert response.status_code == 206
    assert body == VIDEO[500_000:]
    assert response["Content-Range"] == f"bytes 500000-{SIZE - 1}/{SIZE}"
    assert telegram.requests("getFile") == 1
    await chat.arefresh_from_db()
    assert bool(chat.local_file) is cache


async def test_another_agent_with_a_range_gets_the_same_404_and_no_bytes(
    async_client,
    telegram,
    cached_video,
    people,
):
    await login(async_client, people["cs2"])
    for header in ("bytes=0-99", f"bytes={SIZE}-", "bytes=-5"):
        response, body = await get(async_client, cached_video.file_url, Range=header)
        assert (response.status_code, body) == (404, NO_FILE.encode())
        assert "Content-Range" not in response


async def test_another_agent_gets_nothing_fetched_for_a_range_either(
    async_client,
    telegram,
    make_chat,
    people,
    media_root,
):
    chat = await video_chat(telegram, make_chat)
    await login(async_client, people["cs2"])
    response, body = await get(async_client, chat.file_url, Range="bytes=0-99")
    assert (response.status_code, body) == (404, NO_FILE.encode())
    assert telegram.requests("getFile") == 0
    assert not list(media_root.rglob("*.mp4"))


async def test_anonymous_with_a_range_is_sent_to_log_in(
    async_client,
    telegram,
    make_chat,
):
    chat = await video_chat(telegram, make_chat)
    response, body = await get(async_client, chat.file_url, Range="bytes=0-99")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    assert body == b""
    assert telegram.requests("getFile") == 0


async def test_an_admin_gets_a_range_of_any_chats_file(
    async_client,
    telegram,
    cached_video,
    people,
):
    await login(async_client, people["admin"])
    response, body = await get(async_client, cached_video.file_url, Range="bytes=-100")
    assert (response.status_code, body) == (206, VIDEO[-100:])


class CountingFile(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


async def test_a_range_reads_only_its_slice_from_the_handle():
    handle = CountingFile(VIDEO)
    body = b"".join([chunk async for chunk in _chunks(handle, 400_000, 1000)])
    assert body == VIDEO[400_000:401_000]
    assert handle.bytes_read == 1000
