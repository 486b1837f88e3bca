"""getFile and the file download URL, as aiogram uses them."""

import struct

import aiohttp
import pytest
from aiogram.exceptions import TelegramBadRequest

pytestmark = pytest.mark.asyncio


def png(width: int, height: int) -> bytes:
    return (
        b"\x89PNG\r\n\x1a\n"
        + b"\x00\x00\x00\rIHDR"
        + struct.pack(">II", width, height)
        + b"x" * 500
    )


async def test_injected_photo_round_trips_through_get_file(async_emulator, emulated_bot):
    data = png(1600, 1200)
    update = async_emulator.inject_photo(42, data, caption="broken screen")

    sizes = update["message"]["photo"]
    assert len(sizes) >= 3
    assert [s["width"] for s in sizes] == sorted(s["width"] for s in sizes)
    assert (sizes[-1]["width"], sizes[-1]["height"], sizes[-1]["file_size"]) == (
        1600,
        1200,
        len(data),
    )

    [polled] = await emulated_bot.get_updates()
    largest = polled.message.photo[-1]
    file = await emulated_bot.get_file(largest.file_id)
    assert file.file_size == len(data)
    assert file.file_unique_id == largest.file_unique_id
    downloaded = await emulated_bot.download_file(file.file_path)
    assert downloaded.read() == data

    smallest = await emulated_bot.get_file(polled.message.photo[0].file_id)
    assert smallest.file_size < len(data)


async def test_file_over_20_mb_cannot_be_fetched(async_emulator, emulated_bot):
    update = async_emulator.inject_document(42, b"\0" * (20 * 1024 * 1024 + 1), "big.zip")

    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await emulated_bot.get_file(update["message"]["document"]["file_id"])

    faked = async_emulator.add_file(size=50 * 1024 * 1024)
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await emulated_bot.get_file(faked)


async def test_wrong_file_id(emulated_bot):
    with pytest.raises(TelegramBadRequest, match="wrong file_id or the file is temporarily"):
        await emulated_bot.get_file("nope")


async def test_download_url_checks_token_and_path(async_emulator, emulated_bot, bot_token):
    update = async_emulator.inject_document(42, b"hello", "hello.txt")
    file = await emulated_bot.get_file(update["message"]["document"]["file_id"])
    base = async_emulator.base_url

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/file/bot{bot_token}/{file.file_path}") as response:
            assert (response.status, await response.read()) == (200, b"hello")
        async with http.get(f"{base}/file/bot{bot_token}/documents/missing.txt") as response:
            assert response.status == 404
            assert (await response.json())["description"] == "Not Found"
        async with http.get(f"{base}/file/bot1:WRONG/{file.file_path}") as response:
            assert response.status == 401


async def test_a_gif_arrives_as_animation_and_document_of_one_file(async_emulator, emulated_bot):
    link = {"type": "text_link", "offset": 3, "length": 4, "url": "https://shop.example/o/9"}
    async_emulator.inject_animation(
        42, b"\x00\x00\x00\x18ftypmp42 gif", caption="📦 here", caption_entities=[link]
    )

    [polled] = await emulated_bot.get_updates()
    message = polled.message
    assert message.animation.file_id == message.document.file_id
    assert (message.animation.mime_type, message.document.file_name) == (
        "video/mp4",
        "animation.gif.mp4",
    )
    (entity,) = message.caption_entities
    assert (entity.extract_from(message.caption), entity.url) == ("here", link["url"])
    file = await emulated_bot.get_file(message.animation.file_id)
    assert (await emulated_bot.download_file(file.file_path)).read().endswith(b"gif")


async def test_a_file_given_as_a_path_or_file_object_round_trips(
    async_emulator, emulated_bot, tmp_path
):
    """The sandbox hands over uploads on disk; the caller may delete its copy at once."""
    content = bytes(range(256)) * 1024  # bigger than one copy chunk
    source = tmp_path / "report.pdf"
    source.write_bytes(content)
    from_path = async_emulator.inject_document(42, source, "report.pdf", "application/pdf")
    with source.open("rb") as file:
        from_file = async_emulator.inject_video(42, file, caption="clip", filename="clip.mp4")
    source.unlink()

    document = from_path["message"]["document"]
    video = from_file["message"]["video"]
    assert (document["file_size"], video["file_size"]) == (len(content), len(content))
    for file_id in (document["file_id"], video["file_id"]):
        file = await emulated_bot.get_file(file_id)
        assert (await emulated_bot.download_file(file.file_path)).read() == content
        assert async_emulator.file_bytes(file_id) == content


async def test_a_photo_given_as_a_path_has_sizes_like_one_given_as_bytes(
    async_emulator, emulated_bot, tmp_path
):
    data = png(1600, 1200)
    path = tmp_path / "screen.png"
    path.write_bytes(data)

    from_path = async_emulator.inject_photo(42, str(path))["message"]["photo"]
    from_bytes = async_emulator.inject_photo(42, data)["message"]["photo"]

    def shape(sizes):
        return [(s["width"], s["height"], s["file_size"]) for s in sizes]

    assert shape(from_path) == shape(from_bytes)
    assert shape(from_path)[-1] == (1600, 1200, len(data))
    smallest = await emulated_bot.get_file(from_path[0]["file_id"])
    downloaded = (await emulated_bot.download_file(smallest.file_path)).read()
    assert downloaded == data[: from_path[0]["file_size"]]
