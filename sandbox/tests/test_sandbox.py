"""The sandbox: `manage.py serve` without a token plays Telegram in-process."""

import json
import os
import re
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

from helpdesk.tests.processes import BASE_DIR, free_port, manage
from sandbox.playground import sandbox_disable, sandbox_enable
from telegram_gateway.tests.conftest import wait_until


@pytest.fixture
def sandbox(emulator):
    sandbox_enable(emulator)
    yield emulator
    sandbox_disable()


def test_the_sandbox_is_off_unless_serve_started_it(client):
    assert client.get("/sandbox/").status_code == 404
    assert client.get("/sandbox/api/clients/").status_code == 404


@pytest.mark.django_db
def test_a_sandbox_client_writes_through_the_emulator_and_reads_the_bots_answers(
    client, sandbox, bot_token
):
    page = client.get("/sandbox/")
    assert page.status_code == 200
    assert b"SANDBOX" in page.content

    created = client.post("/sandbox/api/clients/", {"first_name": "Budi", "language_code": "id"})
    assert created.status_code == 201
    user_id = created.json()["id"]
    sent = client.post(f"/sandbox/api/clients/{user_id}/messages/", {"text": "<b>halo</b>"})
    assert sent.status_code == 201

    (update,) = sandbox.pending_updates()
    assert update["message"]["text"] == "<b>halo</b>"
    assert update["message"]["from"]["language_code"] == "id"

    conversation = client.get(f"/sandbox/api/clients/{user_id}/messages/").json()["messages"]
    assert [(m["from"], m["text"]) for m in conversation] == [("client", "<b>halo</b>")]


@pytest.mark.django_db
def test_an_empty_sandbox_message_is_refused(client, sandbox):
    user_id = client.post("/sandbox/api/clients/", {"first_name": "Ann"}).json()["id"]
    response = client.post(f"/sandbox/api/clients/{user_id}/messages/", {"text": "  "})
    assert response.status_code == 400
    assert sandbox.pending_updates() == []


def test_serve_runs_web_bot_and_sandbox_in_one_process(tmp_path):
    """What `./dev run` gives a new user: a client's message reaches the desk and back."""
    env = {
        **os.environ,
        "ENV_FILE": "/dev/null",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    manage("setup_db", env=env)
    manage("presence", "cs1@helpdesk.com", "--online", env=env)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", f"127.0.0.1:{port}"],
        cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    try:
        page = wait_until(lambda: _get(browser, base + "/sandbox/"), timeout=30)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

        def post(path: str, fields: dict) -> dict:
            data = urllib.parse.urlencode(fields).encode()
            request = urllib.request.Request(base + path, data, headers={"X-CSRFToken": csrf})
            return json.loads(browser.open(request).read())

        user_id = post("/sandbox/api/clients/", {"first_name": "Ann"})["id"]
        post(f"/sandbox/api/clients/{user_id}/messages/", {"text": "my order is late"})

        def bot_said():
            messages = json.loads(_get(browser, f"{base}/sandbox/api/clients/{user_id}/messages/"))
            return [m["text"] for m in messages["messages"] if m["from"] == "bot"]

        assert wait_until(bot_said, timeout=20) == [
            "Thank you! An agent is looking at your message now."
        ]
        reply = (
            "from conversations.models import Session;"
            "from conversations.services import chat_send;"
            "s = Session.objects.get(client__name='Ann');"
            "chat_send(session=s, agent=s.cs, text='We are on it, Ann!')"
        )
        manage("shell", "-c", reply, env=env)
        wait_until(lambda: "We are on it, Ann!" in bot_said(), timeout=20)
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert "SANDBOX" in output
    assert "Traceback" not in output


def _get(opener, url: str) -> str | None:
    try:
        return opener.open(url, timeout=5).read().decode()
    except OSError:
        return None


@pytest.mark.django_db
@pytest.mark.parametrize(("page", "user"), [("/admin/", "admin_user"), ("/console/", "cs_user")])
def test_pages_link_the_sandbox_only_while_it_runs(client, emulator, request, page, user):
    client.force_login(request.getfixturevalue(user))
    assert b"/sandbox/" not in client.get(page).content
    sandbox_enable(emulator)
    try:
        assert b"Play Telegram clients" in client.get(page).content
    finally:
        sandbox_disable()


@pytest.mark.django_db
def test_no_page_shows_the_bot_token(client, admin_user, sandbox, bot_token, settings):
    settings.TELEGRAM_BOT_TOKEN = bot_token
    settings.TELEGRAM_API_BASE = sandbox.base_url
    client.force_login(admin_user)
    for url in ["/admin/", "/admin/conversations/chat/", "/admin/accounts/user/", "/sandbox/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert bot_token.encode() not in response.content, url
        assert bot_token.split(":")[1].encode() not in response.content, url
