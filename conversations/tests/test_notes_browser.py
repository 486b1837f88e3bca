"""Private notes and mentions in a real browser: cs1 writes a note mentioning cs2 in its
conversation; the note shows distinctly, cs2's Mentions badge counts it live, cs2
follows it into the session read-only, and the client never receives the note.

Same set-up as test_workspace_composer_browser.py (shared fixtures in browser.py).
Needs /usr/bin/chromium: skipped without it, a failure with REQUIRE_BROWSER=1 (CI).
"""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from conversations.tests.browser import (
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


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium) -> Iterator[str]:
    yield from served(tmp_path_factory, "notes", TELEGRAM_CHAT_SEND_INTERVAL="0.5")


@pytest.fixture(scope="module")
def new_context(browser: Browser, server: str) -> Iterator:
    yield from contexts(browser, server)


def test_a_note_mentions_cs2_live_and_never_reaches_the_client(new_context, sandbox):
    cs1_context: BrowserContext = new_context()
    cs1 = log_in(cs1_context, "cs1@helpdesk.com")
    go_on_duty(cs1)
    wait_live(cs1)
    cs2 = log_in(new_context(), "cs2@helpdesk.com")  # signed in, not on duty
    wait_live(cs2)
    badge = cs2.locator("#mentions-count")
    expect(badge).to_be_hidden()

    client_id = sandbox.new_client("Nadia Note")
    sandbox.write(client_id, "Can I get a refund for order #10234?")
    row(cs1, "Nadia Note").locator("a").click()
    expect(cs1.locator("#conversation h2")).to_contain_text("Nadia Note")

    # Note mode, by keyboard: the box looks different and Enter stores a note.
    cs1.locator("#mode-reply").focus()
    cs1.keyboard.press("ArrowRight")
    expect(cs1.locator("#mode-note")).to_be_checked()
    box = cs1.locator("#reply-text")
    note_background = box.evaluate("el => getComputedStyle(el).backgroundColor")
    assert note_background == "rgb(255, 246, 214)"
    box.click()
    box.press_sequentially("@cs2 SECRETREFUND approve over limit?")
    box.press("Enter")

    note = cs1.locator("#messages > li.msg.note", has_text="SECRETREFUND")
    expect(note).to_have_count(1)
    expect(note).to_contain_text("Private note")
    expect(note).to_contain_text("CS 1")
    expect(note.locator("mark.mention")).to_have_text("@cs2")
    expect(cs1.locator("#messages > li.msg.cs", has_text="SECRETREFUND")).to_have_count(0)
    assert not_reloaded(cs1)

    # A reply afterwards reaches the client: the note never does.
    cs1.locator("#mode-reply").check()
    box.click()
    box.press_sequentially("We are checking your refund.")
    box.press("Enter")
    wait_until(lambda: "We are checking your refund." in sandbox.bot_said(client_id), 20)
    assert not any("SECRETREFUND" in text for text in sandbox.bot_said(client_id))

    # cs2's badge counts the mention live; the panel lists it; following it opens the
    # session read-only and clears the badge.
    expect(badge).to_have_text("1")
    assert not_reloaded(cs2)
    cs2.locator("#mentions-button").click()
    item = cs2.locator("#mentions-panel li.mention", has_text="Nadia Note")
    expect(item).to_contain_text("SECRETREFUND")
    item.locator("a").click()
    expect(cs2.locator("#conversation h2")).to_contain_text("Nadia Note")
    expect(cs2).to_have_url(re.compile(r"/console/sessions/[^/]+/$"))
    expect(cs2.locator("#messages > li.msg.note", has_text="SECRETREFUND")).to_have_count(1)
    expect(cs2.locator("#read-only")).to_be_visible()
    expect(cs2.locator("#reply-form")).to_have_count(0)
    expect(cs2.get_by_role("button", name="End session")).to_have_count(0)
    expect(badge).to_be_hidden()
    assert not_reloaded(cs2)
