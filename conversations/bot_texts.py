"""Every text the desk sends clients on its own (notices), in their Telegram language.

One catalog, so clients hear one voice: the bot's replies to commands and the
notices the services write (queued, assigned…) all come from here. Indonesian for
Telegram users set to Indonesian, English for everyone else. Operators replace any
text by pointing TELEGRAM_TEXTS_FILE at a JSON file shaped like DEFAULT_TEXTS (only
the keys to change are needed); the README lists the keys.
"""

import json
import logging
import string
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)
DEFAULT_LANGUAGE = "en"

# The placeholders each text may use (all optional in a replacement).
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "greeting": frozenset({"name"}),
    "connected": frozenset(),
    "queued": frozenset({"position"}),
    "assigned": frozenset({"name"}),
    "transferred": frozenset({"name"}),
    "ended": frozenset(),
    "nothing_to_end": frozenset(),
    "unsupported": frozenset(),
    "blocked": frozenset(),
    "flooding": frozenset(),
    "idle_warning": frozenset(),
    "idle_yes": frozenset(),
    "idle_no": frozenset(),
    "idle_expired": frozenset(),
    "csat_question": frozenset(),
    "csat_button": frozenset({"rating"}),
    "csat_thanks": frozenset({"rating", "minutes"}),
    "csat_thanks_no_comment": frozenset({"rating"}),
    "csat_already_rated": frozenset(),
    "csat_closed": frozenset(),
    "csat_comment_thanks": frozenset(),
}

DEFAULT_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "greeting": "Hello {name}! 👋 Write your question here and one of our agents will answer.",
        "connected": "Thank you! An agent is looking at your message now.",
        "queued": (
            "Thank you! All our agents are busy right now. You are number {position} "
            "in the queue; we will answer as soon as possible."
        ),
        "assigned": "You are now talking with {name} from our support team.",
        "transferred": "You are now talking with {name} from our support team.",
        "ended": "Your conversation has ended. Write again any time to start a new one.",
        "nothing_to_end": "You have no open conversation. Just write to start one.",
        "unsupported": (
            "Sorry, we can't read this kind of message. Please send text, a photo, "
            "a file, a video or a location."
        ),
        "blocked": (
            "Sorry, you can't write to this help desk right now. Your messages are not "
            "being received."
        ),
        "flooding": (
            "You are sending messages too quickly. Please wait a minute; messages sent "
            "meanwhile are not received."
        ),
        "idle_warning": "Do you still need help?",
        "idle_yes": "Yes",
        "idle_no": "No",
        "idle_expired": "This question has expired.",
        "csat_question": (
            "How did we do? Please rate this conversation from 1 (poor) to 5 (excellent)."
        ),
        "csat_button": "{rating} ⭐",
        "csat_thanks": (
            "Thank you for your rating ({rating} of 5)! If you like, write us one comment "
            "in the next {minutes} minutes."
        ),
        "csat_thanks_no_comment": "Thank you for your rating ({rating} of 5)!",
        "csat_already_rated": "You have already rated this conversation, thank you.",
        "csat_closed": "This survey is closed.",
        "csat_comment_thanks": "Thank you for your comment!",
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
        "assigned": "Anda sekarang terhubung dengan {name} dari tim dukungan kami.",
        "transferred": "Anda sekarang terhubung dengan {name} dari tim dukungan kami.",
        "ended": "Percakapan Anda telah selesai. Silakan menulis lagi kapan saja untuk memulai.",
        "nothing_to_end": "Anda tidak punya percakapan yang terbuka. Tulis saja untuk memulai.",
        "unsupported": (
            "Maaf, jenis pesan ini belum bisa kami baca. Silakan kirim teks, foto, "
            "berkas, video, atau lokasi."
        ),
        "blocked": (
            "Maaf, saat ini Anda tidak dapat menulis ke layanan bantuan ini. Pesan Anda "
            "tidak kami terima."
        ),
        "flooding": (
            "Anda mengirim pesan terlalu cepat. Mohon tunggu sebentar; pesan yang dikirim "
            "selama itu tidak kami terima."
        ),
        "idle_warning": "Apakah Anda masih memerlukan bantuan?",
        "idle_yes": "Ya",
        "idle_no": "Tidak",
        "idle_expired": "Pertanyaan ini sudah kedaluwarsa.",
        "csat_question": (
            "Bagaimana layanan kami? Beri nilai percakapan ini dari 1 (buruk) sampai "
            "5 (sangat baik)."
        ),
        "csat_button": "{rating} ⭐",
        "csat_thanks": (
            "Terima kasih atas penilaian Anda ({rating} dari 5)! Jika berkenan, tulis satu "
            "komentar untuk kami dalam {minutes} menit ke depan."
        ),
        "csat_thanks_no_comment": "Terima kasih atas penilaian Anda ({rating} dari 5)!",
        "csat_already_rated": "Anda sudah menilai percakapan ini, terima kasih.",
        "csat_closed": "Survei ini sudah ditutup.",
        "csat_comment_thanks": "Terima kasih atas komentar Anda!",
    },
}


def language_for(language_code: str | None) -> str:
    """Indonesian for Telegram users set to Indonesian, English for everyone else."""
    return "id" if (language_code or "").lower().startswith("id") else DEFAULT_LANGUAGE


def _check_entry(path: str, language: str, key: str, text: object) -> None:
    where = f"TELEGRAM_TEXTS_FILE {path}: {language}.{key}"
    if key not in PLACEHOLDERS:
        known = ", ".join(PLACEHOLDERS)
        raise ImproperlyConfigured(f"{where} is not a text the bot sends (known: {known})")
    if not isinstance(text, str) or not text.strip():
        raise ImproperlyConfigured(f"{where} must be a non-empty string")
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as error:
        raise ImproperlyConfigured(f"{where}: {error} (write {{{{ and }}}} for braces)") from None
    if unknown := fields - PLACEHOLDERS[key]:
        allowed = ", ".join(f"{{{name}}}" for name in sorted(PLACEHOLDERS[key])) or "none"
        raise ImproperlyConfigured(
            f"{where} uses {', '.join(sorted(unknown))}; it may use: {allowed}"
        )


@lru_cache(maxsize=4)
def texts_load(path: str) -> dict[str, dict[str, str]]:
    """The catalog with the file at `path` applied ("" for none), checked entry by entry.

    Cached by path, so a changed setting (a test's override) reads its file anew.
    """
    texts = {language: dict(entries) for language, entries in DEFAULT_TEXTS.items()}
    if not path:
        return texts
    try:
        with open(path, encoding="utf-8") as file:
            overrides = json.load(file)
    except (OSError, ValueError) as error:
        raise ImproperlyConfigured(f"TELEGRAM_TEXTS_FILE {path}: {error}") from error
    if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
        raise ImproperlyConfigured(
            f'TELEGRAM_TEXTS_FILE {path}: expected {{"en": {{key: text}}, "id": {{…}}}}'
        )
    for language, entries in overrides.items():
        if language not in DEFAULT_TEXTS:
            raise ImproperlyConfigured(
                f"TELEGRAM_TEXTS_FILE {path}: language {language!r} is not one of "
                f"{', '.join(DEFAULT_TEXTS)}"
            )
        for key, text in entries.items():
            _check_entry(path, language, key, text)
        texts[language].update(entries)
    return texts


@lru_cache(maxsize=4)
def _texts_or_defaults(path: str) -> dict[str, dict[str, str]]:
    try:
        return texts_load(path)
    except ImproperlyConfigured as error:
        # The system check (conversations.E001) stops commands from starting with it;
        # a process started without checks must still store clients' messages.
        logger.error("%s; using the default texts", error)
        return texts_load("")


def bot_text(key: str, language_code: str | None, **values: object) -> str:
    """The text `key` in the language of a client whose Telegram language is `language_code`."""
    texts = _texts_or_defaults(settings.TELEGRAM_TEXTS_FILE or "")
    return texts[language_for(language_code)][key].format(**values)
