"""The satisfaction survey on the wire: the real bot (poller and delivery worker) against
the Bot API emulator over HTTP, from the end of a session to the client's comment."""

import logging

import pytest

from accounts.models import User
from conversations.bot_texts import DEFAULT_TEXTS
from conversations.models import Chat, Client, CsatRating, Session
from conversations.services import agent_presence_set, chat_send, session_end
from telegram_gateway.tests.conftest import BotThread, wait_until
from telegram_gateway.tests.test_idle import (
    answers,
    buttons,
    open_and_answer,
    retrying,
    texts_to,
)

EN, ID = DEFAULT_TEXTS["en"], DEFAULT_TEXTS["id"]


@pytest.fixture(autouse=True)
def quick(settings):
    settings.TELEGRAM_CHAT_SEND_INTERVAL = 0.05
    return settings


@pytest.fixture
def agent(make_user, transactional_db) -> User:
    agent = make_user("csat-agent@helpdesk.com", name="Survey Agent")
    retrying(lambda: agent_presence_set(agent=agent, online=True))
    return agent


def served(emulator, agent: User, user: int, *, language: str = "en") -> Session:
    """A client writes and the agent's answer reaches it."""
    session = open_and_answer(emulator, agent, user, language=language)
    wait_until(lambda: "Here is your answer." in texts_to(emulator, user))
    return session


def surveys_to(emulator, user: int, *, count: int = 1) -> list:
    """The bot's messages to `user` that carry inline buttons, once `count` are there."""
    return wait_until(
        lambda: (
            found
            if len(
                found := [
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


def press(emulator, user: int, record, rating: int, *, by: int | None = None, data: str = ""):
    data = data or dict(buttons(record))[f"{rating} ⭐"]
    return emulator.inject_callback_query(by or user, record.message_id, data, chat_id=user)


def edits(emulator, user: int, method: str = "editMessageText") -> list:
    return emulator.sent(chat_id=user, method=method)


def status(session: Session) -> str:
    return Session.objects.get(pk=session.pk).status


def test_the_clients_end_brings_the_survey_after_ended_in_its_language(
    emulator, running_bot, agent
):
    ann, budi = 7101, 7102
    served(emulator, agent, ann)
    served(emulator, agent, budi, language="id")

    emulator.inject_message(ann, "/end")
    emulator.inject_message(budi, "/end")

    (asked_ann,) = surveys_to(emulator, ann)
    (asked_budi,) = surveys_to(emulator, budi)
    assert texts_to(emulator, ann)[-2:] == [EN["ended"], EN["csat_question"]]
    assert texts_to(emulator, budi)[-2:] == [ID["ended"], ID["csat_question"]]
    labels = ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]
    assert [label for label, _ in buttons(asked_ann)] == labels
    assert [label for label, _ in buttons(asked_budi)] == labels


def test_a_press_stores_the_rating_and_the_survey_becomes_a_thank_you(emulator, running_bot, agent):
    ann = 7111
    session = served(emulator, agent, ann, language="id")
    retrying(lambda: session_end(session=session))  # the agent ends it
    (asked,) = surveys_to(emulator, ann)

    press(emulator, ann, asked, 4)

    rating = wait_until(lambda: CsatRating.objects.filter(session=session).first())
    assert (rating.rating, rating.agent_id) == (4, agent.pk)
    (answered,) = wait_until(lambda: answers(emulator, ann))
    assert answered.text is None
    (edited,) = wait_until(lambda: edits(emulator, ann))
    assert edited.message_id == asked.message_id
    assert edited.message["text"] == ID["csat_thanks"].format(rating=4, minutes=10)
    assert "reply_markup" not in edited.message  # the buttons are gone


def test_forged_second_and_foreign_presses_are_answered_and_change_nothing(
    emulator, running_bot, agent, caplog
):
    caplog.set_level(logging.WARNING)
    ann, eve = 7121, 7122
    session = served(emulator, agent, ann)
    emulator.add_user(eve, "Eve")
    retrying(lambda: session_end(session=session))
    (asked,) = surveys_to(emulator, ann)
    nonce = buttons(asked)[0][1].split(":")[2]

    press(emulator, ann, asked, 5, by=eve)  # another user's press
    for data in (
        f"csat:{session.pk}:wrongnonce123456:5",
        f"csat:{session.pk}:{nonce}:0",
        f"csat:{session.pk}:{nonce}:6",
        "csat:garbage",
        "csat:" + "x" * 59,
    ):
        press(emulator, ann, asked, 0, data=data)
    closed = wait_until(lambda: len(answers(emulator, ann)) == 6 and answers(emulator, ann))
    assert {record.text for record in closed} == {EN["csat_closed"]}
    assert not CsatRating.objects.exists()
    assert edits(emulator, ann) == []  # the open survey keeps its buttons

    update = press(emulator, ann, asked, 2)
    wait_until(lambda: CsatRating.objects.exists())
    emulator.inject_update({"callback_query": update["callback_query"]})  # redelivered
    press(emulator, ann, asked, 5)
    wait_until(lambda: len(answers(emulator, ann)) == 8)  # the redelivered one: too old
    assert answers(emulator, ann)[-1].text == EN["csat_already_rated"]
    assert CsatRating.objects.get().rating == 2
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_newer_survey_closes_the_old_keyboard_and_removes_it(emulator, running_bot, agent):
    ann = 7131
    first = served(emulator, agent, ann)
    retrying(lambda: session_end(session=first))
    (old,) = surveys_to(emulator, ann)
    second = served(emulator, agent, ann)
    retrying(lambda: session_end(session=second))
    _, new = surveys_to(emulator, ann, count=2)

    press(emulator, ann, old, 5)

    (answered,) = wait_until(lambda: answers(emulator, ann))
    assert answered.text == EN["csat_closed"]
    (removed,) = wait_until(lambda: edits(emulator, ann, "editMessageReplyMarkup"))
    assert removed.message_id == old.message_id
    assert "reply_markup" not in removed.message
    assert removed.message["text"] == EN["csat_question"]
    assert not CsatRating.objects.exists()

    press(emulator, ann, new, 3)
    rating = wait_until(lambda: CsatRating.objects.first())
    assert (rating.session_id, rating.rating) == (second.pk, 3)


def test_a_button_pressed_after_the_bot_restarts_still_counts(
    emulator, bot_token, transactional_db, agent
):
    ann = 7141
    before = BotThread(emulator.base_url, bot_token).start()
    try:
        session = served(emulator, agent, ann)
        emulator.inject_message(ann, "/end")
        (asked,) = surveys_to(emulator, ann)
    finally:
        before.stop()

    after = BotThread(emulator.base_url, bot_token).start()
    try:
        press(emulator, ann, asked, 5)
        rating = wait_until(lambda: CsatRating.objects.filter(session=session).first())
        assert rating.rating == 5
        (edited,) = wait_until(lambda: edits(emulator, ann))
        assert edited.message_id == asked.message_id
    finally:
        after.stop()


def test_one_comment_after_a_rating_opens_no_session_the_next_message_does(
    emulator, running_bot, agent
):
    ann = 7151
    session = served(emulator, agent, ann)
    emulator.inject_message(ann, "/end")
    (asked,) = surveys_to(emulator, ann)
    press(emulator, ann, asked, 5)
    wait_until(lambda: CsatRating.objects.exists())

    emulator.inject_message(ann, "Very quick, thanks!")

    wait_until(lambda: EN["csat_comment_thanks"] in texts_to(emulator, ann))
    assert CsatRating.objects.get().comment == "Very quick, thanks!"
    assert Chat.objects.filter(session=session, message="Very quick, thanks!").exists()
    assert not Session.objects.filter(client__telegram_id=str(ann), status="ACTIVE").exists()

    emulator.inject_message(ann, "One more question")

    opened = wait_until(
        lambda: Session.objects.filter(client__telegram_id=str(ann), status="ACTIVE").first()
    )
    assert Chat.objects.filter(session=opened, message="One more question").exists()
    wait_until(lambda: EN["connected"] in texts_to(emulator, ann))
    assert CsatRating.objects.get().comment == "Very quick, thanks!"


def test_a_client_who_blocked_the_bot_gets_no_survey(emulator, running_bot, agent):
    ann = 7161
    session = served(emulator, agent, ann)
    emulator.block_user(ann)
    retrying(lambda: chat_send(session=session, agent=agent, text="Anything else?"))
    wait_until(lambda: Client.objects.get(pk=session.client_id).unreachable_since)

    retrying(lambda: session_end(session=session))

    assert Session.objects.get(pk=session.pk).csat_asked_at is None
    assert not Chat.objects.filter(session=session, message=EN["csat_question"]).exists()
