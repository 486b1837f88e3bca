"""Being told, in a real browser: the sound, the desktop notification and the title's
unread count when a client writes where the agent is not looking (issue 13, point 2).

Same setup as test_console_browser.py: one `manage.py serve` (web app, websockets, bot
and the sandbox's Bot API emulator) on a fresh database of the pass's kind, Debian's
chromium, clients played through the sandbox API. The page's sound plays and desktop
notifications are recorded by an init script wrapping the browser's own APIs
(HTMLMediaElement.play, AudioContext sources, Notification): the app's code runs as is.

Needs /usr/bin/chromium: skipped without it, a failure with REQUIRE_BROWSER=1 (CI).
"""

import itertools
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from conversations.tests.browser import (
    Sandbox,
    browser,
    chromium,
    contexts,
    log_in,
    playwright,
    row,
    sandbox,
    served,
    wait_live,
)

ALERT_MS = 5_000  # the promise: told within 5 s
_names = itertools.count(1)

# What the agent would hear and see, recorded in the page. Pushes are recorded too, so a
# test knows a message has reached the page (and alerts.js has had its say) before it
# asserts that something did not happen.
RECORD_ALERTS = """
(() => {
  const record = (window.__alerts = { sounds: [], notifications: [], asks: 0, pushes: [] });
  document.addEventListener("workspace:push", (event) => record.pushes.push(event.detail.event));

  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function (...args) {
    record.sounds.push(this.currentSrc || this.src);
    record.lastSoundAt = performance.now();
    return play.apply(this, args);
  };
  if (window.AudioScheduledSourceNode) {
    const start = AudioScheduledSourceNode.prototype.start;
    AudioScheduledSourceNode.prototype.start = function (...args) {
      record.sounds.push("audio-context");
      record.lastSoundAt = performance.now();
      return start.apply(this, args);
    };
  }

  const Real = window.Notification;
  if (!Real) return;
  class Recorded extends EventTarget {
    constructor(title, options = {}) {
      super();
      Object.assign(this, { title, body: options.body, tag: options.tag, closed: false });
      record.notifications.push(this);
    }
    close() { this.closed = true; }
    static get permission() { return Real.permission; }
    static requestPermission(...args) {
      record.asks += 1;
      return Real.requestPermission(...args);
    }
  }
  window.Notification = Recorded;
})();
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium) -> Iterator[str]:
    yield from served(tmp_path_factory, "alerts")


@pytest.fixture(scope="module")
def new_context(browser: Browser, server: str):
    """Browser contexts (separate people) that record alerts; notifications granted
    unless told otherwise."""
    factory = contexts(browser, server, lambda context: context.add_init_script(RECORD_ALERTS))
    new = next(factory)

    def with_notifications(*, notifications: bool = True, **options) -> BrowserContext:
        context = new(**options)
        if notifications:
            context.grant_permissions(["notifications"])
        return context

    yield with_notifications
    next(factory, None)  # closes them, and fails on any JavaScript error


@pytest.fixture(scope="module")
def cs1(new_context) -> BrowserContext:
    """cs1's browser, signed in, notifications granted, on duty: new clients go to cs1."""
    context = new_context()
    page = log_in(context, "cs1@helpdesk.com")
    page.get_by_role("button", name="Go online").click()
    expect(page.locator("form.presence")).to_have_attribute("data-online", "1")
    return context


def open_workspace(context: BrowserContext, path: str = "/console/") -> Page:
    page = context.new_page()
    page.goto(path)
    wait_live(page)
    return page


def new_client_writes(sandbox: Sandbox, text: str, name: str) -> tuple[int, str]:
    name = f"{name} {next(_names)}"
    client_id = sandbox.new_client(name)
    sandbox.write(client_id, text)
    return client_id, name


def session_id(page: Page, client_name: str) -> str:
    expect(row(page, client_name)).to_be_visible()
    return row(page, client_name).get_attribute("data-session-id")


def open_conversation(page: Page, client_name: str) -> str:
    sid = session_id(page, client_name)
    row(page, client_name).locator("a").click()
    expect(page.locator("#conversation")).to_have_attribute("data-session-id", sid)
    return sid


def forget_alerts(page: Page) -> None:
    """Start recording afresh, once the last sound is over a second old: alerts.js
    chimes once for a burst, and the next message must not count as part of one."""
    page.wait_for_function(
        "performance.now() - (window.__alerts.lastSoundAt ?? -1e9) > 1100", timeout=3000
    )
    page.evaluate("""() => {
        const record = window.__alerts;
        record.sounds.length = record.notifications.length = record.pushes.length = 0;
    }""")


def wait_client_push(page: Page, sid: str) -> None:
    """The client's message has reached this page (and every listener has run)."""
    page.wait_for_function(
        """(sid) => window.__alerts.pushes.some((e) =>
            e.kind === "chat" && String(e.session_id) === sid && e.sender_type === "CLIENT")""",
        arg=sid,
    )


def sounds(page: Page) -> list[str]:
    return page.evaluate("window.__alerts.sounds")


def notifications(page: Page) -> list[dict]:
    return page.evaluate(
        "window.__alerts.notifications.map(({title, body, tag}) => ({title, body, tag}))"
    )


def my_unread(page: Page) -> int:
    """What the title should count: the unread badges of my rows in the list."""
    return page.evaluate("""() => [...document.querySelectorAll("#session-list > li.session-row")]
        .filter((li) => li.dataset.csId === document.body.dataset.userId)
        .reduce((sum, li) => sum + Number(li.dataset.unread || 0), 0)""")


def test_a_message_in_another_session_chimes_notifies_and_counts_in_the_title(cs1, sandbox):
    page = open_workspace(cs1)
    _, in_front = new_client_writes(sandbox, "I am the one you are reading.", name="Ayu")
    open_conversation(page, in_front)
    other_id, other = new_client_writes(sandbox, "Hello?", name="Bayu")
    other_sid = session_id(page, other)
    expect(row(page, other)).to_have_attribute("data-unread", "1")
    expect(page).to_have_title(re.compile(r"^\(\d+\) "))
    before = my_unread(page)
    forget_alerts(page)

    sandbox.write(other_id, "My parcel never came.")

    page.wait_for_function("window.__alerts.sounds.length > 0", timeout=ALERT_MS)
    expect(page).to_have_title(re.compile(rf"^\({before + 1}\) "), timeout=ALERT_MS)
    assert re.fullmatch(r"/static/console/alert\.wav", _path(sounds(page)[0])), sounds(page)
    page.wait_for_function("window.__alerts.notifications.length > 0", timeout=ALERT_MS)
    assert notifications(page)[-1] == {
        "title": other,
        "body": "New message",
        "tag": f"helpdesk-session-{other_sid}",
    }
    # The conversation in front stayed: a chime is no interruption.
    expect(page.locator("#conversation")).to_contain_text("I am the one you are reading.")


def test_a_session_assigned_to_me_chimes_and_notifies(cs1, sandbox):
    page = open_workspace(cs1)
    forget_alerts(page)

    _, name = new_client_writes(sandbox, "I am new here.", name="Gita")

    sid = session_id(page, name)  # its row arrived live
    page.wait_for_function("window.__alerts.notifications.length > 0", timeout=ALERT_MS)
    assert sounds(page), "no sound for a new session"
    assert {
        "title": name,
        "body": "New session assigned",
        "tag": f"helpdesk-session-{sid}",
    } in notifications(page)


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_clicking_the_notification_opens_that_session_in_the_same_page(cs1, sandbox):
    page = open_workspace(cs1)
    client_id, name = new_client_writes(sandbox, "First", name="Citra")
    sid = session_id(page, name)
    page.evaluate("window.__kept = true")
    forget_alerts(page)

    sandbox.write(client_id, "Second")
    page.wait_for_function("window.__alerts.notifications.length > 0", timeout=ALERT_MS)
    page.evaluate("window.__alerts.notifications.at(-1).dispatchEvent(new Event('click'))")

    expect(page).to_have_url(re.compile(rf"/console/sessions/{sid}/$"))
    expect(page.locator("#conversation")).to_have_attribute("data-session-id", sid)
    assert page.evaluate("window.__kept") is True, "the page was reloaded"
    assert page.evaluate("window.__alerts.notifications.at(-1).closed")


def test_the_open_conversation_in_front_of_me_stays_quiet(cs1, sandbox):
    page = open_workspace(cs1)
    client_id, name = new_client_writes(sandbox, "Are you there?", name="Dimas")
    sid = open_conversation(page, name)
    forget_alerts(page)

    sandbox.write(client_id, "Hello again")

    wait_client_push(page, sid)
    expect(page.locator("#messages")).to_contain_text("Hello again")
    assert sounds(page) == []
    assert notifications(page) == []


def test_the_open_conversation_chimes_while_the_tab_is_hidden(cs1, sandbox):
    page = open_workspace(cs1)
    client_id, name = new_client_writes(sandbox, "Anyone?", name="Eka")
    open_conversation(page, name)
    # As the browser reports a background tab (Playwright's pages are always visible).
    page.evaluate("""() => {
        const hidden = (name, value) =>
            Object.defineProperty(document, name, { configurable: true, get: () => value });
        hidden("hidden", true);
        hidden("visibilityState", "hidden");
    }""")
    forget_alerts(page)

    sandbox.write(client_id, "Still here")

    page.wait_for_function("window.__alerts.sounds.length > 0", timeout=ALERT_MS)
    page.wait_for_function("window.__alerts.notifications.length > 0", timeout=ALERT_MS)
    assert notifications(page)[-1]["title"] == name


def test_sound_switched_off_stays_off_after_a_reload(cs1, sandbox):
    page = open_workspace(cs1)
    sound = page.get_by_role("switch", name="Sound", exact=True)
    expect(sound).to_be_checked()
    sound.focus()
    with page.expect_response("**/console/alerts/") as saved:
        page.keyboard.press("Space")  # a switch works from the keyboard
    assert saved.value.status == 204
    expect(sound).not_to_be_checked()

    page.reload()
    wait_live(page)
    expect(page.locator("body")).to_have_attribute("data-notify-sound", "0")
    expect(page.get_by_role("switch", name="Sound", exact=True)).not_to_be_checked()
    client_id, name = new_client_writes(sandbox, "Quiet please", name="Fajar")
    sid = session_id(page, name)
    forget_alerts(page)

    sandbox.write(client_id, "Still quiet?")

    wait_client_push(page, sid)
    page.wait_for_function("window.__alerts.notifications.length > 0", timeout=ALERT_MS)
    assert sounds(page) == []  # desktop notifications stay on: only the sound is off

    # Back on, for the rest of the module: takes effect at once, without a reload.
    with page.expect_response("**/console/alerts/"):
        page.get_by_role("switch", name="Sound", exact=True).check()
    forget_alerts(page)
    sandbox.write(client_id, "And now?")
    page.wait_for_function("window.__alerts.sounds.length > 0", timeout=ALERT_MS)


def test_desktop_switched_off_shows_no_notification_but_still_chimes(cs1, sandbox):
    page = open_workspace(cs1)
    with page.expect_response("**/console/alerts/"):
        page.get_by_role("switch", name="Desktop notifications").uncheck()
    client_id, name = new_client_writes(sandbox, "Hi", name="Gita")
    sid = session_id(page, name)
    forget_alerts(page)

    sandbox.write(client_id, "Hi again")

    wait_client_push(page, sid)
    page.wait_for_function("window.__alerts.sounds.length > 0", timeout=ALERT_MS)
    assert notifications(page) == []
    with page.expect_response("**/console/alerts/"):
        page.get_by_role("switch", name="Desktop notifications").check()


def test_permission_is_asked_from_the_button_only(new_context):
    context = new_context(notifications=False)
    page = log_in(context, "cs2@helpdesk.com")
    wait_live(page)
    allow = page.get_by_role("button", name="Allow desktop notifications")
    expect(allow).to_be_visible()
    assert page.evaluate("window.__alerts.asks") == 0, "asked on page load"

    allow.click()

    page.wait_for_function("window.__alerts.asks === 1")
    # Headless chromium answers at once; whatever the answer, the question was asked.
    if page.evaluate("Notification.permission") != "default":
        expect(allow).to_be_hidden()


def test_once_granted_there_is_no_button(cs1):
    page = open_workspace(cs1)
    expect(page.get_by_role("switch", name="Desktop notifications")).to_be_checked()
    expect(page.get_by_role("button", name="Allow desktop notifications")).to_be_hidden()
    assert page.evaluate("window.__alerts.asks") == 0
