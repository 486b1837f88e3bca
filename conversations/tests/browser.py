"""What the real-browser tests share (not a test module: they import from it).

Playwright drives Debian's chromium (its own browser download does not work here)
against `manage.py serve` on a fresh database of the pass's kind: SQLite, or a MariaDB
database of the module's own in the MariaDB pass. Browser contexts fail the module on
any JavaScript error. Telegram clients are played through the sandbox's API, as a
person on /sandbox/ would.

Needs /usr/bin/chromium: skipped without it, a failure with REQUIRE_BROWSER=1 (CI).
"""

import os
import re
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import (
    APIRequestContext,
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from helpdesk.tests.processes import manage, mariadb_url, serve_running

CHROMIUM = Path("/usr/bin/chromium")
CS_PASSWORD = "cs123"  # conversations/seed.py
ADMIN_PASSWORD = "admin123"
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but there is no {CHROMIUM} (apt-get install chromium)")
        pytest.skip(f"no {CHROMIUM}: apt-get install chromium (REQUIRE_BROWSER=1 makes this fail)")
    return CHROMIUM


@pytest.fixture(scope="module")
def playwright(chromium) -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright: Playwright, chromium: Path) -> Iterator[Browser]:
    # Root in a container: chromium's own sandbox needs user namespaces it may not get.
    browser = playwright.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
    expect.set_options(timeout=TIMEOUT_MS)
    yield browser
    browser.close()


def served(
    tmp_path_factory, name: str, *, ready_path: str = "/sandbox/", **settings: str
) -> Iterator[str]:
    """Run `manage.py serve` as `./dev run` starts it (no token: a sandbox) with these
    environment `settings`; yield its address; fail on a traceback in its log."""
    tmp = tmp_path_factory.mktemp(name)
    env = {
        **os.environ,
        "ENV_FILE": "/dev/null",
        "DEBUG": "true",
        "DATABASE_URL": database_url(tmp, name),
        "MEDIA_ROOT": str(tmp / "media"),
        "LANGUAGE_CODE": "en",
        "PYTHONUNBUFFERED": "1",
    }
    for variable in ("TELEGRAM_BOT_TOKEN", "REDIS_URL", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS"):
        env.pop(variable, None)
    env.update(settings)
    manage("setup_db", env=env)
    log_path = tmp / "serve.log"
    # The page answers (the sandbox with the sign-in page) once the bot runs.
    with serve_running(env, log_path, lambda base: status(base + ready_path) == 200) as base:
        yield base
    output = log_path.read_text()
    assert "Traceback" not in output, output


def database_url(tmp: Path, name: str) -> str:
    """The pass's own kind of database: a fresh MariaDB one in the MariaDB pass."""
    if connection.vendor != "mysql":
        return f"sqlite:///{tmp / f'{name}.sqlite3'}"
    import MySQLdb

    config = connection.settings_dict
    database = f"{config['NAME']}_{name}"
    server = MySQLdb.connect(
        host=config["HOST"] or "127.0.0.1",
        port=int(config["PORT"] or 3306),
        user=config["USER"],
        password=config["PASSWORD"],
    )
    with server.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")  # setup_db creates it in utf8mb4
    server.close()
    return mariadb_url(database=database)


def status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except OSError:
        return None


def contexts(
    browser: Browser, server: str, prepare: Callable[[BrowserContext], None] | None = None
) -> Iterator[Callable[..., BrowserContext]]:
    """A factory of browser contexts (separate cookie jars: separate people) for a
    `new_context` fixture; none may raise a JavaScript error."""
    made: list[BrowserContext] = []
    errors: list[str] = []

    def new(**options) -> BrowserContext:
        options.setdefault("locale", "en-US")
        context = browser.new_context(base_url=server, **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("weberror", lambda error: errors.append(str(error.error)))
        if prepare:
            prepare(context)
        made.append(context)
        return context

    yield new
    for context in made:
        context.close()
    assert errors == [], "JavaScript errors in the workspace"


class Sandbox:
    """Telegram clients played through /sandbox/'s API by a person signed in as cs3 (its
    own cookies, so its own browser session and clients, and its CSRF token)."""

    def __init__(self, request: APIRequestContext) -> None:
        self.request = request
        login = request.get("/login/")
        signed_in = request.post(
            "/login/",
            form={
                "username": "cs3@helpdesk.com",
                "password": CS_PASSWORD,
                "csrfmiddlewaretoken": _csrf(login.text()),
            },
        )
        assert signed_in.ok and signed_in.url.endswith("/console/"), signed_in.url
        page = request.get("/sandbox/")
        assert page.ok, page.status
        self.csrf = _csrf(page.text())

    def _post(self, path: str, form: dict) -> dict:
        response = self.request.post(path, form=form, headers={"X-CSRFToken": self.csrf})
        assert response.status == 201, (response.status, response.text())
        return response.json()

    def new_client(self, first_name: str, **fields: str) -> int:
        return self._post("/sandbox/api/clients/", {"first_name": first_name, **fields})["id"]

    def write(self, client_id: int, text: str) -> None:
        self._post(f"/sandbox/api/clients/{client_id}/messages/", {"text": text})

    def bot_messages(self, client_id: int) -> list[dict]:
        response = self.request.get(f"/sandbox/api/clients/{client_id}/messages/")
        assert response.ok, response.status
        return [m for m in response.json()["messages"] if m["from"] == "bot"]

    def bot_said(self, client_id: int) -> list[str]:
        return [m["text"] for m in self.bot_messages(client_id)]


def _csrf(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]


@pytest.fixture
def sandbox(playwright: Playwright, server: str) -> Iterator[Sandbox]:
    """A fresh browser session per test: the sandbox allows 10 new clients a minute each."""
    request = playwright.request.new_context(base_url=server)
    yield Sandbox(request)
    request.dispose()


def log_in(context: BrowserContext, email: str, password: str = CS_PASSWORD) -> Page:
    """Sign in through the form, as a person does (any language: fields by name)."""
    page = context.new_page()
    page.goto("/login/")
    page.locator("input[name=username]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator(".login button").click()
    expect(page).to_have_url(re.compile(r"/console/$"))
    return page


def go_on_duty(page: Page) -> None:
    """The agent goes online from the top bar (new clients come to it)."""
    if page.locator("form.presence").get_attribute("data-online") == "0":
        page.get_by_role("button", name="Go online").click()
    expect(page.locator("form.presence")).to_have_attribute("data-online", "1")


def wait_live(page: Page) -> None:
    """The websocket is up (pushes from now on reach the page) and the page is marked:
    a reload would lose the mark."""
    expect(page.locator("#live-status")).to_have_text(
        page.locator("#live-status").get_attribute("data-live")
    )
    page.evaluate("window.__noReload = true")


def not_reloaded(page: Page) -> bool:
    return page.evaluate("window.__noReload === true")


def row(page: Page, client_name: str):
    return page.locator("#session-list > li.session-row", has_text=client_name)
