"""The agent workspace in a real browser, against a bot that talks to a Bot API emulator.

`manage.py serve` runs with a bot token and the emulator (`python -m telegram_emulator`,
its own process) as its Telegram, so the test plays clients through the emulator's
control API: albums, replies to earlier messages and a client blocking the bot, as
Telegram would send them. What is asserted is what an agent sees and what reaches the
client's Telegram. Fixtures for chromium come from the console's browser test.
"""

import itertools
import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page, expect

from conversations.tests.browser import (
    ADMIN_PASSWORD,
    browser,
    chromium,
    contexts,
    log_in,
    not_reloaded,
    playwright,
    served,
    wait_live,
)
from telegram_gateway.tests.conftest import wait_until

TOKEN = "424242:WORKSPACE-BROWSER-TEST"
_user_ids = itertools.count(7_100_001)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


class Telegram:
    """The emulator's control API: clients write, block the bot; what the bot sent."""

    def __init__(self, base: str) -> None:
        self.base = base + "/_emulator"

    def _call(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
        assert answer["ok"], answer
        return answer["result"]

    def new_client(self, first_name: str) -> int:
        user_id = next(_user_ids)
        self._call("POST", "/users", {"user_id": user_id, "first_name": first_name})
        return user_id

    def write(self, user_id: int, text: str, **fields) -> int:
        update = self._call("POST", "/inject/message", {"user_id": user_id, "text": text, **fields})
        return update["message"]["message_id"]

    def album(self, user_id: int, count: int, caption: str) -> None:
        import base64

        items = [base64.b64encode(PNG).decode()] * count
        self._call(
            "POST", "/inject/album", {"user_id": user_id, "items_b64": items, "caption": caption}
        )

    def block(self, user_id: int) -> None:
        self._call("POST", f"/users/{user_id}/block", {})

    def unblock(self, user_id: int) -> None:
        self._call("POST", f"/users/{user_id}/unblock", {})

    def sent(self, user_id: int, method: str = "sendMessage") -> list[dict]:
        return self._call("GET", f"/sent?chat_id={user_id}&method={method}")


@pytest.fixture(scope="module")
def telegram(tmp_path_factory) -> Iterator[Telegram]:
    process = subprocess.Popen(
        [sys.executable, "-m", "telegram_emulator", "--port", "0", "--token", TOKEN],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        base = process.stdout.readline().strip()
        assert base.startswith("http"), base
        yield Telegram(base)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium, telegram) -> Iterator[str]:
    """`manage.py serve` with a bot token, polling the emulator as its Telegram."""
    yield from served(
        tmp_path_factory,
        "workspace",
        ready_path="/login/",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=telegram.base.removesuffix("/_emulator"),
        TELEGRAM_POLL_TIMEOUT="1",
    )


@pytest.fixture(scope="module")
def new_context(browser, server: str):
    yield from contexts(browser, server)


@pytest.fixture(scope="module")
def agent(new_context) -> BrowserContext:
    """cs1, signed in and on duty, so new clients go to cs1."""
    context = new_context(viewport={"width": 1280, "height": 640})
    page = log_in(context, "cs1@helpdesk.com")
    if page.locator("form.presence").get_attribute("data-online") == "0":
        page.get_by_role("button", name="Go online").click()
    expect(page.locator("form.presence")).to_have_attribute("data-online", "1")
    return context


_names = itertools.count(1)


def client_writes(telegram: Telegram, text: str, name: str = "Client") -> tuple[int, str]:
    name = f"{name} {next(_names)}"
    user_id = telegram.new_client(name)
    telegram.write(user_id, text)
    return user_id, name


def workspace(context: BrowserContext, path: str = "/console/") -> Page:
    page = context.new_page()
    page.goto(path)
    wait_live(page)
    return page


def row(page: Page, name: str):
    return page.locator("#session-list > li.session-row", has_text=name)


def open_row(page: Page, name: str) -> None:
    row(page, name).locator("a").click()
    expect(page.locator("#conversation h2")).to_contain_text(name)


def test_switching_sessions_keeps_the_page_and_the_address_says_what_is_open(agent, telegram):
    clients = [client_writes(telegram, f"Question {n}", name="Switch") for n in range(8)]
    page = workspace(agent)
    for _user_id, name in clients:
        expect(row(page, name)).to_be_visible()

    # The list scrolls on its own; opening a session far down keeps it where it was.
    page.locator("#list-pane").evaluate("pane => { pane.scrollTop = pane.scrollHeight; }")
    scrolled = page.locator("#list-pane").evaluate("pane => pane.scrollTop")
    assert scrolled > 0
    first, last = clients[0][1], clients[-1][1]
    open_row(page, first)
    first_url = page.url
    assert re.search(r"/console/sessions/[^/]+/$", first_url)
    expect(page.locator("#messages")).to_contain_text("Question 0")
    assert page.locator("#list-pane").evaluate("pane => pane.scrollTop") == scrolled
    expect(row(page, first)).to_have_class(re.compile(r"\bcurrent\b"))

    open_row(page, last)
    expect(page.locator("#messages")).to_contain_text("Question 7")
    assert not_reloaded(page)  # no page load: the mark set on window survived
    expect(page.locator("#client-pane")).to_contain_text(str(clients[-1][0]))  # Telegram id

    page.go_back()
    expect(page).to_have_url(first_url)
    expect(page.locator("#conversation h2")).to_contain_text(first)
    page.go_forward()
    expect(page.locator("#conversation h2")).to_contain_text(last)
    page.reload()  # a deep link shows that session
    expect(page.locator("#conversation h2")).to_contain_text(last)
    expect(row(page, first)).to_be_visible()


def test_the_list_stays_live_while_a_conversation_is_open(agent, telegram):
    _user_id, open_name = client_writes(telegram, "I am the open one", name="Open")
    other_id, other_name = client_writes(telegram, "Hello", name="Other")
    page = workspace(agent)
    open_row(page, open_name)
    wait_live(page)

    telegram.write(other_id, "Anyone there?")
    expect(row(page, other_name).locator(".badge")).to_have_text("2")
    expect(row(page, other_name).locator(".preview")).to_have_text("Anyone there?")
    expect(page.locator("#session-list > li.session-row").first).to_contain_text(other_name)
    _new_id, new_name = client_writes(telegram, "Brand new", name="Arrives")
    expect(row(page, new_name)).to_be_visible()
    expect(page.locator("#conversation h2")).to_contain_text(open_name)  # still open
    assert not_reloaded(page)


def test_an_album_shows_as_one_message_with_a_grid_also_live(agent, telegram):
    user_id, name = client_writes(telegram, "Photos of the damage coming", name="Album")
    page = workspace(agent)
    open_row(page, name)
    wait_live(page)

    telegram.album(user_id, 3, caption="Three photos")

    album = page.locator("#messages > li.msg.album")
    expect(album).to_have_count(1)
    expect(album.locator(".album-part img")).to_have_count(3)
    expect(album).to_contain_text("Three photos")
    page.reload()
    expect(page.locator("#messages > li.msg.album")).to_have_count(1)
    expect(page.locator("#messages > li.msg.album .album-part")).to_have_count(3)


def test_a_reply_to_reaches_the_client_as_a_telegram_reply_and_quotes_show(agent, telegram):
    user_id, name = client_writes(telegram, "First question", name="Quote")
    second_id = telegram.write(user_id, "Second question")
    page = workspace(agent)
    open_row(page, name)

    question = page.locator("#messages > li.msg.client", has_text="Second question")
    question.get_by_role("button", name="Reply").click()
    expect(page.locator("#reply-target")).to_contain_text("Second question")
    page.locator("#reply-text").fill("About your second question")
    page.locator("#reply-text").press("Enter")

    answer = page.locator("#messages > li.msg.cs", has_text="About your second question")
    expect(answer.locator(".reply-quote")).to_contain_text("Second question")

    def sent_reply() -> dict | None:
        for record in telegram.sent(user_id):
            if record["text"] == "About your second question":
                return record
        return None

    wait_until(lambda: sent_reply() is not None)
    parameters = sent_reply()["params"].get("reply_parameters")
    if isinstance(parameters, str):
        parameters = json.loads(parameters)
    assert parameters["message_id"] == second_id

    # The client answers the agent's message in Telegram: the quote links to it.
    expect(answer.locator("span.delivery.sent")).to_be_visible()
    agent_message_id = sent_reply()["message_id"]
    telegram.write(user_id, "Thanks, that helps", reply_to_message_id=agent_message_id)
    thanks = page.locator("#messages > li.msg.client", has_text="Thanks, that helps")
    quote = thanks.locator(".reply-quote a")
    expect(quote).to_contain_text("About your second question")
    answer_id = answer.get_attribute("id")
    assert quote.get_attribute("href") == f"#{answer_id}"


def test_a_client_who_blocked_the_bot_is_shown_unreachable_until_it_writes(agent, telegram):
    user_id, name = client_writes(telegram, "Bye", name="Blocker")
    page = workspace(agent)
    open_row(page, name)
    telegram.block(user_id)

    page.locator("#reply-text").fill("Are you still there?")
    page.locator("#reply-send").click()

    unreachable = "unreachable: the client blocked the bot"
    expect(row(page, name).locator(".unreachable")).to_have_text(unreachable, timeout=10_000)
    expect(page.locator("#conversation .conv-head")).to_contain_text(unreachable)
    expect(page.locator(".reply-blocked")).to_contain_text(unreachable)
    expect(page.locator("#reply-text")).to_have_count(0)

    telegram.unblock(user_id)
    telegram.write(user_id, "Sorry, I am back")
    expect(row(page, name).locator(".unreachable")).to_have_count(0)
    expect(page.locator("#reply-text")).to_be_visible()


def test_a_phone_shows_one_pane_at_a_time(agent, new_context, telegram):
    _user_id, name = client_writes(telegram, "From my phone", name="Phone")
    context = new_context(viewport={"width": 390, "height": 844})
    page = log_in(context, "cs1@helpdesk.com")
    expect(row(page, name)).to_be_visible()
    expect(page.locator("#work")).to_be_hidden()

    open_row(page, name)
    expect(page.locator("#list-pane")).to_be_hidden()
    expect(page.locator("#client-pane")).to_be_hidden()
    page.get_by_role("button", name="Client details").click()
    expect(page.locator("#client-pane")).to_be_visible()
    expect(page.locator("#conversation")).to_be_hidden()
    page.get_by_role("button", name="Back to the conversation").click()
    expect(page.locator("#conversation")).to_be_visible()
    page.locator("#conversation .back").click()
    expect(page.locator("#list-pane")).to_be_visible()
    expect(page.locator("#work")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize("email", ["cs1@helpdesk.com", "admin@helpdesk.com"])
def test_axe_finds_no_serious_or_critical_violation(agent, new_context, telegram, email):
    user_id, name = client_writes(telegram, "Accessibility check", name="Axe")
    telegram.album(user_id, 2, caption="Two photos")
    context = new_context(viewport={"width": 1280, "height": 800})
    page = log_in(context, email, password=ADMIN_PASSWORD if email.startswith("admin") else "cs123")
    open_row(page, name)
    expect(page.locator("#messages > li.msg.album")).to_have_count(1)

    results = Axe().run(page)

    serious = [
        (violation["id"], [node["target"] for node in violation["nodes"]][:3])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert serious == [], results.generate_report()


def test_load_at_a_glance_follows_sessions_and_presence_live(agent, new_context, telegram):
    page = workspace(agent)
    before = int(page.locator("#my-load").get_attribute("data-active"))
    admin = log_in(new_context(), "admin@helpdesk.com", password=ADMIN_PASSWORD)
    wait_live(admin)
    cs2_row = admin.locator("#agents-panel li", has_text="CS 2")
    expect(cs2_row).to_contain_text("Offline")

    client_writes(telegram, "Count me in", name="Load")
    expect(page.locator("#my-load")).to_have_attribute("data-active", str(before + 1))
    expect(page.locator("#my-load")).to_contain_text(f"{before + 1} active")

    cs2 = log_in(new_context(), "cs2@helpdesk.com")
    cs2.get_by_role("button", name="Go online").click()
    expect(cs2_row).to_contain_text("Online")
    assert not_reloaded(admin)


def test_an_admin_watches_the_transport_from_the_top_bar_and_its_panel(agent, new_context):
    """Issue 16: the top bar says whether Telegram traffic flows, refreshed every 30 s,
    and leads to the transport panel; a CS's top bar has none of it."""
    context = new_context(viewport={"width": 1280, "height": 800})
    page = log_in(context, "admin@helpdesk.com", password=ADMIN_PASSWORD)
    state = page.locator("#transport-alerts")
    expect(state).to_have_text("Telegram: flowing")
    with page.expect_request(re.compile(r"/console/transport/alerts/$"), timeout=40_000):
        pass  # the next refresh, without a reload

    state.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/console/transport/$"))
    expect(page.locator("#transport-mode")).to_have_text("Long polling (runbot)")
    expect(page.get_by_text("Updates and replies are flowing.")).to_be_visible()
    # Polling, with no webhook address configured: registering one would stop runbot.
    expect(page.get_by_role("button", name="Register the webhook again")).to_have_count(0)

    results = Axe().run(page)
    serious = [
        v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], results.generate_report()

    assert workspace(agent).locator("#transport-alerts").count() == 0
