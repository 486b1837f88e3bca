"""The wire format with raw HTTP, for requests aiogram would never make."""

import json

import aiohttp
import pytest
import pytest_asyncio

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def api(async_emulator, bot_token):
    async_emulator.add_user(42, "Alice")
    return f"{async_emulator.base_url}/bot{bot_token}"


async def test_get_with_query_string_and_case_insensitive_method(http, api):
    async with http.get(f"{api}/GETME") as response:
        body = await response.json()
    assert response.status == 200
    assert body["ok"] is True
    assert body["result"]["id"] == 123456

    async with http.get(f"{api}/sendmessage", params={"chat_id": "42", "text": "q"}) as response:
        assert (await response.json())["result"]["text"] == "q"


async def test_json_body_with_typed_values(async_emulator, http, api):
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "y"}]]}
    payload = {"chat_id": 42, "text": "Continue?", "reply_markup": markup}
    async with http.post(f"{api}/sendMessage", json=payload) as response:
        body = await response.json()

    assert body["result"]["reply_markup"] == markup
    assert async_emulator.sent()[0].params["reply_markup"] == markup


async def test_urlencoded_body_with_json_encoded_values(async_emulator, http, api):
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "y"}]]}
    form = {"chat_id": "42", "text": "Continue?", "reply_markup": json.dumps(markup)}
    async with http.post(f"{api}/sendMessage", data=form) as response:
        assert (await response.json())["result"]["reply_markup"] == markup


async def test_multipart_with_a_direct_file_part(async_emulator, http, api):
    form = aiohttp.FormData()
    form.add_field("chat_id", "42")
    form.add_field("document", b"col1,col2\n", filename="export.csv", content_type="text/csv")
    async with http.post(f"{api}/sendDocument", data=form) as response:
        document = (await response.json())["result"]["document"]

    assert (document["file_name"], document["mime_type"]) == ("export.csv", "text/csv")
    [file] = async_emulator.sent()[0].files
    assert (file.data, file.content_type) == (b"col1,col2\n", "text/csv")


async def test_missing_attachment_and_button_errors(http, api):
    form = aiohttp.FormData()
    form.add_field("chat_id", "42")
    form.add_field("photo", "attach://nothing")
    async with http.post(f"{api}/sendPhoto", data=form) as response:
        assert response.status == 400

    markup = {"inline_keyboard": [[{"text": "no action"}]]}
    async with http.post(
        f"{api}/sendMessage", json={"chat_id": 42, "text": "x", "reply_markup": markup}
    ) as response:
        body = await response.json()
    assert body["description"].startswith("Bad Request: can't parse inline keyboard button")


async def test_error_shapes(async_emulator, http, api, bot_token):
    async with http.get(f"{api}/noSuchMethod") as response:
        assert (response.status, await response.json()) == (
            404,
            {"ok": False, "error_code": 404, "description": "Not Found"},
        )
    async with http.get(f"{async_emulator.base_url}/botnot-a-token/getMe") as response:
        assert response.status == 404
    async with http.get(f"{async_emulator.base_url}/bot1:UNKNOWN/getMe") as response:
        assert (response.status, (await response.json())["description"]) == (401, "Unauthorized")
    async with http.post(f"{api}/sendMessage", json={"chat_id": 42}) as response:
        assert await response.json() == {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: message text is empty",
        }

    async_emulator.fail_next("sendMessage", 429, retry_after=3)
    async with http.post(f"{api}/sendMessage", json={"chat_id": 42, "text": "x"}) as response:
        assert (response.status, await response.json()) == (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 3",
                "parameters": {"retry_after": 3},
            },
        )


async def test_fault_with_a_raw_body(async_emulator, http, api):
    async_emulator.fail_next("getMe", 502, body="<html><body>502 Bad Gateway</body></html>")

    async with http.get(f"{api}/getMe") as response:
        assert response.status == 502
        assert response.content_type == "text/html"
