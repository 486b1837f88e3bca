"""Telegram's text formatting: parse_mode markup into plain text plus entities.

Telegram measures the 4096/1024 limits on the text *after* markup is removed, counts
UTF-16 code units, and rejects malformed markup with "can't parse entities". A bot that
relays customer text unescaped fails in production exactly here, so the emulator parses
for real rather than storing markup blindly.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import BotAPIError, bad_request

Entity = dict[str, Any]


def utf16_len(text: str) -> int:
    """Return the length Telegram sees: UTF-16 code units (an emoji often counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _parse_error(reason: str) -> BotAPIError:
    return bad_request(f"can't parse entities: {reason}")


class _Builder:
    """Accumulate plain text while tracking the UTF-16 offset entities need."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.offset = 0
        self.entities: list[Entity] = []

    def add(self, text: str) -> None:
        if text:
            self.parts.append(text)
            self.offset += utf16_len(text)

    def entity(self, start: int, type_: str, **extra: Any) -> None:
        if self.offset > start:
            self.entities.append({"type": type_, "offset": start, "length": self.offset - start})
            self.entities[-1].update({k: v for k, v in extra.items() if v is not None})

    def result(self) -> tuple[str, list[Entity]]:
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), self.entities


# --- HTML -------------------------------------------------------------------------------

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ATTR_RE = re.compile(r"""\s*([a-zA-Z_-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_CHAR_REF_RE = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);")


def _unescape(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        ref = match.group(1)
        if ref.startswith("#x"):
            return chr(int(ref[2:], 16))
        if ref.startswith("#"):
            return chr(int(ref[1:]))
        return _NAMED_ENTITIES.get(ref, match.group(0))

    return _CHAR_REF_RE.sub(replace, text)


def parse_html(text: str) -> tuple[str, list[Entity]]:
    """Parse Telegram's HTML subset; raise 400 "can't parse entities" like Telegram."""
    out = _Builder()
    stack: list[tuple[str, int, dict[str, str]]] = []
    i, n = 0, len(text)
    while i < n:
        lt = text.find("<", i)
        if lt < 0:
            out.add(_unescape(text[i:]))
            break
        out.add(_unescape(text[i:lt]))
        if not re.match(r"/?[a-zA-Z]", text[lt + 1 : lt + 3]):
            raise _parse_error(
                f"Unexpected end of name token at byte offset {_byte_offset(text, lt + 1)}"
            )
        gt = text.find(">", lt)
        if gt < 0:
            raise _parse_error(f"Unclosed start tag at byte offset {_byte_offset(text, lt)}")
        inner = text[lt + 1 : gt]
        if inner.startswith("/"):
            name = inner[1:].strip().lower()
            if not stack:
                raise _parse_error(f"Unexpected end tag at byte offset {_byte_offset(text, lt)}")
            open_name, start, attrs = stack.pop()
            if name != open_name:
                raise _parse_error(
                    f"Unmatched end tag at byte offset {_byte_offset(text, lt)}, "
                    f'expected "</{open_name}>", found "</{name}>"'
                )
            _close_html(out, open_name, start, attrs, stack)
        else:
            match = re.match(r"[a-zA-Z0-9-]*", inner)
            name = match.group(0).lower() if match else ""
            if name not in _HTML_TAGS:
                raise _parse_error(
                    f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, lt)}'
                )
            attrs = {
                m.group(1).lower(): _unescape(m.group(2) or m.group(3) or m.group(4) or "")
                for m in _ATTR_RE.finditer(inner[len(name) :])
                if m.group(1)
            }
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise _parse_error(
                    f'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(text, lt)}"
                )
            stack.append((name, out.offset, attrs))
        i = gt + 1
    if stack:
        raise _parse_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _close_html(
    out: _Builder,
    name: str,
    start: int,
    attrs: dict[str, str],
    stack: list[tuple[str, int, dict[str, str]]],
) -> None:
    kind = _HTML_TAGS[name]
    if kind == "text_link":
        href = attrs.get("href", "")
        user = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if user:
            out.entity(start, "text_mention", user={"id": int(user.group(1))})
        elif href:
            out.entity(start, "text_link", url=href)
    elif kind == "code" and stack and stack[-1][0] == "pre":
        language = attrs.get("class", "").removeprefix("language-")
        if language:
            stack[-1][2]["language"] = language
        else:
            out.entity(start, "code")
    elif kind == "pre":
        out.entity(start, "pre", language=attrs.get("language"))
    elif kind == "blockquote":
        out.entity(start, "expandable_blockquote" if "expandable" in attrs else "blockquote")
    elif kind == "custom_emoji":
        out.entity(start, "custom_emoji", custom_emoji_id=attrs.get("emoji-id"))
    elif kind == "date_time":
        unix = attrs.get("unix", "")
        out.entity(start, "date_time", unix_time=int(unix) if unix.isdigit() else None)
    else:
        out.entity(start, kind)


# --- MarkdownV2 ---------------------------------------------------------------------------

_V2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_V2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2; unescaped reserved characters are errors, as on Telegram."""
    return _MarkdownV2Parser(text).parse()


class _MarkdownV2Parser:
    """One pass over the text: the output so far, the open entities and an open quote."""

    def __init__(self, text: str) -> None:
        self.text, self.i, self.n = text, 0, len(text)
        self.out = _Builder()
        self.stack: list[tuple[str, int, int]] = []  # (type, utf16 start, char index)
        self.quote_start: int | None = None

    def parse(self) -> tuple[str, list[Entity]]:
        text = self.text
        while self.i < self.n:
            at_line_start = self.i == 0 or text[self.i - 1] == "\n"
            if at_line_start and self._block_quote_marker():
                continue
            ch = text[self.i]
            if ch == "\\":
                self._escape()
            elif ch == "`":
                self.i = _v2_code(text, self.i, self.out)
            elif not self._markup(ch):
                if ch in _V2_RESERVED:
                    raise _parse_error(
                        f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
                    )
                self.out.add(ch)
                self.i += 1
        if self.quote_start is not None:
            self.out.entity(self.quote_start, "blockquote")
        if self.stack:
            kind, _, index = self.stack[-1]
            raise _parse_error(
                f"Can't find end of {_V2_NAMES.get(kind, kind)} entity at byte offset "
                f"{_byte_offset(text, index)}"
            )
        return self.out.result()

    def _is_open(self, kind: str) -> bool:
        return any(entry[0] == kind for entry in self.stack)

    def _toggle(self, kind: str, width: int = 1) -> None:
        if self._is_open(kind):
            index = max(k for k, entry in enumerate(self.stack) if entry[0] == kind)
            _, start, _ = self.stack.pop(index)
            self.out.entity(start, kind)
        else:
            self.stack.append((kind, self.out.offset, self.i))
        self.i += width

    def _block_quote_marker(self) -> bool:
        """At a line start, open a quote on ">"/"**>" (consumed: True) or close an open one."""
        marker = 3 if self.text.startswith("**>", self.i) else int(self.text[self.i] == ">")
        if marker:
            if self.quote_start is None:
                self.quote_start = self.out.offset
            self.i += marker
            return True
        if self.quote_start is not None:
            self.out.entity(self.quote_start, "blockquote")
            self.quote_start = None
        return False

    def _escape(self) -> None:
        following = self.text[self.i + 1 : self.i + 2]
        if following and 0 < ord(following) < 127:
            self.out.add(following)
            self.i += 2
        else:
            self.out.add("\\")
            self.i += 1

    def _markup(self, ch: str) -> bool:
        """Handle a formatting mark at the cursor; False when `ch` is not one."""
        text, i = self.text, self.i
        if ch == "*":
            self._toggle("bold")
        elif ch == "_":
            if text.startswith("__", i) and (
                self._is_open("underline") or not self._is_open("italic")
            ):
                self._toggle("underline", 2)
            else:
                self._toggle("italic")
        elif ch == "~":
            self._toggle("strikethrough")
        elif text.startswith("||", i):
            if self.quote_start is not None and (i + 2 == self.n or text[i + 2] == "\n"):
                self.i += 2  # "||" closes an expandable block quote
            else:
                self._toggle("spoiler", 2)
        elif ch == "[" or text.startswith("![", i):
            kind = "custom_emoji" if ch == "!" else "text_link"
            self.stack.append((kind, self.out.offset, i))
            self.i += 2 if ch == "!" else 1
        elif ch == "]" and self.stack and self.stack[-1][0] in ("text_link", "custom_emoji"):
            self._link_end()
        else:
            return False
        return True

    def _link_end(self) -> None:
        """Close [text](url) or ![emoji](tg://emoji?id=…) at its "]"."""
        kind, start, _ = self.stack.pop()
        if not self.text.startswith("(", self.i + 1):
            raise _parse_error(
                "Character ']' is reserved and must be escaped with the preceding '\\'"
            )
        url, self.i = _v2_url(self.text, self.i + 2)
        user = re.fullmatch(r"tg://user\?id=(\d+)", url)
        if kind == "custom_emoji":
            self.out.entity(start, kind, custom_emoji_id=url.rpartition("id=")[2])
        elif user:
            self.out.entity(start, "text_mention", user={"id": int(user.group(1))})
        else:
            self.out.entity(start, kind, url=url)


def _v2_code(text: str, i: int, out: _Builder) -> int:
    """Consume `code` or ```pre```; only ` and \\ are special inside."""
    fence = "```" if text.startswith("```", i) else "`"
    j = i + len(fence)
    language = None
    if fence == "```":
        newline = text.find("\n", j)
        first_line = text[j:newline] if newline >= 0 else ""
        if newline >= 0 and first_line and not re.search(r"[\s`\\]", first_line):
            language, j = first_line, newline + 1
    chars: list[str] = []
    while j < len(text):
        if text[j] == "\\" and j + 1 < len(text):
            chars.append(text[j + 1])
            j += 2
        elif text.startswith(fence, j):
            start = out.offset
            out.add("".join(chars))
            out.entity(start, "pre" if fence == "```" else "code", language=language)
            return j + len(fence)
        else:
            chars.append(text[j])
            j += 1
    name = "Pre" if fence == "```" else "Code"
    raise _parse_error(f"Can't find end of {name} entity at byte offset {_byte_offset(text, i)}")


def _v2_url(text: str, j: int) -> tuple[str, int]:
    chars: list[str] = []
    while j < len(text):
        if text[j] == "\\" and j + 1 < len(text):
            chars.append(text[j + 1])
            j += 2
        elif text[j] == ")":
            return "".join(chars), j + 1
        else:
            chars.append(text[j])
            j += 1
    raise _parse_error("Can't find end of a URL")


# --- legacy Markdown ---------------------------------------------------------------------

_LEGACY = {"*": "bold", "_": "italic"}


def parse_markdown(text: str) -> tuple[str, list[Entity]]:
    """Parse legacy Markdown (*bold*, _italic_, `code`, ```pre```, [text](url))."""
    out = _Builder()
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
        elif ch in _LEGACY or ch == "`":
            fence = "```" if text.startswith("```", i) else ch
            end = text.find(fence, i + len(fence))
            if end < 0:
                raise _parse_error(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}"
                )
            start = out.offset
            out.add(text[i + len(fence) : end])
            kind = {"```": "pre", "`": "code"}.get(fence) or _LEGACY[ch]
            out.entity(start, kind)
            i = end + len(fence)
        elif ch == "[":
            match = re.match(r"\[([^\]]*)\]\(([^)]*)\)", text[i:])
            if not match:
                raise _parse_error(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}"
                )
            start = out.offset
            out.add(match.group(1))
            out.entity(start, "text_link", url=match.group(2))
            i += match.end()
        else:
            out.add(ch)
            i += 1
    return out.result()


# --- entry points ------------------------------------------------------------------------

_AUTO_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("bot_command", re.compile(r"(?<![\w/])/[a-zA-Z0-9_]{1,64}(?:@[a-zA-Z0-9_]{3,32})?\b")),
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    (
        "url",
        re.compile(
            r"\bhttps?://[^\s/]+(?:/\S*)?|\b(?:[\w-]+\.)+(?:com|org|net|io|id|me|dev|app|co|ru|info)"
            r"\b(?:/\S*)?",
            re.IGNORECASE,
        ),
    ),
    ("mention", re.compile(r"(?<![\w@])@[a-zA-Z0-9_]{5,32}\b")),
    ("hashtag", re.compile(r"(?<![\w#])#\w+")),
]


def detect_entities(text: str) -> list[Entity]:
    """Find the entities Telegram detects on its own: commands, URLs, mentions, ..."""
    taken: list[tuple[int, int]] = []
    found: list[Entity] = []
    for kind, pattern in _AUTO_PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            offset = utf16_len(text[:start])
            found.append({"type": kind, "offset": offset, "length": utf16_len(match.group(0))})
    found.sort(key=lambda e: e["offset"])
    return found


def format_text(
    text: str, parse_mode: str | None, entities: list[Entity] | None
) -> tuple[str, list[Entity]]:
    """Return (plain text, entities) as Telegram would store the message."""
    if entities:
        return text, entities
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    if mode:
        raise bad_request("unsupported parse_mode")
    return text, detect_entities(text)
