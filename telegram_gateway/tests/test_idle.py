"""Idle sessions on the wire: the real bot (poller and delivery worker, whose periodic
check warns and closes) against the Bot API emulator over HTTP."""

import logging
import time

import pytest
from django.db import OperationalError

from accounts.models import User
from conversations import services
from conversations.bot_texts import DEFAULT_TEXTS
from conversations.models import Chat, Session
from conversations.services import agent_presence_set, chat_send
from telegram_gateway.tests.conftest import wait_until

EN, ID = DEFAULT_TEXTS["en"], DEFAULT_TEXTS["id"]


def retrying(call, attempts: int = 50):
    """Call a service beside the running bot (SQLite's shared test database may be locked)."""
    for _ in range(attempts - 1):
        try:
            return call()
        except OperationalError:
            time.sleep(0.05)
    return call()


@pytest.fixture(autouse=True)
def quick(settings):
    settings.IDLE_WARN_AFTER = 1
    settings.IDLE_CLOSE_AFTER = 3600
    settings.IDLE_CHECK_INTERVAL = 0.2
    settings.TELEGRAM_CHAT_SEND_INTERVAL = 0.05
    return settings


@pytest.fixture
def agent(make_user, transactional_db) -> User:
    agent = make_user("idle-agent@helpdesk.com", name="Idle Agent")
    retrying(lambda: agent_presence_set(agent=agent, online=True))
    return agent


def open_and_answer(emulator, agent: User, user: int, *, language: str = "en") -> Session:
    """A client writes, the agent answers: from then on the client is silent."""
    emulator.add_user(user, f"Client {user}", language_code=language)
    emulator.inject_message(user, "I need help")
    session = wait_until(
        lambda: Session.objects.filter(client__telegram_id=str(user), status="ACTIVE").first()
    )
    retrying(lambda: chat_send(session=session, agent=agent, text="Here is your answer."))
    return session


def warning_sent(emulator, user: int, *, count: int = 1):
    """The bot's messages to `user` that carry inline buttons (the warnings), once `count` are."""
    return wait_until(
        lambda: (
            sent
            if len(
                sent := [
                    r
                    for r in emulator.sent(chat_id=user, method="sendMessage")
                    if (r.message or {}).get("reply_markup")
                ]
            )
            >= count
            else None
        ),
        timeout=15,
    )


def buttons(record) -> list[tuple[str, str]]:
    (row,) = record.message["reply_markup"]["inline_keyboard"]
    return [(button["text"], button["callback_data"]) for button in row]


def press(emulator, user: int, record, answer: str, *, by: int | None = None) -> dict:
    data = {payload.rsplit(":", 1)[1]: payload for _, payload in buttons(record)}[answer]
    return emulator.inject_callback_query(by or user, record.message_id, data, chat_id=user)


def answers(emulator, user: int) -> list:
    return emulator.sent(chat_id=user, method="answerCallbackQuery")


def texts_to(emulator, user: int) -> list[str]:
    return [r.text for r in emulator.sent(chat_id=user, method="sendMessage")]


def status(session: Session) -> str:
    return Session.objects.get(pk=session.pk).status


def test_a_silent_client_is_asked_with_buttons_in_its_language_and_no_ends(
    emulator, running_bot, agent
):
    ann, budi = 6101, 6102
    english = open_and_answer(emulator, agent, ann)
    indonesian = open_and_answer(emulator, agent, budi, language="id")

    (asked_ann,) = warning_sent(emulator, ann)
    (asked_budi,) = warning_sent(emulator, budi)
    assert asked_ann.text == EN["idle_warning"]
    assert [text for text, _ in buttons(asked_ann)] == ["Yes", "No"]
    assert asked_budi.text == ID["idle_warning"]
    assert [text for text, _ in buttons(asked_budi)] == ["Ya", "Tidak"]

    press(emulator, budi, asked_budi, "no")
    wait_until(lambda: status(indonesian) == "ENDED")
    wait_until(lambda: ID["ended"] in texts_to(emulator, budi))
    (answered,) = wait_until(lambda: answers(emulator, budi))
    assert answered.text is None  # accepted: no "expired" toast
    assert Chat.objects.filter(session=indonesian, sender_type="CLIENT", message="Tidak").exists()
    assert status(english) == "ACTIVE"  # Ann has not answered (and the close is hours away)


def test_yes_keeps_the_session_and_the_agent_sees_it(emulator, running_bot, agent):
    ann = 6111
    session = open_and_answer(emulator, agent, ann)
    (asked,) = warning_sent(emulator, ann)

    press(emulator, ann, asked, "yes")
    wait_until(lambda: answers(emulator, ann))
    answer = wait_until(
        lambda: Chat.objects.filter(session=session, sender_type="CLIENT", message="Yes").first()
    )
    assert answer.reply_to_message_id == asked.message_id
    assert answer.reply_quote == EN["idle_warning"]
    session = Session.objects.get(pk=session.pk)
    assert session.status == "ACTIVE"
    assert (session.idle_warned_at, session.idle_warning_nonce) == (None, "")
    time.sleep(1.5)  # several checks: waiting for the agent now, so never asked again
    assert len(warning_sent(emulator, ann)) == 1
    assert EN["ended"] not in texts_to(emulator, ann)


def test_no_answer_ends_the_session_after_the_close_delay(emulator, running_bot, agent, quick):
    quick.IDLE_CLOSE_AFTER = 1
    ann = 6121
    session = open_and_answer(emulator, agent, ann)
    warning_sent(emulator, ann)

    wait_until(lambda: status(session) == "ENDED", timeout=15)
    wait_until(lambda: EN["ended"] in texts_to(emulator, ann))
    time.sleep(1)
    heard = texts_to(emulator, ann)
    assert heard.count(EN["idle_warning"]) == 1
    assert heard.count(EN["ended"]) == 1


def test_forged_and_outdated_presses_are_answered_and_change_nothing(
    emulator, running_bot, agent, caplog
):
    caplog.set_level(logging.WARNING)
    ann, eve, cara = 6131, 6132, 6133
    session = open_and_answer(emulator, agent, ann)
    emulator.add_user(eve, "Eve")
    (asked,) = warning_sent(emulator, ann)
    session_id, nonce = buttons(asked)[0][1].split(":")[1:3]

    press(emulator, ann, asked, "no", by=eve)  # another user's press
    for data in (
        f"idle:{session_id}:wrongnonce123456:no",
        "idle:garbage",
        "x" * 64,
        f"idle:{session_id}:{nonce}:maybe",
    ):
        emulator.inject_callback_query(ann, asked.message_id, data)
    expired = wait_until(lambda: len(answers(emulator, ann)) == 5 and answers(emulator, ann))
    assert {record.text for record in expired} == {EN["idle_expired"]}
    assert status(session) == "ACTIVE"

    # The client writes, the agent answers, a second silence: a second question.
    emulator.inject_message(ann, "still here")
    wait_until(lambda: Session.objects.get(pk=session.pk).idle_warned_at is None)
    retrying(lambda: chat_send(session=session, agent=agent, text="And now?"))
    _, asked_again = warning_sent(emulator, ann, count=2)
    assert buttons(asked_again) != buttons(asked)

    press(emulator, ann, asked, "no")  # the first question's button
    wait_until(lambda: len(answers(emulator, ann)) == 6)
    assert answers(emulator, ann)[-1].text == EN["idle_expired"]
    assert status(session) == "ACTIVE"

    # The current one works; pressed again (or redelivered), it has expired.
    update = press(emulator, ann, asked_again, "no")
    wait_until(lambda: status(session) == "ENDED")
    emulator.inject_update({"callback_query": update["callback_query"]})
    press(emulator, ann, asked_again, "no")
    wait_until(lambda: len(answers(emulator, ann)) == 8)
    assert answers(emulator, ann)[-1].text == EN["idle_expired"]
    wait_until(lambda: EN["ended"] in texts_to(emulator, ann))
    time.sleep(1)
    assert texts_to(emulator, ann).count(EN["ended"]) == 1

    # The poller is alive: a new client is still served.
    emulator.add_user(cara, "Cara")
    emulator.inject_message(cara, "hello")
    wait_until(lambda: Chat.objects.filter(session__client__telegram_id=str(cara)).exists())
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_two_workers_ask_each_client_once(emulator, running_bot, start_worker, agent, quick):
    quick.IDLE_CLOSE_AFTER = 2
    start_worker()  # a second delivery worker, running the same periodic check
    users = range(6141, 6146)
    sessions = [open_and_answer(emulator, agent, user) for user in users]

    for session in sessions:
        wait_until(lambda session=session: status(session) == "ENDED", timeout=20)
    time.sleep(1)
    for user in users:
        heard = texts_to(emulator, user)
        assert heard.count(EN["idle_warning"]) == 1
        assert heard.count(EN["ended"]) == 1


def test_a_database_error_in_the_check_is_logged_and_the_next_check_runs(
    emulator, running_bot, agent, monkeypatch, caplog
):
    real, calls = services.idle_sessions_check, []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) <= 2:
            raise OperationalError(2013, "Lost connection to server during query")
        return real(**kwargs)

    monkeypatch.setattr(services, "idle_sessions_check", flaky)
    caplog.set_level(logging.WARNING, logger="telegram_gateway.delivery")
    ann = 6151
    open_and_answer(emulator, agent, ann)

    warning_sent(emulator, ann)
    assert "cannot check idle sessions" in caplog.text
    assert len(calls) > 2
