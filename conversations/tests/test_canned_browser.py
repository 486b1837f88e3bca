"""Canned responses in a real browser (static/console/canned.js): the agent keeps its
own on the console's page, types "/ref" in the reply box, picks one with the keyboard,
and the client receives it in its language with its name filled in.

Playwright drives Debian's chromium against `manage.py serve` (conversations/tests/
browser.py); clients write through the sandbox API.

Needs /usr/bin/chromium: skipped without it, a failure with REQUIRE_BROWSER=1 (CI).
"""

import itertools
import re
from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
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

_names = itertools.count(1)
MANAGE = "/console/canned/manage/"


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium) -> Iterator[str]:
    yield from served(tmp_path_factory, "canned")


@pytest.fixture(scope="module")
def cs1(browser: Browser, server: str) -> Iterator[BrowserContext]:
    """cs1's browser, signed in and on duty, with three canned responses of its own."""
    factory = contexts(browser, server)
    context = next(factory)()
    page = log_in(context, "cs1@helpdesk.com")
    go_on_duty(page)
    for shortcut, title, text_en, text_id in [
        ("thanks", "Thank you", "Thanks, {client_name}!", ""),
        (
            "refund",
            "Refund on its way",
            "Hi {client_first_name}, your refund is on its way. {agent_name}",
            "Halo {client_first_name}, dana Anda sedang dikembalikan. {agent_name}",
        ),
        ("reference", "Order reference", "Please send your order number.", ""),
    ]:
        add_canned(page, shortcut, title, text_en, text_id)
    page.close()
    yield context
    next(factory, None)


def add_canned(page: Page, shortcut: str, title: str, text_en: str, text_id: str) -> None:
    page.goto(MANAGE)
    page.get_by_label("Shortcut").fill(shortcut)
    page.get_by_label("Title").fill(title)
    page.get_by_label("Text (English)").fill(text_en)
    page.get_by_label("Text (Indonesian)").fill(text_id)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#canned-personal")).to_contain_text(f"/{shortcut}")


def uses(page: Page, shortcut: str) -> str:
    page.goto(MANAGE)
    cells = page.locator("#canned-personal tr", has_text=f"/{shortcut}").locator("td")
    return cells.nth(2).inner_text()


def open_conversation(cs1: BrowserContext, sandbox: Sandbox, name: str, **client) -> tuple:
    name = f"{name} {next(_names)}"
    client_id = sandbox.new_client(name, **client)
    sandbox.write(client_id, "Where is my money?")
    page = cs1.new_page()
    page.goto("/console/")
    wait_live(page)
    row(page, name).locator("a").click()
    expect(page.locator("#conversation h2")).to_contain_text(name)
    expect(page).to_have_url(re.compile(r"/console/sessions/[^/]+/$"))
    return page, client_id, name


def test_slash_ref_lists_picks_by_keyboard_and_sends_in_the_clients_language(cs1, sandbox):
    assert uses(cs1.new_page(), "refund") == "0"
    page, client_id, _name = open_conversation(cs1, sandbox, "Rina Wati", language_code="id")
    box = page.locator("#reply-text")
    listbox = page.get_by_role("listbox")

    # A draft with the cursor in its middle: the canned text goes there, the rest stays.
    box.fill("Sure!  See you.")
    box.evaluate("(el) => { el.focus(); el.setSelectionRange(6, 6); }")
    page.keyboard.type("/ref")

    expect(listbox).to_be_visible()
    options = listbox.get_by_role("option")
    # Shortcut matches only, by shortcut: "/thanks" is not offered.
    expect(options).to_have_count(2)
    expect(options.nth(0)).to_contain_text("/reference")
    expect(options.nth(1)).to_contain_text("/refund")
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(box).to_have_attribute("aria-activedescendant", "canned-option-0")
    page.keyboard.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", "canned-option-1")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")  # chooses: does not send

    rendered = "Halo Rina, dana Anda sedang dikembalikan. CS 1"
    expect(listbox).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).to_have_value(f"Sure! {rendered} See you.")
    expect(page.locator("#messages > li.msg.cs")).to_have_count(0)

    page.keyboard.press("Enter")  # now it sends

    expect(page.locator("#messages > li.msg.cs")).to_contain_text("dana Anda sedang dikembalikan")
    expect(box).to_have_value("")
    assert not_reloaded(page)
    wait_until(lambda: f"Sure! {rendered} See you." in sandbox.bot_said(client_id))
    wait_until(lambda: uses(page, "refund") == "1")
    assert uses(page, "reference") == "0"


def test_escape_closes_the_list_and_tab_chooses_english_for_an_english_client(cs1, sandbox):
    page, _client_id, _name = open_conversation(cs1, sandbox, "Ann Lee", language_code="en")
    box = page.locator("#reply-text")
    listbox = page.get_by_role("listbox")

    box.click()
    page.keyboard.type("/than")
    expect(listbox.get_by_role("option")).to_have_count(1)
    page.keyboard.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_value("/than")
    expect(box).to_be_focused()

    page.keyboard.type("k")
    expect(listbox.get_by_role("option")).to_have_count(1)
    page.keyboard.press("Tab")

    expect(box).to_have_value(re.compile(r"^Thanks, Ann Lee \d+!$"))
    expect(box).to_be_focused()
    # Chosen but never sent: not counted.
    box.fill("")
    assert uses(cs1.new_page(), "thanks") == "0"

    box.focus()
    page.keyboard.type("/tha")
    expect(listbox.get_by_role("option")).to_have_count(1)
    # The combobox and its list add nothing serious for axe (a textarea with role
    # combobox is "minor": ARIA in HTML lists no role for textarea).
    violations = Axe().run(page).response["violations"]
    mine = [
        (v["id"], v["impact"])
        for v in violations
        if any("canned" in str(n["target"]) or "reply-text" in str(n["target"]) for n in v["nodes"])
    ]
    assert [v for v in mine if v[1] in ("serious", "critical")] == [], mine
