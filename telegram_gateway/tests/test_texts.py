import json

import pytest

from telegram_gateway import texts


@pytest.fixture(autouse=True)
def fresh_texts():
    texts._texts.cache_clear()
    yield
    texts._texts.cache_clear()


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("id", "id"),
        ("id-ID", "id"),
        ("en", "en"),
        ("en-GB", "en"),
        ("ru", "en"),
        (None, "en"),
    ],
)
def test_indonesian_users_get_indonesian_everyone_else_english(code, language):
    assert texts.language_for(code) == language


def test_texts_follow_the_clients_language():
    assert texts.bot_text("greeting", "id", name="Budi").startswith("Halo Budi!")
    assert texts.bot_text("greeting", "en", name="Ann").startswith("Hello Ann!")
    assert "nomor 3" in texts.bot_text("queued", "id", position=3)


def test_operators_can_replace_texts_from_a_file(tmp_path, settings):
    path = tmp_path / "texts.json"
    path.write_text(json.dumps({"id": {"greeting": "Selamat datang, {name}!"}}))
    settings.TELEGRAM_TEXTS_FILE = str(path)

    assert texts.bot_text("greeting", "id", name="Budi") == "Selamat datang, Budi!"
    assert texts.bot_text("greeting", "en", name="Ann").startswith("Hello Ann!")
