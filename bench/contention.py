"""Every writer of the desk at once, on MariaDB: counts the deadlocks and lock timeouts.

Clients write and edit (some for the first time, so sessions open and are allocated), agents
reply, read, write notes that mention each other, transfer and end sessions, go
offline and online, admins block and unblock clients, and the delivery worker claims
and marks replies, each in its own thread and connection, for --seconds. Any
deadlock or lock wait timeout is a lock-order bug: the figure to watch is 0.

    python bench/contention.py [--seconds 30]
"""

import argparse
import random
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable

from common import fresh_database  # sets Django up on the benchmark database
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection

from accounts.models import User
from conversations.models import Client, Session
from conversations.services import (
    IncomingMessage,
    agent_presence_set,
    chat_edit_incoming,
    chat_mark_read,
    chat_record_incoming_many,
    chat_send,
    client_block,
    client_unblock,
    deliveries_claim,
    delivery_mark_sent,
    session_end,
    session_transfer,
)
from conversations.services.notes import note_add

AGENTS = 4
CLIENTS = 40
DEADLOCK, LOCK_WAIT_TIMEOUT = 1213, 1205


class Run:
    def __init__(self, seconds: float) -> None:
        self.until = time.monotonic() + seconds
        self.done: Counter = Counter()
        self.refused: Counter = Counter()
        self.failed: Counter = Counter()
        self.first_failure: dict[str, str] = {}
        self.message_ids = iter(range(1, 10**9))
        self.lock = threading.Lock()

    def next_message_id(self) -> int:
        with self.lock:
            return next(self.message_ids)

    def loop(self, name: str, step: Callable[[random.Random], object]) -> None:
        randomness = random.Random(name)
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION innodb_lock_wait_timeout = 5")
        try:
            while time.monotonic() < self.until:
                try:
                    step(randomness)
                    self.done[name] += 1
                except ValidationError:
                    self.refused[name] += 1  # ended meanwhile, offline target: the rules
                except OperationalError as error:
                    if error.args[0] not in (DEADLOCK, LOCK_WAIT_TIMEOUT):
                        raise
                    self.failed[name, error.args[0]] += 1
                    self.first_failure.setdefault(name, our_frames(error))
        finally:
            connection.close()


def our_frames(error: BaseException) -> str:
    """Where in the project's code the statement was: the library frames say nothing."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "site-packages" not in f.filename and "bench" not in f.filename]
    return "\n".join(f"  {f.filename}:{f.lineno} {f.name}: {f.line}" for f in ours)


def active_session(randomness: random.Random, **filters) -> Session | None:
    sessions = list(Session.objects.filter(status=Session.Status.ACTIVE, **filters)[:50])
    return randomness.choice(sessions) if sessions else None


class Desk:
    """The writers: each step is one thing somebody at the desk does."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.agents = [
            User.objects.create_user(f"cs{n}@bench.test", f"Agent {n}", "pw", role=User.Role.CS)
            for n in range(1, AGENTS + 1)
        ]
        self.admin = User.objects.create_user("admin@bench.test", "Admin", "pw", role="ADMIN")
        for agent in self.agents:
            agent_presence_set(agent=agent, online=True)

    def clients_write(self, randomness: random.Random) -> None:
        """A batch of three clients' messages; now and then one edits its last."""
        written = [
            IncomingMessage(
                telegram_id=str(telegram_id),
                name=f"Client {telegram_id}",
                username=None,
                telegram_message_id=self.run.next_message_id(),
                message_type="text",
                text="Hello",
            )
            for telegram_id in randomness.sample(range(1, CLIENTS + 1), 3)
        ]
        chat_record_incoming_many(incomings=written)
        if randomness.random() < 0.2:
            last = written[0]
            chat_edit_incoming(
                telegram_id=last.telegram_id,
                telegram_message_id=last.telegram_message_id,
                text="Hello again",
            )

    def agent_works(self, agent: User) -> Callable[[random.Random], None]:
        def step(randomness: random.Random) -> None:
            session = active_session(randomness, cs=agent)
            if session is None:
                time.sleep(0.01)
                return
            action = randomness.random()
            if action < 0.4:
                chat_send(session=session, agent=agent, text="On it")
            elif action < 0.7:
                chat_mark_read(session=session)
            elif action < 0.85:
                other = randomness.choice([a for a in self.agents if a != agent])
                note_add(session=session, author=agent, text=f"@{other.email} look")
            elif action < 0.95:
                session_transfer(session=session, to_agent=randomness.choice(self.agents))
            else:
                session_end(session=session)

        return step

    def presence(self, randomness: random.Random) -> None:
        agent = randomness.choice(self.agents)
        agent_presence_set(agent=agent, online=False)
        time.sleep(0.05)
        agent_presence_set(agent=agent, online=True)

    def moderation(self, randomness: random.Random) -> None:
        client = Client.objects.filter(telegram_id=str(randomness.randint(1, CLIENTS))).first()
        if client is not None:
            client_block(client=client, by=self.admin, reason="bench")
            client_unblock(client=client, by=self.admin)
        time.sleep(0.05)

    def delivery(self, randomness: random.Random) -> None:
        claimed = deliveries_claim(limit=20)
        for reply in claimed:
            delivery_mark_sent(
                chat_id=reply.chat_id, telegram_message_id=self.run.next_message_id()
            )
        if not claimed:
            time.sleep(0.01)

    def workers(self) -> dict[str, Callable[[random.Random], object]]:
        workers = {"clients write 1": self.clients_write, "clients write 2": self.clients_write}
        workers |= {f"agent {n} works": self.agent_works(a) for n, a in enumerate(self.agents, 1)}
        return workers | {
            "presence": self.presence,
            "moderation": self.moderation,
            "delivery": self.delivery,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    seconds = parser.parse_args().seconds
    fresh_database()
    run = Run(seconds)
    workers = Desk(run).workers()
    threads = [threading.Thread(target=run.loop, args=item) for item in workers.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    print(f"{seconds:.0f} s, {len(threads)} writers at once on MariaDB")
    for name in workers:
        deadlocks, timeouts = run.failed[name, DEADLOCK], run.failed[name, LOCK_WAIT_TIMEOUT]
        print(
            f"  {name:16} {run.done[name]:6} done  {run.refused[name]:5} refused"
            f"  {deadlocks:3} deadlocks  {timeouts:3} lock timeouts"
        )
    for code, label in ((DEADLOCK, "deadlocks"), (LOCK_WAIT_TIMEOUT, "lock wait timeouts")):
        print(f"{label}: {sum(n for (_, failed), n in run.failed.items() if failed == code)}")
    for name, where in run.first_failure.items():
        print(f"\nfirst failure of {name}:\n{where}")


if __name__ == "__main__":
    main()
