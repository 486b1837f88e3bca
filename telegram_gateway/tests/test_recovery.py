"""Several delivery workers recover quickly: a dead worker's claims, a database outage,
and replies stored in another process (issue 16, requirements 8 and 9).

The workers are real `manage.py deliver` processes against the Bot API emulator with
Telegram's limits on; a worker is killed with SIGKILL, as a crash or an OOM kill does.
"""

import itertools
import signal
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from conversations.models import Chat, Client, Session
from conversations.services import chat_send, deliveries_claim, delivery_claims_renew
from conversations.tests.test_console_redis import REDIS_HOST, REDIS_PORT, redis_layer  # noqa: F401
from helpdesk.tests.processes import mariadb_url
from telegram_gateway.tests.conftest import wait_until
from telegram_gateway.tests.tcp_proxy import CuttableProxy
from telegram_gateway.tests.test_delivery import open_session
from telegram_gateway.tests.test_runbot import finish, runbot, wait_for_output

Status = Chat.DeliveryStatus


@pytest.mark.django_db
class TestClaimRenewal:
    def test_a_worker_renews_only_the_claims_it_still_holds(self, make_user):
        agent = make_user("cs1@helpdesk.com")
        client = Client.objects.create(telegram_id="5001", name="Ann")
        session = Session.objects.create(client=client, cs=agent)
        chat = chat_send(session=session, agent=agent, text="hello")

        (first,) = deliveries_claim(limit=10, lease=8)
        assert delivery_claims_renew(claims={chat.pk: first.attempts}, lease=8) == [chat.pk]
        renewed_until = Chat.objects.get(pk=chat.pk).next_attempt_at
        assert renewed_until > timezone.now() + timedelta(seconds=7)

        # The worker stalls past its lease; another worker takes the reply over.
        Chat.objects.filter(pk=chat.pk).update(next_attempt_at=timezone.now())
        (second,) = deliveries_claim(limit=10, lease=8)
        assert second.chat_id == chat.pk and second.attempts == first.attempts + 1
        taken_until = Chat.objects.get(pk=chat.pk).next_attempt_at

        # The first worker's renewal neither extends nor reports the claim it lost.
        assert delivery_claims_renew(claims={chat.pk: first.attempts}, lease=60) == []
        assert Chat.objects.get(pk=chat.pk).next_attempt_at == taken_until
        assert delivery_claims_renew(claims={chat.pk: second.attempts}, lease=8) == [chat.pk]


def deliver(emulator, bot_token: str, database_url: str, **environment: str):
    process = runbot(
        api_base=emulator.base_url,
        token=bot_token,
        database_url=database_url,
        command="deliver",
        environment=environment,
    )
    wait_for_output(process, "delivering replies")
    return process


def sent_texts(emulator, chat_id: int) -> list[str]:
    return [record.text for record in emulator.sent(chat_id=chat_id)]


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
class TestRecovery:
    def test_a_dead_workers_claim_is_taken_over_within_ten_seconds(
        self, emulator, bot_token, agent
    ):
        session = open_session(emulator, agent, 5101)
        database = mariadb_url()
        # Telegram holds the first send for a minute: the worker dies waiting for it.
        emulator.delay("sendMessage", 60, times=1)
        doomed = deliver(emulator, bot_token, database)
        survivor = None
        try:
            chat_send(session=session, agent=agent, text="first")
            second = chat_send(session=session, agent=agent, text="second")
            wait_until(lambda: emulator.requests("sendMessage") >= 1, timeout=10)
            survivor = deliver(emulator, bot_token, database)
            doomed.kill()  # SIGKILL: no chance to hand its claim back
            killed_at = time.monotonic()

            wait_until(lambda: sent_texts(emulator, 5101) == ["first"], timeout=15)
            taken_over_after = time.monotonic() - killed_at
            wait_until(
                lambda: Chat.objects.filter(pk=second.pk, delivery_status=Status.SENT).exists(),
                timeout=15,
            )
        finally:
            doomed.kill()
            if survivor is not None:
                survivor.send_signal(signal.SIGTERM)
                finish(survivor)
        assert taken_over_after < 10, f"taken over after {taken_over_after:.1f} s"
        assert sent_texts(emulator, 5101) == ["first", "second"]

    def test_the_backlog_moves_within_five_seconds_of_the_database_returning(
        self, emulator, bot_token, agent
    ):
        sessions = [open_session(emulator, agent, 5200 + n) for n in range(5)]
        with CuttableProxy("127.0.0.1", int(connection.settings_dict["PORT"] or 3306)) as proxy:
            worker = deliver(emulator, bot_token, mariadb_url(proxy.port))
            try:
                chat_send(session=sessions[0], agent=agent, text="before")
                wait_until(lambda: sent_texts(emulator, 5200) == ["before"], timeout=15)

                proxy.cut()
                replies = [
                    chat_send(session=session, agent=agent, text=f"during {n}")
                    for n, session in enumerate(sessions)
                ]
                time.sleep(20)  # a 30 s backoff cap would be mid-way through a 16 s wait
                assert emulator.requests("sendMessage") == 1
                proxy.restore()
                restored_at = time.monotonic()

                wait_until(
                    lambda: (
                        Chat.objects.filter(
                            pk__in=[r.pk for r in replies], delivery_status=Status.SENT
                        ).count()
                        == len(replies)
                    ),
                    timeout=30,
                )
                resumed_after = time.monotonic() - restored_at
            finally:
                worker.send_signal(signal.SIGTERM)
                output = finish(worker)
        assert resumed_after < 5, f"resumed {resumed_after:.1f} s after the database returned"
        for n in range(5):
            expected = ["before", "during 0"] if n == 0 else [f"during {n}"]
            assert sent_texts(emulator, 5200 + n) == expected, output


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("redis_layer")
class TestAcrossProcesses:
    redis_url = f"redis://{REDIS_HOST}:{REDIS_PORT}/13"

    def workers(self, emulator, bot_token, count: int, **environment: str):
        database = mariadb_url()
        return [
            deliver(emulator, bot_token, database, REDIS_URL=self.redis_url, **environment)
            for _ in range(count)
        ]

    def test_a_reply_stored_in_another_process_leaves_at_once(self, emulator, bot_token, agent):
        session = open_session(emulator, agent, 5301)
        # The workers' own looks every minute would be far too late: only a wake helps.
        (worker,) = self.workers(emulator, bot_token, 1, DELIVERY_POLL_INTERVAL="60")
        try:
            time.sleep(1)  # the worker joins the deliveries group after its start line
            latencies = []
            for n in range(3):
                stored = time.monotonic()
                chat_send(session=session, agent=agent, text=f"at once {n}")
                wait_until(lambda n=n: len(emulator.sent(chat_id=5301)) == n + 1, timeout=10)
                latencies.append(time.monotonic() - stored)
                time.sleep(1.1)  # the chat's own pace
        finally:
            worker.send_signal(signal.SIGTERM)
            output = finish(worker)
        assert max(latencies) < 1, (latencies, output)

    def test_workers_together_stay_within_telegrams_limits(self, emulator, bot_token, agent):
        # 30 messages/s for the bot, one a second per chat, shared by both workers.
        sessions = [open_session(emulator, agent, 5400 + n) for n in range(60)]
        busy = open_session(emulator, agent, 5500)
        processes = self.workers(emulator, bot_token, 2)
        try:
            time.sleep(1)  # both idle and listening: they share what comes next
            for n in range(4):
                chat_send(session=busy, agent=agent, text=f"busy {n}")
            for round_ in range(2):
                for session in sessions:
                    chat_send(session=session, agent=agent, text=f"{round_}")
            wait_until(lambda: len(emulator.sent(method="sendMessage")) == 124, timeout=60)
            time.sleep(1)
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            outputs = [finish(process) for process in processes]
        assert emulator.rate_limited == 0, outputs
        assert len(emulator.sent(method="sendMessage")) == 124
        for session in sessions:
            assert sent_texts(emulator, int(session.client.telegram_id)) == ["0", "1"]
        busy_sends = emulator.sent(chat_id=5500)
        assert [r.text for r in busy_sends] == [f"busy {n}" for n in range(4)]
        gaps = [b.timestamp - a.timestamp for a, b in itertools.pairwise(busy_sends)]
        assert min(gaps) >= 1.0, gaps
        # Both took part: the limits held because they shared them, not by one idling.
        assert all("stopped after 0 sent" not in output for output in outputs), outputs
