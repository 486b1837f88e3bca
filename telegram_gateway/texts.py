"""What the bot says to clients, in their Telegram language (Indonesian or English).

Operators replace any text by pointing TELEGRAM_TEXTS_FILE at a JSON file shaped
like DEFAULT_TEXTS (only the keys to change are needed).
"""

import json
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULT_LANGUAGE = "en"

DEFAULT_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "greeting": "Hello {name}! 👋 Write your question here and one of our agents will answer.",
        "connected": "Thank you! An agent is looking at your message now.",
        "queued": (
            "Thank you! All our agents are busy right now. You are number {position} "
            "in the queue; we will answer as soon as possible."
        ),
        "ended": "Your conversation has ended. Write again any time to start a new one.",
        "nothing_to_end": "You have no open conversation. Just write to start one.",
        "unsupported": (
            "Sorry, we can't read this kind of message. Please send text, a photo, "
            "a file, a video or a location."
        ),
    },
    "id": {
        "greeting": (
            "Halo {name}! 👋 Tulis pertanyaan Anda di sini dan salah satu agen kami akan menjawab."
        ),
        "connected": "Terima kasih! Seorang agen sedang membaca pesan Anda.",
        "queued": (
            "Terima kasih! Semua agen kami sedang sibuk. Anda berada di antrean nomor "
            "{position}; kami akan segera menjawab."
        ),
        "ended": "Percakapan Anda telah selesai. Silakan menulis lagi kapan saja untuk memulai.",
        "nothing_to_end": "Anda tidak punya percakapan yang terbuka. Tulis saja untuk memulai.",
        "unsupported": (
            "Maaf, jenis pesan ini belum bisa kami baca. Silakan kirim teks, foto, "
            "berkas, video, atau lokasi."
        ),
    },
}


def language_for(language_code: str | None) -> str:
    """Indonesian for Telegram users set to Indonesian, English for everyone else."""
    return "id" if (language_code or "").lower().startswith("id") else DEFAULT_LANGUAGE


@cache
def _texts() -> dict[str, dict[str, str]]:
    texts = {language: dict(entries) for language, entries in DEFAULT_TEXTS.items()}
    path = settings.TELEGRAM_TEXTS_FILE
    if path:
        try:
            with open(path, encoding="utf-8") as file:
                overrides = json.load(file)
        except (OSError, ValueError) as error:
            raise ImproperlyConfigured(f"TELEGRAM_TEXTS_FILE {path}: {error}") from error
        for language, entries in overrides.items():
            texts.setdefault(language, {}).update(entries)
    return texts


def bot_text(key: str, language_code: str | None, **values: object) -> str:
    texts = _texts()
    language = language_for(language_code)
    template = texts[language].get(key) or texts[DEFAULT_LANGUAGE][key]
    return template.format(**values)
