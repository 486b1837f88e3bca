"""The console in a real browser: Playwright drives Debian's chromium against `manage.py serve`.

One `serve` process (web app, websockets, bot and the sandbox's Bot API emulator) on a
fresh database of the pass's kind (SQLite, or MariaDB in the MariaDB pass) seeded by
`setup_db`; cs1 goes on duty from the console, so
new clients go to cs1. Clients write through the sandbox API, as a person on /sandbox/
would; every assertion is about what an agent sees, and "live" means without a page
load (a mark set on `window` after the page loaded is still there).

Needs /usr/bin/chromium (Playwright's own browser download is not used): skipped
without it, a failure with REQUIRE_BROWSER=1 (CI).
"""

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from conversations.tests.browser import (
    CS_PASSWORD,
    Sandbox,
    browser,
    chromium,
    contexts,
    log_in,
    not_reloaded,
    playwright,
    row,
    sandbox,
    served,
    wait_live,
)
from telegram_gateway.tests.conftest import wait_until

BASE_DIR = Path(__file__).resolve().parents[2]
CHAT_SEND_INTERVAL = 4
NOTICE = "Thank you! An agent is looking at your message now."
_names = itertools.count(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium) -> Iterator[str]:
    # One send per 4 s per chat: a reply right after the bot's notice to a new client
    # waits, so the console shows it pending first and sees it turn "sent" live.
    yield from served(
        tmp_path_factory, "browser", TELEGRAM_CHAT_SEND_INTERVAL=str(CHAT_SEND_INTERVAL)
    )


@pytest.fixture(scope="module")
def new_context(browser: Browser, server: str):
    yield from contexts(browser, server)


@pytest.fixture(scope="module")
def cs1(new_context) -> BrowserContext:
    """cs1's browser, signed in and on duty; its tabs stay open, so cs1 stays on duty."""
    context = new_context()
    page = log_in(context, "cs1@helpdesk.com")
    expect(page.locator("form.presence")).to_have_attribute("data-online", "0")  # as seeded
    page.get_by_role("button", name="Go online").click()
    expect(page.locator(".flash")).to_have_text("You are online.")
    expect(page.locator("form.presence")).to_have_attribute("data-online", "1")
    return context


def open_list(context: BrowserContext) -> Page:
    page = context.new_page()
    page.goto("/console/")
    wait_live(page)
    return page


def messages(page: Page, text: str):
    return page.locator("#messages > li.msg", has_text=text)


def unique(name: str) -> str:
    return f"{name} {next(_names)}"


def new_client_writes(sandbox: Sandbox, text: str, name: str = "Client") -> tuple[int, str]:
    name = unique(name)
    client_id = sandbox.new_client(name)
    sandbox.write(client_id, text)
    return client_id, name


def open_conversation(list_page: Page, client_name: str) -> str:
    """Click the client's row; returns the conversation's address."""
    row(list_page, client_name).locator("a").click()
    expect(list_page).to_have_url(re.compile(r"/console/sessions/[^/]+/$"))
    wait_live(list_page)
    return list_page.url


def test_cs1_logs_in_with_the_form_and_lands_on_the_console(new_context):
    page = new_context().new_page()
    page.goto("/console/")
    expect(page).to_have_url(re.compile(r"/login/\?next="))

    page.get_by_label("Email").fill("cs1@helpdesk.com")
    page.get_by_label("Password").fill(CS_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(re.compile(r"/console/$"))
    expect(page.get_by_role("heading", name="My active sessions")).to_be_visible()
    expect(page.locator("#live-status")).to_have_text("Live")
    expect(row(page, "John Doe")).to_be_visible()  # the seeded sample session


def test_a_client_message_appears_live_in_the_list_with_an_unread_badge(cs1, sandbox):
    page = open_list(cs1)
    expect(page.locator("#live-status")).to_have_text("Live")

    _, name = new_client_writes(sandbox, "Where is my parcel?", name="Rina")

    expect(row(page, name).locator(".preview")).to_have_text("Where is my parcel?")
    expect(row(page, name).locator(".badge")).to_have_text("1")
    assert not_reloaded(page)


def test_opening_the_conversation_clears_the_badge_in_every_tab(cs1, sandbox):
    tab, other_tab = open_list(cs1), open_list(cs1)
    _, name = new_client_writes(sandbox, "Can I change my address?", name="Sari")
    expect(row(tab, name).locator(".badge")).to_have_text("1")
    expect(row(other_tab, name).locator(".badge")).to_have_text("1")

    open_conversation(tab, name)
    expect(messages(tab, "Can I change my address?")).to_be_visible()

    # The other tab learns it was read, live.
    expect(row(other_tab, name)).to_be_visible()
    expect(row(other_tab, name).locator(".badge")).to_have_count(0)
    assert not_reloaded(other_tab)

    tab.get_by_role("link", name="Help Desk").click()  # back to the list
    expect(tab).to_have_url(re.compile(r"/console/$"))
    expect(row(tab, name)).to_be_visible()
    expect(row(tab, name).locator(".badge")).to_have_count(0)


def test_a_new_message_appears_live_in_the_open_conversation(cs1, sandbox):
    page = open_list(cs1)
    client_id, name = new_client_writes(sandbox, "Hello?", name="Budi")
    open_conversation(page, name)
    expect(messages(page, "Hello?")).to_be_visible()
    before = page.locator("#messages > li").count()

    sandbox.write(client_id, "Is anyone there?")

    expect(messages(page, "Is anyone there?")).to_be_visible()
    expect(page.locator("#messages > li")).to_have_count(before + 1)
    assert not_reloaded(page)


def test_a_reply_reaches_the_client_and_its_delivery_turns_sent_live(cs1, sandbox):
    page = open_list(cs1)
    client_id, name = new_client_writes(sandbox, "My order is late.", name="Ann")
    open_conversation(page, name)

    page.evaluate("window.__noReload = true")
    page.locator("#reply-text").fill("We are on it!")
    with page.expect_response(lambda response: "/reply/" in response.url) as answer:
        page.get_by_role("button", name="Send").click()

    reply = page.locator("#messages > li.msg.cs", has_text="We are on it!")
    expect(reply).to_be_visible()
    assert page.evaluate("window.__noReload") is True  # sent without a page load
    # The reply's own item as served (the bot's notice above it has been sent already).
    (served,) = [item for item in answer.value.text().split("<li ") if "We are on it!" in item]
    assert 'class="delivery sent"' not in served, (
        f"the reply was sent before its page was served: more than {CHAT_SEND_INTERVAL} s "
        "since the bot's notice, so there was no live change to see"
    )
    expect(reply.locator("span.delivery.sent")).to_have_text("sent")
    assert not_reloaded(page)
    # The emulator recorded the bot's sendMessage to this client, once.
    assert sandbox.bot_said(client_id) == [NOTICE, "We are on it!"]


# A slow websocket handshake, in effect: while sessionStorage.holdSockets is set, the
# page's sockets open only when the test calls window.releaseSockets().
HOLD_SOCKETS = """
(() => {
  const Real = window.WebSocket;
  const held = [];
  window.releaseSockets = () => held.splice(0).forEach((open) => open());
  window.WebSocket = function (url, protocols) {
    if (!sessionStorage.getItem("holdSockets")) return new Real(url, protocols);
    const socket = new EventTarget();
    socket.readyState = 0;
    held.push(() => {
      const real = new Real(url, protocols);
      socket.send = (data) => real.send(data);
      for (const type of ["open", "message", "close", "error"]) {
        real.addEventListener(type, (event) => {
          socket.readyState = real.readyState;
          socket.dispatchEvent(new event.constructor(event.type, event));
        });
      }
    });
    return socket;
  };
  Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
})();
"""


def test_a_reply_sent_before_the_socket_connects_still_shows_sent(cs1, sandbox):
    """A change between the page's render and its socket joining reaches nobody by
    push; the page catches up when its socket opens."""
    page = open_list(cs1)
    client_id, name = new_client_writes(sandbox, "Quick question", name="Eko")
    open_conversation(page, name)
    page.add_init_script(HOLD_SOCKETS)
    page.evaluate("sessionStorage.setItem('holdSockets', '1')")
    page.reload()  # its socket now waits for the test

    page.locator("#reply-text").fill("Quick answer")
    page.get_by_role("button", name="Send").click()
    reply = page.locator("#messages > li.msg.cs", has_text="Quick answer")
    expect(reply.locator("span.delivery")).to_have_text("pending")  # as rendered
    wait_until(lambda: "Quick answer" in sandbox.bot_said(client_id))
    page.evaluate("window.__noReload = true")
    page.evaluate("window.releaseSockets()")

    expect(reply.locator("span.delivery.sent")).to_have_text("sent")
    sandbox.write(client_id, "Thanks!")
    expect(messages(page, "Thanks!")).to_be_visible()  # and pushes flow from then on
    assert page.evaluate("window.__noReload") is True


def test_cs2_can_neither_open_nor_see_cs1s_conversation(cs1, new_context, sandbox):
    cs1_page = open_list(cs1)
    client_id, name = new_client_writes(sandbox, "Private question", name="Dewi")
    expect(row(cs1_page, name)).to_be_visible()
    address = row(cs1_page, name).locator("a").get_attribute("href")

    cs2_page = log_in(new_context(), "cs2@helpdesk.com")
    wait_live(cs2_page)
    response = cs2_page.goto(address)
    assert response.status == 404
    assert "Private question" not in cs2_page.content()

    cs2_page.goto("/console/")
    wait_live(cs2_page)
    expect(cs2_page.get_by_role("heading", name="My active sessions")).to_be_visible()
    expect(row(cs2_page, name)).to_have_count(0)
    # Nor does a new message of that client reach cs2's open list.
    sandbox.write(client_id, "Another private question")
    expect(row(cs1_page, name).locator(".preview")).to_have_text("Another private question")
    expect(row(cs2_page, name)).to_have_count(0)
    expect(cs2_page.locator("#session-list")).not_to_contain_text("private question")


def test_the_console_speaks_indonesian_to_an_indonesian_browser(new_context, sandbox):
    context = new_context(locale="id-ID")
    page = context.new_page()
    page.goto("/login/")
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.get_by_role("heading", name="Masuk")).to_be_visible()
    page.get_by_label("Email").fill("cs1@helpdesk.com")
    page.get_by_label("Kata sandi").fill(CS_PASSWORD)
    page.get_by_role("button", name="Masuk").click()

    expect(page).to_have_url(re.compile(r"/console/$"))
    expect(page.get_by_role("heading", name="Sesi aktif saya")).to_be_visible()
    expect(page.get_by_role("heading", name="Antrean tunggu")).to_be_visible()
    expect(page.get_by_role("button", name="Keluar")).to_be_visible()
    expect(page.locator("#live-status")).to_have_text("Terhubung")
    wait_live(page)

    # Live fragments are rendered in the page's language too.
    client_id, name = new_client_writes(sandbox, "Halo, pesanan saya belum sampai", name="Putri")
    badge = row(page, name).locator(".badge")
    expect(badge).to_have_text("1")
    expect(badge).to_have_attribute("title", "belum dibaca")
    open_conversation(page, name)
    expect(page.get_by_role("button", name="Kirim")).to_be_visible()
    expect(page.get_by_role("button", name="Akhiri sesi")).to_be_visible()
    page.locator("#reply-text").fill("Kami periksa sekarang.")
    page.get_by_role("button", name="Kirim").click()
    wait_live(page)
    reply = page.locator("#messages > li.msg.cs", has_text="Kami periksa sekarang.")
    expect(reply.locator("span.delivery")).to_have_text("menunggu")  # held by the pacer
    expect(reply.locator("span.delivery.sent")).to_have_text("terkirim")
    assert not_reloaded(page)
    assert "Kami periksa sekarang." in sandbox.bot_said(client_id)


def test_the_console_fits_a_phone(new_context, sandbox):
    context = new_context(viewport={"width": 390, "height": 844})
    page = log_in(context, "cs1@helpdesk.com")
    wait_live(page)
    long_text = "My tracking link https://example.com/" + "x" * 120 + " does not work."
    _, name = new_client_writes(sandbox, long_text, name="Maria Fernanda Gonzalez Rodriguez")
    expect(row(page, name)).to_be_visible()
    assert not horizontal_scroll(page), "the list scrolls sideways on a phone"

    open_conversation(page, name)
    expect(messages(page, "does not work.")).to_be_visible()
    assert not horizontal_scroll(page), "the conversation scrolls sideways on a phone"
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    page.get_by_role("button", name="Send").scroll_into_view_if_needed()
    expect(page.get_by_role("button", name="Send")).to_be_in_viewport()


def horizontal_scroll(page: Page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )


def test_an_admin_sees_a_new_waiting_client_live_and_assigns_it(cs1, new_context, sandbox):
    """Last in this module: it takes cs1 off duty, so that a new client waits."""
    cs1_page = open_list(cs1)
    cs1_page.get_by_role("button", name="Go offline").click()
    expect(cs1_page.locator("form.presence")).to_have_attribute("data-online", "0")
    wait_live(cs1_page)
    admin = log_in(new_context(), "admin@helpdesk.com", "admin123")
    wait_live(admin)
    waiting_count = int(admin.locator("#waiting-count").inner_text())

    _, name = new_client_writes(sandbox, "Is anybody there?", name="Wati")

    entry = admin.locator("#waiting-list li", has_text=name)
    expect(entry).to_be_visible()
    expect(admin.locator("#waiting-count")).to_have_text(str(waiting_count + 1))
    assert not_reloaded(admin)

    entry.get_by_label("Agent").select_option(label="CS 1")
    entry.get_by_role("button", name="Assign").click()
    expect(admin.locator(".flash")).to_be_visible()
    expect(admin.locator("#waiting-list")).not_to_contain_text(name)
    expect(row(cs1_page, name)).to_be_visible()  # pushed to cs1's open list
    assert not_reloaded(cs1_page)
    cs1_page.get_by_role("button", name="Go online").click()
