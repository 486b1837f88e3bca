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
