"""Search in a real browser: typing in the list pane's box shows results, and a result
opens the conversation at that message, scrolled to and highlighted. Fixtures as in
test_console_browser (one `manage.py serve`, clients played through the sandbox)."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from conversations.tests.browser import (
    ADMIN_PASSWORD,
    browser,
    chromium,
    contexts,
    log_in,
    playwright,
    sandbox,
    served,
    wait_live,
)
from telegram_gateway.tests.conftest import wait_until


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium) -> Iterator[str]:
    yield from served(tmp_path_factory, "search")


@pytest.fixture(scope="module")
def new_context(browser: Browser, server: str):
    yield from contexts(browser, server)


def test_a_result_opens_the_conversation_at_its_message(new_context, sandbox):
    client_id = sandbox.new_client("Rina Search")
    sandbox.write(client_id, "Pesanan #10234 <b>belum</b> sampai 🙏")
    for n in range(12):
        sandbox.write(client_id, f"later message {n}")
    context = new_context(viewport={"width": 1280, "height": 500})
    admin = log_in(context, "admin@helpdesk.com", ADMIN_PASSWORD)
    wait_live(admin)
    # Every message stored (the bot takes them in the background) before the search.
    assert wait_until(
        lambda: "message 11" in context.request.get("/console/search/?q=later").text()
    )

    admin.locator("#session-search").fill("#10234")
    result = admin.locator("#search-results .search-result", has_text="Rina Search")
    expect(result).to_have_count(1)
    expect(result.locator("mark")).to_have_text("#10234")
    expect(result.locator(".snippet")).to_contain_text("<b>belum</b>")  # shown, not markup

    result.locator("a").click()
    focused = admin.locator("#messages > li.msg.search-focus")
    expect(focused).to_have_count(1)
    expect(focused).to_contain_text("Pesanan #10234")
    expect(focused).to_be_in_viewport()
    expect(admin).to_have_url(re.compile(r"/console/sessions/[^/]+/\?at="))
    # One box: the emoji alone finds it too.
    admin.locator("#session-search").fill("🙏")
    expect(admin.locator("#search-results .search-result", has_text="Rina Search")).to_have_count(1)
