"""Quotes of answered messages, as `Chat.reply_quote` keeps them (either side's replies)."""

import unicodedata

REPLY_QUOTE_MAX = 255  # characters: Chat.reply_quote's length


def _extends(character: str) -> bool:
    """Whether `character` belongs to the one before it (a mark, a selector, a skin tone)."""
    return (
        character in "\u200d\ufe0e\ufe0f"
        or "\U0001f3fb" <= character <= "\U0001f3ff"
        or unicodedata.combining(character) != 0
    )


def _is_flag_half(character: str) -> bool:
    return "\U0001f1e6" <= character <= "\U0001f1ff"


def reply_quote_cut(text: str, limit: int = REPLY_QUOTE_MAX) -> str:
    """`text` within `limit` characters for `Chat.reply_quote`, an ellipsis marking a cut.

    Characters, not bytes (the column is utf8mb4), cut between what a reader sees as
    characters: never inside an emoji sequence, a flag or a letter with its accents.
    """
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = limit - 1  # room for the ellipsis
    while cut > 0 and (_extends(text[cut]) or text[cut - 1] == "\u200d"):
        cut -= 1
    flag_halves = 0
    while flag_halves < cut and _is_flag_half(text[cut - 1 - flag_halves]):
        flag_halves += 1
    cut -= flag_halves % 2  # an odd run ends with half of the flag the cut splits
    return text[:cut].rstrip() + "…"
