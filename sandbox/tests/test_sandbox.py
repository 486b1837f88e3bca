"""The sandbox: `manage.py serve` without a token plays Telegram in-process, privately."""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as Browser

from conversations.bot_texts import DEFAULT_TEXTS
from conversations.models import Chat, Client, CsatRating, Session
from conversations.services import agent_presence_set, chat_send, session_end
from helpdesk.tests.processes import BASE_DIR, free_port, manage
from sandbox.playground import sandbox_disable, sandbox_enable
from sandbox.services import CREATIONS_PER_SESSION, CREATIONS_PER_USER, SANDBOX_ID_FLOOR
from telegram_emulator.thread import EmulatorThread
from telegram_gateway.tests.conftest import BotThread, wait_until
from telegram_gateway.tests.test_idle import retrying

EN = DEFAULT_TEXTS["en"]

CLIENTS = "/sandbox/api/clients/"


def messages_url(client_id: int) -> str:
    return f"/sandbox/api/clients/{client_id}/messages/"


def presses_url(client_id: int) -> str:
    return f"/sandbox/api/clients/{client_id}/presses/"


def bot_call(emulator, token: str, method: str, **params) -> dict:
    """The bot acting over the Bot API's wire (as aiogram would), without a bot running."""
    body = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
    url = f"{emulator.base_url}/bot{token}/{method}"
    with urllib.request.urlopen(url, urllib.parse.urlencode(body).encode(), timeout=5) as answer:
        return json.loads(answer.read())["result"]


def keyboard(*labels: str) -> dict:
    return {
        "inline_keyboard": [[{"text": label, "callback_data": f"q:{label}"} for label in labels]]
    }


@pytest.fixture
def sandbox(emulator, settings):
    settings.SANDBOX = True
    sandbox_enable(emulator)
    yield emulator
    sandbox_disable()


@pytest.fixture
def cs2_user(make_user):
    return make_user("cs2@helpdesk.com", name="CS Two")


def signed_in(user) -> Browser:
    """A browser of its own (its own cookies: its own session), signed in as `user`."""
    browser = Browser()
    browser.force_login(user)
    return browser


def new_client(browser: Browser, first_name: str = "Ann", **fields) -> int:
    response = browser.post(CLIENTS, {"first_name": first_name, **fields})
    assert response.status_code == 201, response.content
    return response.json()["id"]


# --- on, off, and who may enter -------------------------------------------------------


@pytest.mark.django_db
def test_the_sandbox_is_off_unless_serve_started_it(client, cs_user, settings):
    settings.SANDBOX = True
    client.force_login(cs_user)
    assert client.get("/sandbox/").status_code == 404
    assert client.get(CLIENTS).status_code == 404


@pytest.mark.django_db
def test_with_sandbox_off_every_sandbox_address_is_404_even_while_an_emulator_runs(
    client, cs_user, sandbox, settings
):
    client.force_login(cs_user)
    client_id = new_client(client)
    settings.SANDBOX = False
    for response in [
        client.get("/sandbox/"),
        client.get(CLIENTS),
        client.post(CLIENTS, {"first_name": "Ann"}),
        client.get(messages_url(client_id)),
        client.post(messages_url(client_id), {"text": "hello"}),
        client.post(presses_url(client_id), {"message_id": "1", "data": "q:Yes"}),
    ]:
        assert response.status_code == 404
    assert sandbox.pending_updates() == []
    assert b"/sandbox/" not in client.get("/console/").content


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in_and_the_api_refuses_them(
    client, cs_user, sandbox, bot_token
):
    owner = signed_in(cs_user)
    client_id = new_client(owner, "Budi")
    owner.post(messages_url(client_id), {"text": "private question"})
    asked = bot_call(
        sandbox, bot_token, "sendMessage", chat_id=client_id, text="Still there?",
        reply_markup=keyboard("Yes", "No"),
    )  # fmt: skip
    queued = len(sandbox.pending_updates())

    page = client.get("/sandbox/")
    assert page.status_code == 302
    assert page["Location"] == "/login/?next=/sandbox/"
    for response in [
        client.get(CLIENTS),
        client.post(CLIENTS, {"first_name": "Mallory"}),
        client.get(messages_url(client_id)),
        client.post(messages_url(client_id), {"text": "as Budi"}),
        client.post(messages_url(client_id), {"file": SimpleUploadedFile("x.bin", b"x" * 10)}),
        client.post(presses_url(client_id), {"message_id": asked["message_id"], "data": "q:No"}),
    ]:
        assert response.status_code == 403
        assert response.json() == {"error": "Sign in to use the sandbox."}
    assert len(sandbox.pending_updates()) == queued
    assert [u["first_name"] for u in sandbox.list_users()] == ["Budi"]


# --- playing a client -----------------------------------------------------------------


@pytest.mark.django_db
def test_a_sandbox_client_writes_through_the_emulator_and_reads_the_bots_answers(
    client, cs_user, sandbox
):
    client.force_login(cs_user)
    page = client.get("/sandbox/")
    assert page.status_code == 200
    assert b"SANDBOX" in page.content

    user_id = new_client(client, "Budi", language_code="id")
    sent = client.post(messages_url(user_id), {"text": "<b>halo</b>"})
    assert sent.status_code == 201

    (update,) = sandbox.pending_updates()
    assert update["message"]["text"] == "<b>halo</b>"
    assert update["message"]["from"]["language_code"] == "id"

    conversation = client.get(messages_url(user_id)).json()["messages"]
    assert [(m["from"], m["text"]) for m in conversation] == [("client", "<b>halo</b>")]


@pytest.mark.django_db
def test_an_empty_or_too_long_sandbox_message_is_refused(client, cs_user, sandbox):
    client.force_login(cs_user)
    user_id = new_client(client)
    empty = client.post(messages_url(user_id), {"text": "  "})
    assert empty.status_code == 400
    assert empty.json() == {"error": "Write something or attach a file."}
    long = client.post(messages_url(user_id), {"text": "x" * 4097})
    assert long.status_code == 400
    assert "at most 4096 characters" in long.json()["error"]
    assert sandbox.pending_updates() == []


@pytest.mark.django_db
def test_the_banner_links_the_console_not_the_admin(client, admin_user, sandbox):
    client.force_login(admin_user)
    page = client.get("/sandbox/").content.decode()
    banner = re.search(r'<header class="banner">(.*?)</header>', page, re.S)[1]
    assert 'href="/console/"' in banner
    assert "/admin/" not in page


# --- pressing the bot's inline buttons ------------------------------------------------


def bot_messages(browser: Browser, client_id: int) -> list[dict]:
    shown = browser.get(messages_url(client_id)).json()["messages"]
    return [m for m in shown if m["from"] == "bot"]


def presses(sandbox) -> list[dict]:
    return [u["callback_query"] for u in sandbox.pending_updates() if "callback_query" in u]


@pytest.mark.django_db
def test_a_bot_message_shows_its_current_buttons_and_a_press_reaches_the_bot_as_the_client(
    client, cs_user, sandbox, bot_token
):
    client.force_login(cs_user)
    client_id = new_client(client, "Ann")
    asked = bot_call(
        sandbox, bot_token, "sendMessage", chat_id=client_id, text="How did we do?",
        reply_markup=keyboard("1", "5"),
    )  # fmt: skip
    (shown,) = bot_messages(client, client_id)
    assert (shown["id"], shown["text"]) == (asked["message_id"], "How did we do?")
    assert shown["buttons"] == [[{"text": "1", "data": "q:1"}, {"text": "5", "data": "q:5"}]]

    pressed = client.post(
        presses_url(client_id), {"message_id": asked["message_id"], "data": "q:5"}
    )

    assert pressed.status_code == 201
    (query,) = presses(sandbox)
    assert (query["data"], query["from"]["id"]) == ("q:5", client_id)
    assert query["message"]["message_id"] == asked["message_id"]

    bot_call(sandbox, bot_token, "answerCallbackQuery", callback_query_id=query["id"], text="Noted")
    bot_call(
        sandbox, bot_token, "editMessageText", chat_id=client_id,
        message_id=asked["message_id"], text="Thank you for the 5!",
    )  # fmt: skip
    shown = client.get(messages_url(client_id)).json()["messages"]
    assert [(m["from"], m["text"]) for m in shown] == [
        ("bot", "Thank you for the 5!"),  # edited in place: no second message
        ("toast", "Noted"),
    ]
    assert shown[0]["buttons"] == []
    stale = client.post(presses_url(client_id), {"message_id": asked["message_id"], "data": "q:1"})
    assert stale.status_code == 400
    assert stale.json() == {"error": "That message has no such button (any more)."}
    assert len(presses(sandbox)) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "press",
    [
        {"data": "q:4"},  # not one of the message's buttons
        {"data": "csat:forged:payload:5"},
        {"data": ""},
        {"message_id": "written"},  # the client's own message: no buttons
        {"message_id": "999"},
        {"message_id": "x"},
        {"message_id": "²"},
        {"message_id": ""},
    ],
)
def test_a_press_of_no_current_button_is_refused_and_the_bot_hears_nothing(
    client, cs_user, sandbox, bot_token, press
):
    client.force_login(cs_user)
    client_id = new_client(client)
    client.post(messages_url(client_id), {"text": "hello"})
    written = sandbox.pending_updates()[0]["message"]["message_id"]
    asked = bot_call(
        sandbox, bot_token, "sendMessage", chat_id=client_id, text="Rate us",
        reply_markup=keyboard("1", "5"),
    )  # fmt: skip
    fields = {"message_id": str(asked["message_id"]), "data": "q:5", **press}
    if fields["message_id"] == "written":
        fields["message_id"] = str(written)

    response = client.post(presses_url(client_id), fields)

    assert response.status_code == 400
    assert "error" in response.json()
    assert presses(sandbox) == []


@pytest.mark.django_db
def test_a_button_of_another_clients_message_is_refused(client, cs_user, sandbox, bot_token):
    client.force_login(cs_user)
    ann, budi = new_client(client, "Ann"), new_client(client, "Budi")
    asked = bot_call(
        sandbox, bot_token, "sendMessage", chat_id=ann, text="Rate us", reply_markup=keyboard("5")
    )
    press = {"message_id": asked["message_id"], "data": "q:5"}
    assert client.post(presses_url(budi), press).status_code == 400
    assert presses(sandbox) == []


@pytest.mark.django_db
def test_a_press_without_the_csrf_token_is_refused(cs_user, sandbox, bot_token):
    browser = Browser(enforce_csrf_checks=True)
    browser.force_login(cs_user)
    client_id = new_client_csrf(browser)
    asked = bot_call(
        sandbox, bot_token, "sendMessage", chat_id=client_id, text="Still there?",
        reply_markup=keyboard("Yes"),
    )  # fmt: skip
    press = {"message_id": asked["message_id"], "data": "q:Yes"}

    refused = browser.post(presses_url(client_id), press)

    assert refused.status_code == 403
    assert presses(sandbox) == []
    token = browser.cookies["csrftoken"].value
    accepted = browser.post(presses_url(client_id), press, headers={"X-CSRFToken": token})
    assert accepted.status_code == 201


def new_client_csrf(browser: Browser) -> int:
    """Create a client as the page does: with the CSRF token of the page's form."""
    page = browser.get("/sandbox/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    response = browser.post(CLIENTS, {"first_name": "Cara"}, headers={"X-CSRFToken": token})
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.fixture
def playing_bot(emulator, bot_token, settings, transactional_db):
    """The sandbox with the real bot (poller and delivery worker) answering on it."""
    settings.SANDBOX = True
    settings.TELEGRAM_CHAT_SEND_INTERVAL = 0.05
    sandbox_enable(emulator)
    bot = BotThread(emulator.base_url, bot_token).start()
    yield emulator
    bot.stop()
    sandbox_disable()


def served_in_sandbox(browser: Browser, agent) -> tuple[int, Session]:
    """A sandbox client writes, the agent on duty answers."""
    retrying(lambda: agent_presence_set(agent=agent, online=True))
    client_id = new_client(browser, "Ann")
    browser.post(messages_url(client_id), {"text": "I need help"})
    session = wait_until(
        lambda: Session.objects.filter(client__telegram_id=str(client_id), status="ACTIVE").first()
    )
    retrying(lambda: chat_send(session=session, agent=agent, text="Here is your answer."))
    wait_until(
        lambda: "Here is your answer." in [m["text"] for m in bot_messages(browser, client_id)]
    )
    return client_id, session


def keyboard_of(browser: Browser, client_id: int, first_label: str) -> dict:
    """The bot message whose first button is `first_label`, once it is there."""
    return wait_until(
        lambda: next(
            (
                m
                for m in bot_messages(browser, client_id)
                if m["buttons"] and m["buttons"][0][0]["text"] == first_label
            ),
            None,
        ),
        timeout=15,
    )


@pytest.mark.django_db(transaction=True)
def test_a_rating_pressed_in_the_sandbox_is_stored_and_the_survey_becomes_a_thank_you(
    cs_user, playing_bot
):
    browser = signed_in(cs_user)
    client_id, session = served_in_sandbox(browser, cs_user)
    retrying(lambda: session_end(session=session))
    survey = keyboard_of(browser, client_id, "1 ⭐")
    labels = [button["text"] for button in survey["buttons"][0]]
    assert (survey["text"], labels) == (
        EN["csat_question"],
        ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"],
    )

    five = survey["buttons"][0][4]["data"]
    pressed = browser.post(presses_url(client_id), {"message_id": survey["id"], "data": five})

    assert pressed.status_code == 201
    rating = wait_until(lambda: CsatRating.objects.filter(session=session).first())
    assert (rating.rating, rating.agent_id) == (5, cs_user.pk)
    thanks = EN["csat_thanks"].format(rating=5, minutes=10)
    edited = wait_until(
        lambda: [m for m in bot_messages(browser, client_id) if m["text"] == thanks]
    )
    assert [(m["id"], m["buttons"]) for m in edited] == [(survey["id"], [])]
    again = browser.post(presses_url(client_id), {"message_id": survey["id"], "data": five})
    assert again.status_code == 400


@pytest.fixture
def idle_soon(settings):
    """Asked before `playing_bot`: the worker reads the interval as it starts to wait, and
    set later it would first sleep out the default minute."""
    settings.IDLE_WARN_AFTER = 1
    settings.IDLE_CLOSE_AFTER = 3600
    settings.IDLE_CHECK_INTERVAL = 0.2


@pytest.mark.django_db(transaction=True)
def test_no_pressed_on_the_idle_question_in_the_sandbox_ends_the_session(
    cs_user, idle_soon, playing_bot
):
    browser = signed_in(cs_user)
    client_id, session = served_in_sandbox(browser, cs_user)
    warning = keyboard_of(browser, client_id, "Yes")
    assert warning["text"] == EN["idle_warning"]
    (no,) = [b["data"] for b in warning["buttons"][0] if b["text"] == "No"]

    pressed = browser.post(presses_url(client_id), {"message_id": warning["id"], "data": no})

    assert pressed.status_code == 201
    wait_until(lambda: Session.objects.get(pk=session.pk).status == "ENDED")
    wait_until(lambda: EN["ended"] in [m["text"] for m in bot_messages(browser, client_id)])
    assert Chat.objects.filter(session=session, sender_type="CLIENT", message="No").exists()


# --- each browser session plays only its own clients ---------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("other", ["cs2_user", "admin_user", "cs_user"])
def test_another_browser_neither_lists_reads_nor_plays_a_sessions_clients(
    request, cs_user, sandbox, other, bot_token
):
    """Another agent, an admin, even the same agent in another browser: all get 404."""
    owner = signed_in(cs_user)
    client_id = new_client(owner, "Dewi")
    owner.post(messages_url(client_id), {"text": "my private order number"})
    stranger = signed_in(request.getfixturevalue(other))
    theirs = new_client(stranger, "Eko")
    asked = bot_call(
        sandbox, bot_token, "sendMessage", chat_id=client_id, text="Rate us",
        reply_markup=keyboard("5"),
    )  # fmt: skip
    press = {"message_id": asked["message_id"], "data": "q:5"}
    assert stranger.post(presses_url(client_id), press).status_code == 404

    assert [c["id"] for c in stranger.get(CLIENTS).json()["clients"]] == [theirs]
    assert [c["id"] for c in owner.get(CLIENTS).json()["clients"]] == [client_id]
    assert stranger.get(messages_url(client_id)).status_code == 404
    assert stranger.post(messages_url(client_id), {"text": "as Dewi"}).status_code == 404
    upload = SimpleUploadedFile("x.pdf", b"%PDF-1.7", content_type="application/pdf")
    assert stranger.post(messages_url(client_id), {"file": upload}).status_code == 404
    assert owner.get(messages_url(theirs)).status_code == 404

    texts = [u["message"].get("text") for u in sandbox.pending_updates()]
    assert texts == ["my private order number"]  # and no callback_query
    mine = owner.get(messages_url(client_id)).json()["messages"]
    assert [m["text"] for m in mine] == ["my private order number", "Rate us"]


# --- ids that never repeat ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_restarted_sandbox_never_hands_a_new_client_an_earlier_runs_history(
    cs_user, settings, bot_token
):
    """Each run: a new emulator and bot, as `serve` gives after a restart."""
    settings.SANDBOX = True
    browser = signed_in(cs_user)
    ids = []
    for run in ("first run", "second run"):
        with EmulatorThread([bot_token]) as emulator:
            sandbox_enable(emulator)
            bot = BotThread(emulator.base_url, bot_token).start()
            try:
                client_id = new_client(browser, "Ann")
                assert not Client.objects.filter(telegram_id=str(client_id)).exists()
                assert [c["id"] for c in browser.get(CLIENTS).json()["clients"]] == [client_id]
                browser.post(messages_url(client_id), {"text": f"hello from the {run}"})
                stored = Chat.objects.filter(session__client__telegram_id=str(client_id))
                wait_until(lambda: stored.filter(is_notice=False).exists())  # noqa: B023
            finally:
                bot.stop()
                sandbox_disable()
        ids.append(client_id)

    first, second = ids
    assert second > first
    assert list(
        Chat.objects.filter(session__client__telegram_id=str(second), is_notice=False)
        .values_list("message", flat=True)
    ) == ["hello from the second run"]  # fmt: skip
    # The emulator counts message ids per chat from 1 again; a new chat keeps them apart.
    assert Client.objects.get(telegram_id=str(second)).sessions.count() == 1


@pytest.mark.django_db
def test_client_ids_stay_above_every_stored_one_even_with_the_clock_set_back(
    client, cs_user, sandbox
):
    ahead = SANDBOX_ID_FLOOR * 4  # an earlier run whose clock was far ahead
    Client.objects.create(telegram_id=str(ahead), name="From an earlier run")
    Client.objects.create(telegram_id="99999999999", name="A real Telegram user")
    client.force_login(cs_user)

    ids = [new_client(client, name) for name in ("Ann", "Budi")]

    assert ids == [ahead + 1, ahead + 2]
    assert not Client.objects.filter(telegram_id__in=[str(i) for i in ids]).exists()
    assert all(i < 2**52 for i in ids)  # a Telegram user id has at most 52 bits


@pytest.mark.django_db
def test_fresh_client_ids_are_far_above_real_telegram_ids_and_never_repeat(
    client, cs_user, sandbox
):
    client.force_login(cs_user)
    ids = [new_client(client, name) for name in ("Ann", "Budi", "Citra")]
    assert len(set(ids)) == 3
    assert all(SANDBOX_ID_FLOOR < i < 2**52 for i in ids)


# --- uploads --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_file_within_the_cap_reaches_the_bot_from_disk(client, cs_user, sandbox, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    client.force_login(cs_user)
    client_id = new_client(client)
    content = b"%PDF-1.7 " + b"x" * 991
    upload = SimpleUploadedFile("bill.pdf", content, content_type="application/pdf")

    response = client.post(messages_url(client_id), {"text": "my bill", "file": upload})

    assert response.status_code == 201
    (update,) = sandbox.pending_updates()
    document = update["message"]["document"]
    assert (document["file_name"], update["message"]["caption"]) == ("bill.pdf", "my bill")
    assert sandbox.file_bytes(document["file_id"]) == content
    assert sandbox.files.get(document["file_id"]).path is not None  # spooled, not in memory
    (written,) = client.get(messages_url(client_id)).json()["messages"]
    assert (written["text"], written["file"]) == ("my bill", "bill.pdf")


@pytest.mark.django_db
@pytest.mark.parametrize("size", [1001, 200_000])  # just over; and announced too large
def test_a_file_over_the_cap_gets_a_clear_413_and_nothing_is_sent(
    client, cs_user, sandbox, settings, size
):
    settings.UPLOAD_MAX_BYTES = 1000
    client.force_login(cs_user)
    client_id = new_client(client)
    upload = SimpleUploadedFile("big.pdf", b"x" * size, content_type="application/pdf")

    response = client.post(messages_url(client_id), {"text": "see attached", "file": upload})

    assert response.status_code == 413
    assert response.json() == {"error": "The file is too large: the limit is 1000\xa0bytes."}
    assert sandbox.pending_updates() == []
    assert client.get(messages_url(client_id)).json()["messages"] == []


@pytest.mark.django_db
def test_an_image_is_sent_as_a_photo(client, cs_user, sandbox):
    client.force_login(cs_user)
    client_id = new_client(client)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (640).to_bytes(4) + (480).to_bytes(4)
    upload = SimpleUploadedFile("screen.png", png + b"x" * 100, content_type="image/png")

    assert client.post(messages_url(client_id), {"file": upload}).status_code == 201

    (update,) = sandbox.pending_updates()
    assert (update["message"]["photo"][-1]["width"], update["message"]["photo"][-1]["height"]) == (
        640,
        480,
    )


# --- creating clients is rate-limited -------------------------------------------------


@pytest.mark.django_db
def test_client_creation_is_limited_per_browser_session_with_retry_after(
    client, cs_user, cs2_user, sandbox
):
    client.force_login(cs_user)
    for number in range(CREATIONS_PER_SESSION):
        new_client(client, f"Client {number}")

    refused = client.post(CLIENTS, {"first_name": "One too many"})

    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json() == {
        "error": f"Too many new clients: try again in {refused['Retry-After']} seconds."
    }
    assert len(client.get(CLIENTS).json()["clients"]) == CREATIONS_PER_SESSION
    assert len(sandbox.list_users()) == CREATIONS_PER_SESSION
    new_client(signed_in(cs2_user), "Someone else's")  # other people are not held up


@pytest.mark.django_db
def test_client_creation_is_limited_per_user_across_browsers(client, cs_user, sandbox):
    browsers = [signed_in(cs_user) for _ in range(CREATIONS_PER_USER // CREATIONS_PER_SESSION)]
    for browser in browsers:
        for number in range(CREATIONS_PER_SESSION):
            new_client(browser, f"Client {number}")

    refused = signed_in(cs_user).post(CLIENTS, {"first_name": "One too many"})

    assert refused.status_code == 429
    assert refused.has_header("Retry-After")


# --- the pages that link it -----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("page", "user"), [("/admin/", "admin_user"), ("/console/", "cs_user")])
def test_pages_link_the_sandbox_only_while_it_runs(client, emulator, request, page, user, settings):
    settings.SANDBOX = True
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


# --- serve ----------------------------------------------------------------------------


def _serve_env(tmp_path, **extra: str) -> dict:
    env = {
        **os.environ,
        "ENV_FILE": "/dev/null",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    for name in ("TELEGRAM_BOT_TOKEN", "SANDBOX"):
        if name not in extra:
            env.pop(name, None)
    return env


def _serve(env: dict, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "serve", f"127.0.0.1:{port}"],
        cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def test_serve_runs_web_bot_and_sandbox_in_one_process(tmp_path):
    """What `./dev run` gives a new user: a client's message reaches the desk and back;
    after a restart a new visitor's client starts afresh, not in the earlier client's chat."""
    env = _serve_env(tmp_path)
    manage("setup_db", env=env)
    manage("presence", "cs1@helpdesk.com", "--online", env=env)
    with _served(env) as base:
        player = SandboxPlayer(base)
        ann = player.post(CLIENTS, {"first_name": "Ann"})["id"]
        player.post(messages_url(ann), {"text": "my order is late"})
        assert wait_until(lambda: player.bot_said(ann), timeout=20) == [NOTICE]
        reply = (
            "from conversations.models import Session;"
            "from conversations.services import chat_send;"
            "s = Session.objects.get(client__name='Ann');"
            "chat_send(session=s, agent=s.cs, text='We are on it, Ann!')"
        )
        manage("shell", "-c", reply, env=env)
        wait_until(lambda: "We are on it, Ann!" in player.bot_said(ann), timeout=20)

    with _served(env) as base:  # a restart: a new process, the same database
        player = SandboxPlayer(base)
        budi = player.post(CLIENTS, {"first_name": "Budi"})["id"]
        player.post(messages_url(budi), {"text": "is my refund done?"})
        assert wait_until(lambda: player.bot_said(budi), timeout=20) == [NOTICE]
    history = (
        "from conversations.models import Chat;"
        f"print(list(Chat.objects.filter(session__client__telegram_id='{budi}', "
        "is_notice=False).values_list('message', flat=True)))"
    )
    assert budi != ann
    shown = manage("shell", "--no-imports", "-c", history, env=env).stdout.strip()
    assert shown == "['is my refund done?']"


NOTICE = "Thank you! An agent is looking at your message now."


class SandboxPlayer:
    """A person in a browser: signs in as cs1, then plays clients through /sandbox/'s API."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        login = _get(self.browser, base + "/login/")
        form = {"username": "cs1@helpdesk.com", "password": "cs123"}
        form["csrfmiddlewaretoken"] = _csrf(login)
        self.browser.open(base + "/login/", urllib.parse.urlencode(form).encode(), timeout=10)
        self.csrf = _csrf(_get(self.browser, base + "/sandbox/"))

    def post(self, path: str, fields: dict) -> dict:
        data = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(self.base + path, data, headers={"X-CSRFToken": self.csrf})
        return json.loads(self.browser.open(request, timeout=10).read())

    def bot_said(self, client_id: int) -> list[str]:
        messages = json.loads(_get(self.browser, self.base + messages_url(client_id)))
        return [m["text"] for m in messages["messages"] if m["from"] == "bot"]


@contextlib.contextmanager
def _served(env: dict):
    """Run `serve` until the sandbox answers; stop it and check its log afterwards."""
    port = free_port()
    server = _serve(env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _status(base + "/sandbox/") in (200, 302), timeout=30)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert "SANDBOX" in output
    assert "Traceback" not in output, output


def test_serve_without_token_and_with_sandbox_off_serves_the_web_app_without_a_bot(tmp_path):
    env = _serve_env(tmp_path, SANDBOX="false")
    manage("migrate", env=env)
    port = free_port()
    server = _serve(env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: _status(base + "/login/") == 200, timeout=30)
        assert _status(base + "/sandbox/") == 404
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert "TELEGRAM_BOT_TOKEN is empty and SANDBOX is off" in output
    assert "Traceback" not in output


def _csrf(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def _get(opener, url: str) -> str | None:
    try:
        return opener.open(url, timeout=5).read().decode()
    except OSError:
        return None


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None
