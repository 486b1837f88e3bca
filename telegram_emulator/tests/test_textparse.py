"""Telegram's formatting rules, checked without HTTP."""

import pytest

from telegram_emulator.errors import BotAPIError
from telegram_emulator.textparse import (
    detect_entities,
    parse_html,
    parse_markdown_v2,
    utf16_len,
)


def test_utf16_length():
    assert utf16_len("abc") == 3
    assert utf16_len("👋🏽") == 4
    assert utf16_len("é") == 1


def test_html_entities_and_offsets():
    text, entities = parse_html('👋 <b>bold <i>both</i></b> &lt;3 <a href="https://x.io">x</a>')

    assert text == "👋 bold both <3 x"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 9},
        {"type": "italic", "offset": 8, "length": 4},
        {"type": "text_link", "offset": 16, "length": 1, "url": "https://x.io"},
    ]


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", "Unmatched end tag"),
        ("<div>x</div>", 'Unsupported start tag "div"'),
        ("a < b", "Unexpected end of name token"),
    ],
)
def test_html_errors(html, reason):
    with pytest.raises(BotAPIError) as caught:
        parse_html(html)
    assert caught.value.error_code == 400
    assert reason in caught.value.description


def test_markdown_v2():
    text, entities = parse_markdown_v2(
        "*bold* _it_ __u__ ~s~ ||sp|| `c\\`` [l](https://x.io) 1\\.5"
    )

    assert text == "bold it u s sp c` l 1.5"
    assert [e["type"] for e in entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "text_link",
    ]


def test_markdown_v2_errors():
    with pytest.raises(BotAPIError, match="Character '!' is reserved"):
        parse_markdown_v2("Hello!")
    with pytest.raises(BotAPIError, match="Can't find end of Bold entity"):
        parse_markdown_v2("*open")


def test_detected_entities():
    kinds = [
        e["type"]
        for e in detect_entities(
            "/start@helpdesk_bot mail me: a@b.co or see https://x.io #help @support"
        )
    ]
    assert kinds == ["bot_command", "email", "url", "hashtag", "mention"]
