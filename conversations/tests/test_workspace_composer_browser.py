"""The workspace's reply box and keyboard in a real browser (static/console/composer.js
and keys.js): Playwright drives Debian's chromium against `manage.py serve`.

Same set-up as test_console_browser.py, with a serve of its own on a database of its
own: cs1 goes on duty, clients write through the sandbox API, and every assertion is
about what the agent sees or what the client receives.

Needs /usr/bin/chromium: skipped without it, a failure with REQUIRE_BROWSER=1 (CI).
"""

import itertools
import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from conversations.tests.browser import (
    Sandbox,
    browser,
    chromium,
    contexts,
    go_on_duty,
    log_in,
    not_reloaded,
    playwright,
    row,
    sandbox,
    served,
    wait_live,
)
from telegram_gateway.tests.conftest import wait_until
from telegram_gateway.transport import split_text

_names = itertools.count(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium) -> Iterator[str]:
    # A long reply's parts arrive quickly.
    yield from served(tmp_path_factory, "composer", TELEGRAM_CHAT_SEND_INTERVAL="0.5")


@pytest.fixture(scope="module")
def cs1(browser: Browser, server: str) -> Iterator[BrowserContext]:
    """cs1's browser, signed in and on duty (new clients go to cs1); no JS error allowed."""
    factory = contexts(browser, server)
    context = next(factory)()
    go_on_duty(log_in(context, "cs1@helpdesk.com"))
    yield context
    next(factory, None)


def new_client_writes(sandbox: Sandbox, text: str, name: str) -> tuple[int, str]:
    name = f"{name} {next(_names)}"
    client_id = sandbox.new_client(name)
    sandbox.write(client_id, text)
    return client_id, name


def workspace(cs1: BrowserContext, query: str = "") -> Page:
    page = cs1.new_page()
    page.goto("/console/" + query)
    wait_live(page)
    return page


def open_session(page: Page, client_name: str) -> None:
    """Click the client's row: the conversation comes in without a page load."""
    row(page, client_name).locator("a").click()
    expect(page.locator("#conversation h2")).to_contain_text(client_name)
    expect(page).to_have_url(re.compile(r"/console/sessions/[^/]+/$"))


def box(page: Page):
    return page.locator("#reply-text")


def sent(page: Page, text: str):
    return page.locator("#messages > li.msg.cs", has_text=text)


def test_enter_sends_and_shift_enter_makes_a_new_line(cs1, sandbox):
    page = workspace(cs1)
    client_id, name = new_client_writes(sandbox, "My order is late.", name="Ann")
    open_session(page, name)
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    box(page).click()
    page.keyboard.press("Enter")  # an empty box sends nothing
    page.keyboard.type("We are on it.")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("It ships today.")
    expect(box(page)).to_have_value("We are on it.\nIt ships today.")
    expect(sent(page, "We are on it.")).to_have_count(0)

    page.keyboard.press("Enter")

    expect(sent(page, "It ships today.")).to_have_count(1)
    expect(box(page)).to_have_value("")
    assert len(posts) == 1, posts  # the empty Enter did not post
    assert not_reloaded(page)
    wait_until(lambda: len(sandbox.bot_said(client_id)) == 2)
    # One message with a line break (a form sends it as CRLF, which Telegram shows alike).
    (reply,) = sandbox.bot_said(client_id)[1:]
    assert reply.replace("\r\n", "\n") == "We are on it.\nIt ships today."


def test_a_draft_survives_switching_sessions_and_a_reload(cs1, sandbox):
    page = workspace(cs1)
    client_a, name_a = new_client_writes(sandbox, "Question one", name="Budi")
    _, name_b = new_client_writes(sandbox, "Question two", name="Citra")

    open_session(page, name_a)
    box(page).press_sequentially("Half-written answer for A")
    open_session(page, name_b)
    expect(box(page)).to_have_value("")
    box(page).press_sequentially("Draft for B")
    open_session(page, name_a)
    expect(box(page)).to_have_value("Half-written answer for A")
    assert not_reloaded(page)

    page.reload()
    wait_live(page)
    expect(box(page)).to_have_value("Half-written answer for A")
    open_session(page, name_b)
    expect(box(page)).to_have_value("Draft for B")

    # Sent: the draft is gone, here and after a reload.
    open_session(page, name_a)
    # The agent sends the draft once it is back in the box (it is restored as the swap
    # settles, a moment after the conversation's title shows).
    expect(box(page)).to_have_value("Half-written answer for A")
    box(page).press("Enter")
    expect(sent(page, "Half-written answer for A")).to_have_count(1)
    expect(box(page)).to_have_value("")
    page.reload()
    wait_live(page)
    expect(page.locator("#conversation h2")).to_contain_text(name_a)
    expect(box(page)).to_have_value("")
    wait_until(lambda: "Half-written answer for A" in sandbox.bot_said(client_a))


# A file as a person would paste it (a screenshot) or drop it (from a file manager).
GIVE_FILE = """
([kind, name, type, content]) => {
  const transfer = new DataTransfer();
  const bytes = Uint8Array.from(atob(content), (c) => c.charCodeAt(0));
  transfer.items.add(new File([bytes], name, {type}));
  if (kind === "paste") {
    document.getElementById("reply-text").dispatchEvent(
      new ClipboardEvent("paste", {clipboardData: transfer, bubbles: true, cancelable: true}));
    return;
  }
  const target = document.getElementById("messages");
  for (const type of ["dragenter", "dragover", "drop"]) {
    const init = {dataTransfer: transfer, bubbles: true, cancelable: true};
    target.dispatchEvent(new DragEvent(type, init));
  }
}
"""
PIXEL_PNG = (  # 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def attached_files(page: Page) -> list[str]:
    return page.evaluate(
        "Array.from(document.getElementById('reply-file').files).map((file) => file.name)"
    )


def test_a_pasted_or_dropped_file_shows_a_preview_and_can_be_removed(cs1, sandbox):
    page = workspace(cs1)
    client_id, name = new_client_writes(sandbox, "Can you see my screen?", name="Dewi")
    open_session(page, name)
    preview = page.locator("#attachment-preview")

    page.evaluate(GIVE_FILE, ["paste", "screenshot.png", "image/png", PIXEL_PNG])
    expect(preview.get_by_role("img", name="screenshot.png")).to_be_visible()
    expect(preview).to_contain_text("screenshot.png")
    assert attached_files(page) == ["screenshot.png"]
    preview.get_by_role("button", name="Remove").click()
    expect(preview).to_be_empty()
    assert attached_files(page) == []

    # Dropped on the conversation; removed from the keyboard (Tab from the box).
    notes = "c2hpcHBpbmcgbGFiZWw="  # "shipping label"
    page.evaluate(GIVE_FILE, ["drop", "label.txt", "text/plain", notes])
    expect(preview).to_contain_text("label.txt · 14 B")
    expect(preview.get_by_role("img")).to_have_count(0)
    box(page).focus()
    page.keyboard.press("Tab")
    expect(preview.get_by_role("button", name="Remove")).to_be_focused()
    page.keyboard.press("Enter")
    expect(preview).to_be_empty()
    assert attached_files(page) == []

    # Dropped again, the file survives a switch, and Enter sends it without text.
    page.evaluate(GIVE_FILE, ["drop", "label.txt", "text/plain", notes])
    expect(preview).to_contain_text("label.txt")
    page.locator("#session-list > li.session-row:not(.current) a").first.click()
    expect(page.locator("#conversation h2")).not_to_contain_text(name)
    open_session(page, name)
    expect(preview).to_contain_text("label.txt")
    before = page.locator("#messages > li.msg.cs").count()
    box(page).press("Enter")
    expect(page.locator("#messages > li.msg.cs")).to_have_count(before + 1)
    expect(preview).to_be_empty()
    wait_until(lambda: len(sandbox.bot_messages(client_id)) == 2)  # the notice, the file
    assert not_reloaded(page)


def test_a_long_text_says_how_many_messages_it_takes_as_the_server_splits_it(cs1, sandbox):
    page = workspace(cs1)
    client_id, name = new_client_writes(sandbox, "Send me the full terms", name="Eko")
    open_session(page, name)
    note = page.locator("#reply-split-note")

    box(page).fill("x" * 4096)  # Telegram's limit, in UTF-16 units
    expect(note).to_have_text("")
    box(page).fill("😀" * 2049)  # 4,098 units though 2,049 characters
    expect(note).to_have_text("Will be sent as 2 messages")

    # 9,000 characters each: the spaces between two halves are dropped (2 parts); lines,
    # words (3 parts); one long word is cut where the limit falls (3 parts).
    halves = "a" * 4000 + " " * 1000 + "b" * 4000
    lines = ("x" * 99 + "\n") * 90
    words = " ".join(["word"] * 1800) + "s"
    for text, parts in ((halves, 2), (lines, 3), (words, 3), ("y" * 9000, 3)):
        assert len(text) == 9000 and len(split_text(as_submitted(text))) == parts
        box(page).fill(text)
        expect(note).to_have_text(f"Will be sent as {parts} messages")

    box(page).fill("short again")
    expect(note).to_have_text("")

    # What the client receives is what the note said.
    box(page).fill(words)
    expect(note).to_have_text("Will be sent as 3 messages")
    box(page).press("Enter")
    expect(box(page)).to_have_value("")
    expect(note).to_have_text("")
    wait_until(lambda: len(sandbox.bot_said(client_id)) == 4, timeout=30)
    assert sandbox.bot_said(client_id)[1:] == split_text(words)


def as_submitted(text: str) -> str:
    """What the server sends on: line breaks as LF (browsers post CRLF), stripped."""
    return text.strip()


def test_typing_reaches_the_socket_at_most_every_4_seconds_and_never_for_blanks(cs1, sandbox):
    page = workspace(cs1)
    _, name = new_client_writes(sandbox, "Hello?", name="Fitri")
    open_session(page, name)
    session_id = page.locator("#conversation").get_attribute("data-session-id")
    page.evaluate("""() => {
      window.__frames = [];
      const send = window.HelpDesk.send;
      window.HelpDesk.send = (frame) => { window.__frames.push(frame); return send(frame); };
    }""")

    def typing_frames() -> list[dict]:
        return [f for f in page.evaluate("window.__frames") if f["action"] == "typing"]

    box(page).press_sequentially("   ")
    box(page).press_sequentially("Let me check", delay=50)
    box(page).press_sequentially(" that for you")
    assert typing_frames() == [{"action": "typing", "session_id": session_id}]
    page.wait_for_timeout(4_100)
    box(page).press_sequentially(".")
    assert len(typing_frames()) == 2
    box(page).fill("")
    page.wait_for_timeout(4_100)
    box(page).press_sequentially("  ")  # blank again
    assert len(typing_frames()) == 2


def test_reply_to_a_message_shows_it_and_escape_cancels(cs1, sandbox):
    page = workspace(cs1)
    client_id, name = new_client_writes(sandbox, "Where is parcel 42?", name="Gita")
    open_session(page, name)
    message = page.locator("#messages > li.msg.client", has_text="Where is parcel 42?")
    chat_id = message.get_attribute("data-chat-id")
    target = page.locator("#reply-target")

    message.get_by_role("button", name="Reply").click()
    expect(target).to_be_visible()
    expect(target).to_contain_text("Where is parcel 42?")
    expect(page.locator("#reply-to-id")).to_have_value(chat_id)
    expect(box(page)).to_be_focused()
    page.keyboard.press("Escape")
    expect(target).to_be_hidden()
    expect(page.locator("#reply-to-id")).to_have_value("")

    # From the keyboard: "r" on the focused message; the cancel control works too.
    message.get_by_role("button", name="Reply").focus()
    page.keyboard.press("r")
    expect(page.locator("#reply-to-id")).to_have_value(chat_id)
    expect(box(page)).to_be_focused()
    expect(box(page)).to_have_value("")  # the "r" was not typed
    target.get_by_role("button", name="Cancel reply").click()
    expect(target).to_be_hidden()

    message.get_by_role("button", name="Reply").click()
    page.keyboard.type("On its way.")
    page.keyboard.press("Enter")
    expect(sent(page, "On its way.")).to_have_count(1)
    expect(target).to_be_hidden()
    expect(page.locator("#reply-to-id")).to_have_value("")
    wait_until(lambda: "On its way." in sandbox.bot_said(client_id))


def test_question_mark_shows_the_shortcuts_and_the_keys_do_what_it_says(cs1, sandbox):
    page = workspace(cs1, "?order=waiting")  # oldest first: an order pushes do not change
    # Telegram dates messages to the second, and the order breaks ties by id: a second
    # apart, the three are listed in the order they wrote.
    _, name_a = new_client_writes(sandbox, "first", name="Hana")
    time.sleep(1.1)
    _, name_b = new_client_writes(sandbox, "second", name="Indra")
    time.sleep(1.1)
    _, name_c = new_client_writes(sandbox, "third", name="Joko")
    for name in (name_a, name_b, name_c):
        expect(row(page, name).locator(".badge")).to_have_text("1")
    names = page.locator("#session-list > li.session-row").evaluate_all(
        "(rows) => rows.map((row) => row.dataset.clientName)"
    )
    assert names[-3:] == [name_a, name_b, name_c]
    # A and B read, C unread; A open.
    open_session(page, name_a)
    open_session(page, name_b)
    open_session(page, name_a)
    expect(row(page, name_b).locator(".badge")).to_have_count(0)

    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Next unread session")
    page.keyboard.press("j")  # nothing behind the dialog moves
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()
    expect(page.locator("#conversation h2")).to_contain_text(name_a)

    page.keyboard.press("u")  # skips B, read
    expect(page.locator("#conversation h2")).to_contain_text(name_c)
    page.keyboard.press("k")
    expect(page.locator("#conversation h2")).to_contain_text(name_b)
    page.keyboard.press("k")
    expect(page.locator("#conversation h2")).to_contain_text(name_a)
    page.keyboard.press("j")
    expect(page.locator("#conversation h2")).to_contain_text(name_b)

    page.keyboard.press("r")
    expect(box(page)).to_be_focused()
    page.keyboard.type("just a j")  # letters are text in the box
    expect(box(page)).to_have_value("just a j")
    expect(page.locator("#conversation h2")).to_contain_text(name_b)
    page.keyboard.press("Alt+ArrowDown")  # meant for the box: on to C, still typing
    expect(page.locator("#conversation h2")).to_contain_text(name_c)
    expect(box(page)).to_be_focused()
    page.keyboard.press("Alt+ArrowUp")
    expect(page.locator("#conversation h2")).to_contain_text(name_b)
    expect(box(page)).to_have_value("just a j")  # its draft
    page.keyboard.press("Escape")
    expect(box(page)).not_to_be_focused()

    page.keyboard.press("/")
    search = page.locator("#session-search")
    expect(search).to_be_focused()
    expect(search).to_have_value("")
    page.keyboard.type("ku")  # no shortcut while typing a search
    expect(search).to_have_value("ku")
    expect(page.locator("#conversation h2")).to_contain_text(name_b)
    assert not_reloaded(page)
