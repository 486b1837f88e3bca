"""The one catalog of what the desk says to clients (conversations/bot_texts.py)."""

import json
import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from conversations import bot_texts
from conversations.bot_texts import DEFAULT_TEXTS, bot_text, language_for, texts_load
from conversations.checks import check_bot_texts

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("id", "id"),
        ("id-ID", "id"),
        ("ID", "id"),
        ("en", "en"),
        ("en-GB", "en"),
        ("ru", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_indonesian_users_get_indonesian_everyone_else_english(code, language):
    assert language_for(code) == language


def test_texts_follow_the_clients_language():
    assert bot_text("greeting", "id", name="Budi").startswith("Halo Budi!")
    assert bot_text("greeting", "en", name="Ann").startswith("Hello Ann!")
    assert "nomor 3" in bot_text("queued", "id", position=3)
    assert bot_text("assigned", "id-ID", name="Sari") == (
        "Anda sekarang terhubung dengan Sari dari tim dukungan kami."
    )


def test_both_languages_have_every_key():
    assert set(DEFAULT_TEXTS["en"]) == set(DEFAULT_TEXTS["id"]) == set(bot_texts.PLACEHOLDERS)


def test_the_readme_lists_every_key_where_it_explains_the_texts_file():
    paragraph = next(
        block
        for block in README.read_text(encoding="utf-8").split("\n\n")
        if block.startswith("**Texts.**")
    )
    assert "TELEGRAM_TEXTS_FILE" in paragraph
    listed = set(re.findall(r"`([a-z_]+)`", paragraph))
    assert set(bot_texts.PLACEHOLDERS) <= listed


def test_operators_can_replace_texts_from_a_file(tmp_path, settings):
    path = tmp_path / "texts.json"
    path.write_text(json.dumps({"id": {"greeting": "Selamat datang, {name}!"}}))
    settings.TELEGRAM_TEXTS_FILE = str(path)

    assert bot_text("greeting", "id", name="Budi") == "Selamat datang, Budi!"
    assert bot_text("greeting", "en", name="Ann").startswith("Hello Ann!")


def test_a_changed_setting_reads_its_own_file(tmp_path, settings):
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text(json.dumps({"en": {"ended": "Bye (first)."}}))
    second.write_text(json.dumps({"en": {"ended": "Bye (second)."}}))

    settings.TELEGRAM_TEXTS_FILE = str(first)
    assert bot_text("ended", "en") == "Bye (first)."
    settings.TELEGRAM_TEXTS_FILE = str(second)
    assert bot_text("ended", "en") == "Bye (second)."
    settings.TELEGRAM_TEXTS_FILE = ""
    assert bot_text("ended", "en") == DEFAULT_TEXTS["en"]["ended"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "TELEGRAM_TEXTS_FILE"),
        ('["greeting"]', 'expected {"en"'),
        ('{"fr": {"greeting": "Salut"}}', "language 'fr'"),
        ('{"en": {"greting": "Hi"}}', "en.greting is not a text the bot sends"),
        ('{"en": {"queued": ""}}', "en.queued must be a non-empty string"),
        ('{"en": {"queued": "You are #{place}"}}', "uses place; it may use: {position}"),
        ('{"en": {"ended": "Bye {"}}', "en.ended"),
    ],
)
def test_a_bad_texts_file_is_refused_with_a_clear_error(tmp_path, settings, content, message):
    path = tmp_path / "texts.json"
    path.write_text(content)
    settings.TELEGRAM_TEXTS_FILE = str(path)

    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        texts_load(str(path))
    (error,) = check_bot_texts(None)  # what stops runbot, serve and deliver from starting
    assert error.id == "conversations.E001"
    assert message in error.msg


def test_a_missing_texts_file_is_refused_with_its_path(settings, tmp_path):
    settings.TELEGRAM_TEXTS_FILE = str(tmp_path / "nowhere.json")
    (error,) = check_bot_texts(None)
    assert "nowhere.json" in error.msg


def test_a_process_started_without_checks_keeps_talking_with_the_defaults(
    tmp_path, settings, caplog
):
    # Messages must still be stored with their notices; the operator hears of it.
    path = tmp_path / "texts.json"
    path.write_text('{"en": {"ended": "Bye {"}}')
    settings.TELEGRAM_TEXTS_FILE = str(path)

    assert bot_text("ended", "en") == DEFAULT_TEXTS["en"]["ended"]
    assert "using the default texts" in caplog.text


def test_a_good_file_passes_the_check(tmp_path, settings):
    path = tmp_path / "texts.json"
    path.write_text(json.dumps({"en": {"queued": "You are #{position}, {{ok}}."}}))
    settings.TELEGRAM_TEXTS_FILE = str(path)
    assert check_bot_texts(None) == []
    assert bot_text("queued", "en", position=2) == "You are #2, {ok}."
