"""The shipped catalogs: compiled and current, Indonesian complete, and used by the console.

The .mo files are committed, so a fresh checkout needs no gettext tools; these tests
fail when someone edits a .po (or re-runs makemessages) and forgets compilemessages.
"""

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|\{\w*\}")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr.values())


def parse_po(path: Path) -> list[Entry]:
    """A small .po reader (no polib): entries without the header and obsolete `#~` ones."""
    entries: list[Entry] = []
    entry, key = Entry(), None

    def finish() -> None:
        nonlocal entry, key
        if key is not None:
            entries.append(entry)
        entry, key = Entry(), None

    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#~"):
            if not line:
                finish()
            continue
        if line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            value = ast.literal_eval(line)
        else:
            key, _, rest = line.partition(" ")
            value = ast.literal_eval(rest)
            if key in {"msgid", "msgid_plural", "msgctxt"}:
                setattr(entry, key, "")
        if key.startswith("msgstr"):
            index = int(key[7:-1]) if key.startswith("msgstr[") else 0
            entry.msgstr[index] = entry.msgstr.get(index, "") + value
        else:
            setattr(entry, key, getattr(entry, key) + value)
    finish()
    return [e for e in entries if e.msgid or e.msgctxt]


def po_files() -> list[Path]:
    return sorted(LOCALE_DIR.glob("*/LC_MESSAGES/django.po"))


def test_every_configured_language_ships_a_catalog():
    shipped = {path.parts[-3] for path in po_files()}
    assert shipped == {code for code, _name in settings.LANGUAGES}
    for path in po_files():
        assert path.with_suffix(".mo").is_file(), f"{path} is not compiled"


@pytest.mark.parametrize("po", po_files(), ids=lambda path: path.parts[-3])
def test_the_compiled_catalog_matches_its_po_file(po):
    """Compare contents, not file times: git does not keep modification times."""
    with po.with_suffix(".mo").open("rb") as compiled:
        mo = gettext.GNUTranslations(compiled)
    stale = []
    for entry in parse_po(po):
        key = entry.msgid if entry.msgctxt is None else (entry.msgctxt, entry.msgid)
        usable = entry.translated and "fuzzy" not in entry.flags
        if entry.msgid_plural is None:
            expected = entry.msgstr[0] if usable else entry.msgid
            if entry.msgctxt is None:
                found = mo.gettext(entry.msgid)
            else:
                found = mo.pgettext(entry.msgctxt, entry.msgid)
            if found != expected:
                stale.append((key, expected, found))
            continue
        for n in (1, 2, 5):
            fallback = entry.msgid if n == 1 else entry.msgid_plural
            expected = entry.msgstr[mo.plural(n)] if usable else fallback
            if entry.msgctxt is None:
                found = mo.ngettext(entry.msgid, entry.msgid_plural, n)
            else:
                found = mo.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, n)
            if found != expected:
                stale.append((key, n, expected, found))
    assert not stale, f"{po.with_suffix('.mo')} is stale; run compilemessages (README)"


def test_the_indonesian_catalog_is_complete_and_well_formed():
    entries = parse_po(LOCALE_DIR / "id/LC_MESSAGES/django.po")
    assert len(entries) > 100  # the whole console, not an empty catalog

    assert [e.msgid for e in entries if "fuzzy" in e.flags] == []
    assert [e.msgid for e in entries if not e.translated] == []
    # Indonesian has one plural form (Plural-Forms: nplurals=1).
    assert [e.msgid for e in entries if e.msgid_plural and set(e.msgstr) != {0}] == []
    wrong = [
        e.msgid
        for e in entries
        for text in e.msgstr.values()
        if sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(e.msgid))
    ]
    assert wrong == []


@pytest.fixture
def reset_language():
    yield
    translation.deactivate()  # requests activate a language; keep it out of later tests


@pytest.mark.django_db
@pytest.mark.usefixtures("reset_language")
class TestConsoleLanguage:
    def heading(self, client, **headers) -> str:
        body = client.get("/console/", headers=headers).content.decode()
        return re.search(r"<h1 id=\"list-title\">(.*?)</h1>", body).group(1)

    def test_a_user_who_chose_indonesian_gets_indonesian(self, client, cs_user):
        cs_user.language = "id"
        cs_user.save()
        client.force_login(cs_user)

        assert self.heading(client, accept_language="en") == "Sesi aktif saya"

    def test_the_browser_decides_for_a_user_without_a_choice(self, client, cs_user, settings):
        settings.LANGUAGE_CODE = "en"
        client.force_login(cs_user)

        assert self.heading(client, accept_language="id,en;q=0.5") == "Sesi aktif saya"
        assert self.heading(client, accept_language="en-US,en;q=0.5") == "My active sessions"

    def test_language_code_is_the_default(self, client, cs_user, settings):
        client.force_login(cs_user)

        settings.LANGUAGE_CODE = "en"
        assert self.heading(client) == "My active sessions"
        settings.LANGUAGE_CODE = "id"
        assert self.heading(client) == "Sesi aktif saya"
