"""Agents' replies through the delivery worker and the Bot API emulator (Telegram's limits on)."""

import itertools
import time

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from conversations.models import Chat, Client, Session
from conversations.services import (
    chat_record_incoming,
    chat_retry_delivery,
    chat_send,
    session_end,
)
from conversations.tests.test_console_live import incoming
from telegram_gateway.tests.conftest import wait_until
from telegram_gateway.transport import split_text, utf16_len

pytestmark = pytest.mark.django_db(transaction=True)
Status = Chat.DeliveryStatus


def open_session(emulator, agent, user_id: int) -> Session:
    emulator.add_user(user_id, f"Client {user_id}")
    client = Client.objects.create(telegram_id=str(user_id), name=f"Client {user_id}")
    return Session.objects.create(client=client, cs=agent)


def delivered(chat: Chat, status: str = Status.SENT, timeout: float = 15) -> Chat:
    return wait_until(
        lambda: Chat.objects.filter(pk=chat.pk, delivery_status=status).first(), timeout
    )


class TestSending:
    def test_a_reply_is_stored_pending_then_sent(self, emulator, agent, start_worker):
        session = open_session(emulator, agent, 9001)
        chat = chat_send(session=session, agent=agent, text="Hi <b>Ann</b> & co 👋🏽")
        assert chat.delivery_status == Status.PENDING
        assert (chat.sender_type, chat.message_type) == ("CS", "TEXT")

        start_worker()
        sent = delivered(chat)

        (record,) = emulator.wait_for_sent(chat_id=9001, method="sendMessage")
        assert record.text == "Hi <b>Ann</b> & co 👋🏽"  # plain text: no HTML parsing
        assert sent.telegram_message_id == record.message_id
        assert emulator.rate_limited == 0

    def test_replies_to_one_chat_arrive_in_order_and_paced(self, emulator, agent, start_worker):
        session = open_session(emulator, agent, 9002)
        chats = [chat_send(session=session, agent=agent, text=f"part {n}") for n in range(4)]

        start_worker()
        delivered(chats[-1])

        records = emulator.sent(chat_id=9002, method="sendMessage")
        assert [r.text for r in records] == [f"part {n}" for n in range(4)]
        gaps = [b.timestamp - a.timestamp for a, b in itertools.pairwise(records)]
        assert min(gaps) >= 0.95
        assert emulator.rate_limited == 0

    def test_many_chats_at_once_get_no_429(self, emulator, agent, start_worker):
        sessions = [open_session(emulator, agent, 9100 + n) for n in range(40)]
        chats = [chat_send(session=s, agent=agent, text="hello") for s in sessions]

        start_worker()
        for chat in chats:
            delivered(chat, timeout=30)

        assert len(emulator.sent(method="sendMessage")) == 40
        assert emulator.rate_limited == 0

    def test_a_long_text_is_split_in_order(self, emulator, agent, start_worker):
        session = open_session(emulator, agent, 9003)
        paragraphs = [f"Paragraph {n}: " + "kata " * 300 for n in range(6)]
        text = "\n\n".join(paragraphs)
        assert utf16_len(text) > 2 * 4096
        chat = chat_send(session=session, agent=agent, text=text)

        start_worker()
        sent = delivered(chat, timeout=30)

        records = emulator.sent(chat_id=9003, method="sendMessage")
        assert len(records) >= 3
        assert all(utf16_len(r.text) <= 4096 for r in records)
        assert " ".join(r.text for r in records).split() == text.split()
        assert sent.telegram_message_id == records[0].message_id


class TestFailures:
    def test_a_429_is_honoured_before_the_next_try(self, emulator, agent, start_worker):
        session = open_session(emulator, agent, 9004)
        emulator.fail_next("sendMessage", status=429, retry_after=2)
        chat = chat_send(session=session, agent=agent, text="after the wait")
        started = time.monotonic()

        start_worker()
        delivered(chat)

        (record,) = emulator.sent(chat_id=9004, method="sendMessage")
        assert record.timestamp - started >= 2.0
        assert Chat.objects.get(pk=chat.pk).delivery_attempts == 2

    def test_server_errors_are_retried(self, emulator, agent, start_worker):
        session = open_session(emulator, agent, 9005)
        emulator.fail_next("sendMessage", status=502, times=2)
        chat = chat_send(session=session, agent=agent, text="third time lucky")

        start_worker()
        sent = delivered(chat, timeout=20)

        assert (sent.delivery_attempts, sent.delivery_error) == (3, "")
        assert [r.text for r in emulator.sent(chat_id=9005)] == ["third time lucky"]

    def test_a_blocked_bot_marks_the_reply_failed_without_retrying(
        self, emulator, agent, start_worker
    ):
        session = open_session(emulator, agent, 9006)
        emulator.block_user(9006)
        chat = chat_send(session=session, agent=agent, text="are you there?")

        start_worker()
        failed = delivered(chat, Status.FAILED)
        time.sleep(1.5)

        assert "blocked" in failed.delivery_error
        assert emulator.requests("sendMessage") == 1

    def test_a_bad_request_marks_the_reply_failed(self, emulator, agent, start_worker):
        client = Client.objects.create(telegram_id="424242", name="Nobody")  # unknown to Telegram
        session = Session.objects.create(client=client, cs=agent)
        chat = chat_send(session=session, agent=agent, text="hello?")

        start_worker()
        failed = delivered(chat, Status.FAILED)

        assert "chat not found" in failed.delivery_error

    def test_a_failed_reply_can_be_retried(self, emulator, agent, start_worker):
        session = open_session(emulator, agent, 9007)
        emulator.block_user(9007)
        chat = chat_send(session=session, agent=agent, text="once more")
        start_worker()
        delivered(chat, Status.FAILED)
        emulator.unblock_user(9007)
        with pytest.raises(ValidationError):  # unreachable until the client writes again
            chat_retry_delivery(chat=chat)
        chat_record_incoming(incoming=incoming("9007", "I unblocked you"))

        chat_retry_delivery(chat=chat)

        delivered(chat)
        assert [r.text for r in emulator.sent(chat_id=9007)] == ["once more"]


class TestRestarts:
    def test_pending_replies_left_by_a_stop_are_sent_once_after_restart(
        self, emulator, agent, start_worker
    ):
        sessions = [open_session(emulator, agent, 9200 + n) for n in range(3)]
        chats = [chat_send(session=s, agent=agent, text=f"to {n}") for n, s in enumerate(sessions)]

        first = start_worker()
        delivered(chats[0])
        first.stop()
        for n in range(3, 6):
            chats.append(chat_send(session=sessions[n % 3], agent=agent, text=f"later {n}"))

        start_worker()
        for chat in chats:
            delivered(chat, timeout=20)
        time.sleep(1)

        texts = sorted(r.text for r in emulator.sent(method="sendMessage"))
        assert texts == sorted(c.message for c in chats)

    @pytest.mark.mariadb
    def test_two_workers_never_send_the_same_reply(self, emulator, agent, start_worker):
        sessions = [open_session(emulator, agent, 9300 + n) for n in range(15)]
        chats = [
            chat_send(session=s, agent=agent, text=f"{s.client.telegram_id} #{n}")
            for n in range(2)
            for s in sessions
        ]

        start_worker()
        start_worker()
        for chat in chats:
            delivered(chat, timeout=30)
        time.sleep(1)

        texts = [r.text for r in emulator.sent(method="sendMessage")]
        assert sorted(texts) == sorted(c.message for c in chats)
        for session in sessions:
            per_chat = [r.text for r in emulator.sent(chat_id=int(session.client.telegram_id))]
            assert per_chat == [
                f"{session.client.telegram_id} #0",
                f"{session.client.telegram_id} #1",
            ]


class TestAttachments:
    def test_an_uploaded_pdf_goes_as_a_document_with_its_bytes(self, emulator, agent, start_worker):
        session = open_session(emulator, agent, 9008)
        content = b"%PDF-1.4 invoice bytes \x00\x01"
        upload = SimpleUploadedFile("invoice.pdf", content, content_type="application/pdf")
        chat = chat_send(session=session, agent=agent, text="Your invoice", upload=upload)
        assert chat.message_type == "FILE"
        assert chat.file_url == f"/files/{chat.id}/invoice.pdf"

        start_worker()
        sent = delivered(chat)

        (record,) = emulator.sent(chat_id=9008, method="sendDocument")
        (sent_file,) = record.files
        assert (sent_file.data, sent_file.filename) == (content, "invoice.pdf")
        assert record.caption == "Your invoice"
        assert sent.telegram_file_id == sent_file.file_id

    def test_an_image_goes_as_a_photo(self, emulator, agent, start_worker):
        session = open_session(emulator, agent, 9009)
        upload = SimpleUploadedFile("shot.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")
        chat = chat_send(session=session, agent=agent, upload=upload)
        assert chat.message_type == "IMAGE"

        start_worker()
        delivered(chat)

        assert len(emulator.sent(chat_id=9009, method="sendPhoto")) == 1

    def test_a_long_caption_follows_the_file_as_text(self, emulator, agent, start_worker):
        session = open_session(emulator, agent, 9010)
        caption = "detail " * 200
        upload = SimpleUploadedFile("notes.txt", b"notes", content_type="text/plain")
        chat = chat_send(session=session, agent=agent, text=caption, upload=upload)

        start_worker()
        delivered(chat)

        methods = [(r.method, r.caption or r.text) for r in emulator.sent(chat_id=9010)]
        assert [m for m, _ in methods] == ["sendDocument", "sendMessage"]
        assert not methods[0][1]
        assert methods[1][1] == caption.strip()


class TestChatSendRefuses:
    def test_an_empty_reply(self, emulator, agent):
        session = open_session(emulator, agent, 9011)
        with pytest.raises(ValidationError, match="Write a message"):
            chat_send(session=session, agent=agent, text="   ")

    def test_a_reply_to_an_ended_session(self, emulator, agent):
        session = open_session(emulator, agent, 9012)
        session_end(session=session)
        with pytest.raises(ValidationError, match="ended"):
            chat_send(session=session, agent=agent, text="too late")

    def test_a_file_over_the_limit(self, emulator, agent, settings):
        settings.UPLOAD_MAX_BYTES = 1000
        session = open_session(emulator, agent, 9013)
        upload = SimpleUploadedFile("big.pdf", b"x" * 1001, content_type="application/pdf")
        with pytest.raises(ValidationError, match="limit"):
            chat_send(session=session, agent=agent, upload=upload)
        assert not Chat.objects.exists()

    def test_a_file_of_a_type_not_allowed(self, emulator, agent):
        session = open_session(emulator, agent, 9014)
        upload = SimpleUploadedFile("run.exe", b"MZ", content_type="application/x-msdownload")
        with pytest.raises(ValidationError, match="cannot be sent"):
            chat_send(session=session, agent=agent, upload=upload)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, ["short"]),
        ("aaaa bbbb cccc", 9, ["aaaa bbbb", "cccc"]),
        ("one\n\ntwo three\nfour", 12, ["one", "two three", "four"]),
        ("x" * 25, 10, ["x" * 10, "x" * 10, "x" * 5]),
        ("😀" * 6, 4, ["😀😀", "😀😀", "😀😀"]),  # 2 UTF-16 units each, never halved
    ],
)
def test_split_text(text, limit, expected):
    assert split_text(text, limit) == expected
