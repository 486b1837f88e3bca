"""A private note can never reach Telegram: the real delivery worker runs against the
Bot API emulator while notes and replies are written in the same sessions, and every
byte the bot sends to the Bot API goes through a recording proxy. Every reply arrives;
no request carries any note's text."""

import asyncio
import threading

import pytest

from conversations.models import Chat, Client, Note, Session
from conversations.services import chat_send
from conversations.services.notes import note_add
from telegram_gateway.tests.conftest import BotThread, wait_until
from telegram_gateway.tests.tcp_proxy import CuttableProxy

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingProxy(CuttableProxy):
    """The proxy, keeping a copy of every byte in both directions."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self.lock = threading.Lock()
        self.traffic = bytearray()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                with self.lock:
                    self.traffic += data
                writer.write(data)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    def seen(self) -> bytes:
        with self.lock:
            return bytes(self.traffic)


@pytest.fixture
def colleague(make_user):
    return make_user("cs2@helpdesk.com", name="CS Two")


def test_no_send_call_ever_carries_a_note(emulator, bot_token, agent, colleague):
    host, port = emulator.base_url.removeprefix("http://").split(":")
    sessions = []
    for user_id in (9501, 9502, 9503):
        emulator.add_user(user_id, f"Client {user_id}")
        client = Client.objects.create(telegram_id=str(user_id), name=f"Client {user_id}")
        sessions.append(Session.objects.create(client=client, cs=agent))

    with RecordingProxy(host, int(port)) as proxy:
        worker = BotThread(f"http://127.0.0.1:{proxy.port}", bot_token, poll=False).start()
        try:
            replies, notes = [], []
            for round_ in range(3):
                for n, session in enumerate(sessions):
                    # ASCII tokens: found in the bytes whatever the request's encoding.
                    secret, reply = f"NOTESECRET{round_}x{n}", f"REPLYOK{round_}x{n}"
                    # Retried on SQLite's brief table lock (the worker's thread shares
                    # the in-memory database); each write is one transaction.
                    notes.append(
                        wait_until(
                            lambda s=session, t=secret: note_add(
                                session=s, author=agent, text=f"@cs2 {t}"
                            )
                        )
                    )
                    replies.append(
                        wait_until(
                            lambda s=session, t=reply: chat_send(session=s, agent=agent, text=t)
                        )
                    )
            wait_until(
                lambda: (
                    Chat.objects.filter(
                        pk__in=[r.pk for r in replies], delivery_status=Chat.DeliveryStatus.SENT
                    ).count()
                    == len(replies)
                ),
                timeout=30,
            )
        finally:
            worker.stop()
        traffic = proxy.seen()

    sent = emulator.sent(method="sendMessage")
    assert sorted(r.text for r in sent) == sorted(r.message for r in replies)
    for reply in replies:
        assert reply.message.encode() in traffic  # the recording sees what is sent
    for note in notes:
        secret = note.text.split()[-1]
        assert secret.encode() not in traffic
        assert all(secret not in (r.text or "") for r in emulator.sent())
    assert Note.objects.count() == 9
