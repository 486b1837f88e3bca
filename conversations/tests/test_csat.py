"""Satisfaction surveys: who is asked at which end, what a press may store, the comment."""

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from conversations.bot_texts import DEFAULT_TEXTS
from conversations.models import Chat, Client, CsatRating, Session
from conversations.services import (
    IncomingMessage,
    Sender,
    chat_record_incoming,
    chat_record_incoming_many,
    chat_send,
    client_block,
    csat_answer,
    deliveries_claim,
    idle_answer,
    idle_sessions_close,
    idle_sessions_warn,
    session_end,
    session_end_for_client,
)

EN, ID = DEFAULT_TEXTS["en"], DEFAULT_TEXTS["id"]
_numbers = itertools.count(91000)
_message_ids = itertools.count(1)


@pytest.fixture
def agent(make_user) -> User:
    return make_user("csat-cs@helpdesk.com", name="Rated Agent")


def open_session(agent: User | None, *, language: str = "en", replied: bool = True) -> Session:
    """A client's ACTIVE session with `agent`, who answered it (when `replied`)."""
    n = next(_numbers)
    client = Client.objects.create(telegram_id=str(n), name=f"Client {n}", language_code=language)
    session = Session.objects.create(
        client=client, cs=agent, created_at=timezone.now() - timedelta(hours=1)
    )
    Chat.objects.create(session=session, sender_type="CLIENT", message="I need help")
    if replied:
        chat_send(session=session, agent=agent, text="Here is your answer.")
    return session


def fresh(session: Session) -> Session:
    return Session.objects.get(pk=session.pk)


def surveys(session: Session) -> list[Chat]:
    texts = [EN["csat_question"], ID["csat_question"]]
    return list(Chat.objects.filter(session=session, is_notice=True, message__in=texts))


def sender(session: Session) -> Sender:
    client = session.client
    return Sender(client.telegram_id, client.name, None, client.language_code)


def press(session: Session, rating: int | str, *, nonce: str | None = None, by: str = ""):
    nonce = fresh(session).csat_nonce if nonce is None else nonce
    return csat_answer(
        data=f"csat:{session.pk}:{nonce}:{rating}",
        telegram_id=by or session.client.telegram_id,
        message_id=77,
    )


def text_from(session: Session, text: str, **fields) -> IncomingMessage:
    client = session.client
    return IncomingMessage(
        telegram_id=client.telegram_id,
        name=client.name,
        username=None,
        telegram_message_id=next(_message_ids),
        message_type=fields.pop("message_type", Chat.MessageType.TEXT),
        text=text,
        language_code=client.language_code,
        **fields,
    )


def sent_all(limit: int = 50) -> list:
    """Claim and 'send' every due chat, in the worker's order (per session, oldest first)."""
    from conversations.services import delivery_mark_sent

    done = []
    while claimed := deliveries_claim(limit=limit):
        for delivery in claimed:
            delivery_mark_sent(chat_id=delivery.chat_id, telegram_message_id=len(done) + 1)
            done.append(delivery)
    return done


@pytest.mark.django_db
class TestWhoIsAsked:
    def test_the_agent_ending_in_the_console_asks_after_the_reply(self, client, agent):
        session = open_session(agent)
        client.force_login(agent)

        client.post(reverse("console:end", args=[session.pk]))

        session = fresh(session)
        (question,) = surveys(session)
        assert question.message == EN["csat_question"]
        assert session.csat_asked_at == question.created_at > session.ended_at
        assert len(session.csat_nonce) == 16

    def test_the_clients_end_asks_after_the_ended_notice_in_its_language(self, agent):
        session = open_session(agent, language="id")

        session_end_for_client(sender=sender(session))

        deliveries = [d for d in sent_all() if d.session_id == session.pk]
        assert [d.text for d in deliveries][-2:] == [ID["ended"], ID["csat_question"]]
        ended, question = deliveries[-2:]
        assert ended.buttons == ()
        assert [label for label, _ in question.buttons] == ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]
        nonce = fresh(session).csat_nonce
        assert [data for _, data in question.buttons] == [
            f"csat:{session.pk}:{nonce}:{n}" for n in range(1, 6)
        ]
        assert all(len(data.encode()) <= 64 for _, data in question.buttons)

    def test_an_idle_close_asks_after_the_ended_notice(self, agent, settings):
        settings.IDLE_WARN_AFTER, settings.IDLE_CLOSE_AFTER = 60, 60
        session = open_session(agent)
        Chat.objects.filter(session=session).update(
            created_at=timezone.now() - timedelta(minutes=5)
        )
        assert idle_sessions_warn() == 1
        Session.objects.filter(pk=session.pk).update(
            idle_warned_at=timezone.now() - timedelta(minutes=2)
        )
        Chat.objects.filter(session=session, is_notice=True).update(
            created_at=timezone.now() - timedelta(minutes=2)
        )

        assert idle_sessions_close() == 1

        texts = [d.text for d in sent_all() if d.session_id == session.pk]
        assert texts[-2:] == [EN["ended"], EN["csat_question"]]

    def test_an_idle_no_asks_too(self, agent, settings):
        settings.IDLE_WARN_AFTER = 60
        session = open_session(agent)
        Chat.objects.filter(session=session).update(
            created_at=timezone.now() - timedelta(minutes=5)
        )
        idle_sessions_warn()
        warned = fresh(session)

        idle_answer(
            data=f"idle:{session.pk}:{warned.idle_warning_nonce}:no",
            telegram_id=session.client.telegram_id,
        )

        assert fresh(session).status == "ENDED"
        assert len(surveys(session)) == 1

    def test_the_api_end_asks_once_and_ending_again_asks_no_more(self, agent):
        from conversations.tests.api_helpers import call

        session = open_session(agent)
        assert call("post", f"/api/sessions/{session.pk}/end/", agent).status_code == 200
        call("post", f"/api/sessions/{session.pk}/end/", agent)
        session_end(session=session)
        assert len(surveys(session)) == 1

    def test_no_survey_without_an_agents_reply(self, agent):
        session = open_session(agent, replied=False)
        Chat.objects.create(  # the desk's own words are no reply
            session=session, sender_type="CS", is_notice=True, message=EN["connected"]
        )
        session_end(session=session)
        assert surveys(session) == []
        assert fresh(session).csat_asked_at is None

    def test_no_survey_for_a_session_that_never_had_an_agent(self):
        session = open_session(None, replied=False)
        session_end_for_client(sender=sender(session))
        assert surveys(session) == []

    def test_no_survey_when_disabled(self, agent, settings):
        settings.CSAT_ENABLED = False
        session = open_session(agent)
        session_end(session=session)
        assert surveys(session) == []
        assert fresh(session).csat_nonce == ""

    def test_no_survey_to_a_client_who_blocked_the_bot(self, agent):
        session = open_session(agent)
        Client.objects.filter(pk=session.client_id).update(unreachable_since=timezone.now())
        session_end(session=session)
        assert surveys(session) == []

    def test_no_survey_to_a_client_the_desk_blocks(self, agent):
        session = open_session(agent)
        client_block(client=session.client, by=agent, reason="abuse")
        assert fresh(session).status == "ENDED"
        assert surveys(session) == []

    def test_no_survey_when_the_agent_ends_a_blocked_clients_session(self, agent):
        session = open_session(agent)
        Client.objects.filter(pk=session.client_id).update(blocked=True)
        session_end(session=session)
        assert surveys(session) == []


@pytest.mark.django_db
class TestPress:
    def ended(self, agent, **kwargs) -> Session:
        session = open_session(agent, **kwargs)
        session_end(session=session)
        return fresh(session)

    def test_a_press_stores_the_rating_with_the_agent_and_thanks(self, agent):
        session = self.ended(agent, language="id")

        result = press(session, 4)

        rating = CsatRating.objects.get()
        assert (rating.session_id, rating.agent_id, rating.rating, rating.comment) == (
            session.pk,
            agent.pk,
            4,
            "",
        )
        assert result.accepted and result.notice == ""
        assert result.edit_message_id == 77
        assert result.edit_text == ID["csat_thanks"].format(rating=4, minutes=10)
        assert fresh(session).csat_nonce == ""

    def test_the_agent_rated_is_the_one_who_ended_it_even_if_another_replied(
        self, agent, make_user
    ):
        other = make_user("other-cs@helpdesk.com")
        session = open_session(other)
        Session.objects.filter(pk=session.pk).update(cs=agent)
        session_end(session=session)
        press(session, 5)
        assert CsatRating.objects.get().agent == agent

    def test_a_second_press_changes_nothing_and_says_it_was_rated(self, agent):
        session = self.ended(agent)
        nonce = session.csat_nonce
        press(session, 5)

        again = press(session, 1, nonce=nonce)

        assert not again.accepted
        assert again.notice == EN["csat_already_rated"]
        assert list(CsatRating.objects.values_list("rating", flat=True)) == [5]

    @pytest.mark.parametrize(
        "forge",
        [
            lambda s, other, n: f"csat:{other.pk}:{n}:5",  # another client's session
            lambda s, other, n: f"csat:{s.pk}:wrongnonce123456:5",
            lambda s, other, n: f"csat:{s.pk}::5",
            lambda s, other, n: f"csat:{s.pk}:{n}:0",
            lambda s, other, n: f"csat:{s.pk}:{n}:6",
            lambda s, other, n: f"csat:{s.pk}:{n}:5:5",
            lambda s, other, n: "csat:garbage",
            lambda s, other, n: f"idle:{s.pk}:{n}:yes",
            lambda s, other, n: "",
        ],
    )
    def test_forged_payloads_change_nothing_and_are_answered(self, agent, forge):
        session, other = self.ended(agent), self.ended(agent)

        result = csat_answer(
            data=forge(session, other, session.csat_nonce),
            telegram_id=session.client.telegram_id,
            message_id=1,
        )

        assert not result.accepted
        assert result.notice == EN["csat_closed"]
        assert result.edit_message_id is None  # an open survey keeps its buttons
        assert not CsatRating.objects.exists()
        assert fresh(session).csat_nonce == session.csat_nonce

    def test_another_users_press_on_my_survey_changes_nothing(self, agent):
        mine, theirs = self.ended(agent), self.ended(agent)

        result = press(mine, 5, by=theirs.client.telegram_id)

        assert not result.accepted and not CsatRating.objects.exists()
        assert result.edit_message_id is None
        assert press(mine, 5).accepted  # the genuine press still counts

    def test_an_unknown_telegram_user_is_answered(self, agent):
        session = self.ended(agent)
        result = press(session, 5, by="123")
        assert not result.accepted and result.notice == EN["csat_closed"]

    def test_a_newer_survey_closes_the_old_keyboard_which_then_loses_its_buttons(self, agent):
        old = self.ended(agent)
        sent_all()  # the survey reached Telegram: it has a message id
        old_message = surveys(old)[0]
        old_message.refresh_from_db()
        new = open_session(agent, replied=False)
        Session.objects.filter(pk=new.pk).update(client=old.client)
        chat_send(session=fresh(new), agent=agent, text="Again")
        session_end(session=new)

        result = csat_answer(
            data=f"csat:{old.pk}:{old.csat_nonce}:5",
            telegram_id=old.client.telegram_id,
            message_id=old_message.telegram_message_id,
        )

        assert not result.accepted and result.notice == EN["csat_closed"]
        assert result.edit_message_id == old_message.telegram_message_id
        assert result.edit_text == ""  # the keyboard goes, the question stays
        assert not CsatRating.objects.exists()
        assert press(fresh(new), 3).accepted


@pytest.mark.django_db
class TestComment:
    def rated(self, agent, **kwargs) -> Session:
        session = open_session(agent, **kwargs)
        session_end(session=session)
        assert press(session, 4).accepted
        return fresh(session)

    def test_a_text_within_the_window_is_the_comment_and_opens_no_session(self, agent):
        session = self.rated(agent, language="id")

        recorded = chat_record_incoming(incoming=text_from(session, "Sangat membantu"))

        assert not recorded.session_opened and recorded.session.pk == session.pk
        assert CsatRating.objects.get().comment == "Sangat membantu"
        assert not Session.objects.filter(client=session.client, status="ACTIVE").exists()
        comment = Chat.objects.get(session=session, message="Sangat membantu")
        assert comment.sender_type == "CLIENT" and comment.is_read
        thanks = Chat.objects.get(session=session, message=ID["csat_comment_thanks"])
        assert thanks.is_notice and thanks.created_at > comment.created_at
        assert fresh(session).unread_since is None

    def test_only_one_comment_the_next_message_opens_a_session(self, agent):
        session = self.rated(agent)
        chat_record_incoming(incoming=text_from(session, "Great"))

        second = chat_record_incoming(incoming=text_from(session, "Another question"))

        assert second.session_opened
        assert CsatRating.objects.get().comment == "Great"

    def test_with_the_window_at_0_nobody_is_invited_and_a_text_opens_a_session(
        self, agent, settings
    ):
        settings.CSAT_COMMENT_WINDOW = 0
        session = open_session(agent)
        session_end(session=session)

        assert press(fresh(session), 5).edit_text == EN["csat_thanks_no_comment"].format(rating=5)
        recorded = chat_record_incoming(incoming=text_from(session, "One more thing"))

        assert recorded.session_opened
        assert CsatRating.objects.get().comment == ""

    def test_in_one_batch_the_first_text_comments_and_the_next_opens_a_session(self, agent):
        session = self.rated(agent)

        first, second = chat_record_incoming_many(
            incomings=[text_from(session, "Great"), text_from(session, "Also, a question")]
        )

        assert not first.session_opened and second.session_opened
        assert CsatRating.objects.get().comment == "Great"
        assert second.chat.session.status == "ACTIVE"

    def test_a_redelivered_comment_is_recognised_and_opens_nothing(self, agent):
        session = self.rated(agent)
        message = text_from(session, "Great")
        chat_record_incoming(incoming=message)

        again = chat_record_incoming(incoming=message)

        assert not again.created and not again.session_opened
        assert not Session.objects.filter(client=session.client, status="ACTIVE").exists()

    def test_after_the_window_a_message_opens_a_session(self, agent, settings):
        session = self.rated(agent)
        CsatRating.objects.update(created_at=timezone.now() - timedelta(seconds=601))

        recorded = chat_record_incoming(incoming=text_from(session, "Hello again"))

        assert recorded.session_opened
        assert CsatRating.objects.get().comment == ""

    def test_a_start_or_a_photo_is_no_comment(self, agent):
        session = self.rated(agent)
        start = chat_record_incoming(incoming=text_from(session, "/start", is_start=True))
        assert start.session_opened
        session_end(session=start.session)
        photo = chat_record_incoming(
            incoming=text_from(
                session, "", message_type=Chat.MessageType.IMAGE, telegram_file_id="f1"
            )
        )
        assert photo.session_opened
        assert CsatRating.objects.get().comment == ""

    def test_looking_for_comments_costs_the_same_queries_for_3_or_12_new_clients(self, agent):
        User.objects.filter(pk=agent.pk).update(status_online=True)
        self.rated(agent)  # a rating awaits its comment, from someone else

        def batch_queries(first: int, count: int) -> int:
            incomings = [
                IncomingMessage(str(n), f"New {n}", None, 1, Chat.MessageType.TEXT, "hi")
                for n in range(first, first + count)
            ]
            with CaptureQueriesContext(connection) as queries:
                results = chat_record_incoming_many(incomings=incomings)
            assert all(r.session_opened for r in results)
            return len(queries)

        assert batch_queries(95000, 3) == batch_queries(96000, 12)

    def test_without_a_rating_a_message_after_the_survey_opens_a_session(self, agent):
        session = open_session(agent)
        session_end(session=session)
        assert chat_record_incoming(incoming=text_from(session, "Hi")).session_opened


@pytest.mark.django_db
class TestAdmin:
    url = "/admin/conversations/csatrating/"

    def rating(self, agent, rating: int = 4, comment: str = "") -> CsatRating:
        session = open_session(agent)
        session_end(session=session)
        return CsatRating.objects.create(
            session=session, agent=agent, rating=rating, comment=comment
        )

    def test_an_admin_lists_ratings_and_filters_by_rating_and_agent(
        self, client, admin_user, agent, make_user
    ):
        other = make_user("other@helpdesk.com", name="Other Agent")
        mine = self.rating(agent, 5, "Lovely")
        theirs = self.rating(other, 2)
        client.force_login(admin_user)

        listed = client.get(self.url)
        by_rating = client.get(self.url, {"rating": 2})
        by_agent = client.get(self.url, {"agent__id__exact": agent.pk})

        assert listed.status_code == 200
        assert "Lovely" in listed.text and "Rated Agent" in listed.text
        assert list(by_rating.context["cl"].result_list) == [theirs]
        assert list(by_agent.context["cl"].result_list) == [mine]

    def test_ratings_are_read_only_for_an_admin(self, client, admin_user, agent):
        rating = self.rating(agent, 3, "ok")
        client.force_login(admin_user)

        page = client.get(f"{self.url}{rating.pk}/change/")
        posted = client.post(f"{self.url}{rating.pk}/change/", {"rating": 5, "comment": "x"})

        assert page.status_code == 200 and 'name="rating"' not in page.text
        assert client.get(f"{self.url}add/").status_code == 403
        assert posted.status_code == 403
        assert client.post(f"{self.url}{rating.pk}/delete/", {"post": "yes"}).status_code == 403
        rating.refresh_from_db()
        assert (rating.rating, rating.comment) == (3, "ok")

    @pytest.mark.parametrize("who", ["agent", "other_cs", "anonymous"])
    def test_agents_and_anonymous_have_no_ratings_admin(self, client, agent, make_user, who):
        self.rating(agent)
        if who == "agent":
            client.force_login(agent)
        elif who == "other_cs":
            client.force_login(make_user("cs2@helpdesk.com"))
        response = client.get(self.url)
        assert response.status_code == 302
        assert response.url.startswith("/admin/login/")


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_simultaneous_presses_store_one_rating(make_user):
    agent = make_user("race-cs@helpdesk.com")
    session = open_session(agent)
    session_end(session=session)
    nonce = fresh(session).csat_nonce
    start = threading.Barrier(6)

    def tap(rating: int) -> bool:
        try:
            start.wait()
            return press(session, rating, nonce=nonce).accepted
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        accepted = list(pool.map(tap, [1, 2, 3, 4, 5, 5]))

    assert accepted.count(True) == 1
    assert CsatRating.objects.count() == 1
