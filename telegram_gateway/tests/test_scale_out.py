"""Scale-out proof (issue 16, requirement 3): webhook mode on two daphne processes and two
`manage.py deliver` workers, all started from deploy/Procfile, on MariaDB and Redis.

Telegram's webhook points at a small round-robin front standing in for nginx, so updates
reach both daphne processes alternately. Each agent's console is on a different process;
what either process stores reaches both consoles live, and 500 replies posted to both
processes leave through both workers exactly once, in order, within Telegram's limits.
"""

import asyncio
import itertools
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import aiohttp
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client as BrowserClient

from accounts.models import User
from conversations.models import Chat, Session
from conversations.tests.test_console_redis import REDIS_HOST, REDIS_PORT, redis_layer  # noqa: F401
from helpdesk.tests.processes import BASE_DIR, free_port, mariadb_url
from telegram_gateway.tests.conftest import wait_until

PROCFILE = BASE_DIR / "deploy" / "Procfile"
WEBHOOK_PATH = "/telegram/webhook/"
SECRET = "scale-out_webhook-secret"
PASSWORD = "not-a-seed-password-1"  # DEBUG off: a seed password refuses the start
CLIENTS = range(9100, 9150)  # 50 chats
REPLIES_PER_CHAT = 10
# Five Django processes start at once: on a busy two-core machine that took a minute.
START_TIMEOUT = 180


def procfile_commands() -> dict[str, str]:
    commands = {}
    for line in PROCFILE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            commands[name.strip()] = command.strip()
    return commands


def procfile_argv(command: str, port: int | None = None) -> list[str]:
    """The Procfile's command as this test environment's virtualenv runs it."""
    argv = shlex.split(command.replace("$PORT", str(port)))
    if argv[0] == "python":
        argv[0] = sys.executable
    elif argv[0] == "daphne":
        argv[0] = str(Path(sys.executable).with_name("daphne"))
    return argv


class RoundRobinFront:
    """What nginx does in front of the web processes: each POST goes to the next one.

    Records which process answered each update 2xx (the emulator delivers one update at
    a time, retrying a failed one, so consecutive updates land on different processes).
    """

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.turns = itertools.cycle(range(len(ports)))
        self.stored_on: dict[int, int] = {}  # update_id → port
        self.lock = threading.Lock()
        front = self

        class Forward(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with front.lock:
                    port = front.ports[next(front.turns)]
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}{self.path}",
                    data=body,
                    headers=dict(self.headers.items()),
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        status, payload = answer.status, answer.read()
                except urllib.error.HTTPError as error:
                    status, payload = error.code, error.read()
                if 200 <= status < 300:
                    with front.lock:
                        front.stored_on[json.loads(body)["update_id"]] = port
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "RoundRobinFront":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class ConsoleSocket:
    """An agent's console websocket on one daphne process, collecting the events pushed."""

    def __init__(self, port: int, agent: User) -> None:
        browser = BrowserClient()
        browser.force_login(agent)  # the session row is in the shared database
        self.cookie = (
            f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
        )
        self.port = port
        self.events: list[dict] = []
        self.connected = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._listen()), daemon=True)

    async def _listen(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.closing = asyncio.Event()
        origin = f"http://127.0.0.1:{self.port}"
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(
                    f"ws://127.0.0.1:{self.port}/ws/console/",
                    headers={"Cookie": self.cookie, "Origin": origin},
                ) as socket,
            ):
                self.connected.set()
                reading = asyncio.ensure_future(self._read(socket))
                await self.closing.wait()
                reading.cancel()
        except BaseException as error:
            self.error = error
            self.connected.set()

    async def _read(self, socket) -> None:
        async for message in socket:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.events.extend(json.loads(message.data)["events"])

    def __enter__(self) -> "ConsoleSocket":
        self.thread.start()
        self.connected.wait(15)
        assert self.error is None, f"console on port {self.port}: {self.error!r}"
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.closing.set)
        self.thread.join(10)

    def got(self, kind: str, **fields: object) -> bool:
        return any(
            event["kind"] == kind and all(event.get(k) == v for k, v in fields.items())
            for event in list(self.events)
        )


class Processes:
    """The Procfile's processes, each logging to a file (a full pipe would block it)."""

    def __init__(self, log_dir: Path, environment: dict[str, str]) -> None:
        self.log_dir, self.environment = log_dir, environment
        self.running: list[tuple[str, subprocess.Popen, Path]] = []

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                argv, cwd=BASE_DIR, env=self.environment, stdout=log, stderr=subprocess.STDOUT
            )
        self.running.append((name, process, log_path))
        return process

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text()

    def logs(self) -> str:
        return "\n".join(
            f"===== {name} =====\n{path.read_text()}" for name, _, path in self.running
        )

    def stop(self) -> None:
        for _, process, _ in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process, _ in self.running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def api(port: int, path: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/{path}", data=json.dumps(body).encode(), headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as error:
        raise AssertionError(f"POST {path} on {port}: {error.code} {error.read()!r}") from None


def api_login(port: int, agent: User) -> str:
    return api(port, "auth/login/", {"email": agent.email, "password": PASSWORD})["access"]


def client_chat(telegram_id: int, text: str) -> Chat | None:
    return Chat.objects.filter(
        session__client__telegram_id=str(telegram_id),
        sender_type=Chat.SenderType.CLIENT,
        message=text,
    ).first()


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("redis_layer")
def test_two_web_processes_and_two_workers_act_as_one_desk(
    emulator, bot_token, make_user, settings, tmp_path
):
    agents = [make_user(f"cs{n}@helpdesk.com", name=f"CS {n}", password=PASSWORD) for n in (1, 2)]
    User.objects.filter(pk__in=[a.pk for a in agents]).update(status_online=True)
    for telegram_id in (9001, 9002, *CLIENTS):
        emulator.add_user(telegram_id, f"Client {telegram_id}")
    environment = {
        **os.environ,
        "ENV_FILE": "/dev/null",
        # The test's own key: its logins (force_login) must hold in the processes.
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": mariadb_url(),
        "REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/13",
        "TELEGRAM_BOT_TOKEN": bot_token,
        "TELEGRAM_API_BASE": emulator.base_url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
    }
    for production_default in ("DEBUG", "ALLOW_SEED_PASSWORDS", "TELEGRAM_POLL_TIMEOUT"):
        environment.pop(production_default, None)
    procfile = procfile_commands()
    ports = [free_port(), free_port()]
    processes = Processes(tmp_path, environment)
    settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_API_BASE = bot_token, emulator.base_url
    settings.TELEGRAM_WEBHOOK_SECRET = SECRET
    try:
        with RoundRobinFront(ports) as front:
            call_command("setwebhook", front.url + WEBHOOK_PATH)
            assert emulator.webhook_info()["url"] == front.url + WEBHOOK_PATH
            # As today: polling refuses while the webhook is registered.
            polling = processes.start("runbot", [sys.executable, "manage.py", "runbot"])
            for n, port in enumerate(ports, 1):
                processes.start(f"web{n}", procfile_argv(procfile["web"], port))
            for n in (1, 2):
                processes.start(f"deliver{n}", procfile_argv(procfile["deliver"]))
            assert polling.wait(timeout=START_TIMEOUT) == 1, processes.log("runbot")
            assert "setwebhook --delete" in processes.log("runbot")
            run_the_desk(emulator, agents, ports, front, processes)
    except BaseException:
        processes.stop()
        print(processes.logs())
        raise
    processes.stop()
    outputs = processes.logs()
    # Both workers took part: the limits held because they shared them.
    stopped = [re.search(r"stopped after (\d+) sent", processes.log(f"deliver{n}")) for n in (1, 2)]
    assert all(stopped) and min(int(line.group(1)) for line in stopped) > 0, outputs
    assert emulator.rate_limited == 0, outputs
    assert "Traceback" not in outputs, outputs


def run_the_desk(emulator, agents, ports, front, processes) -> None:
    wait_until(lambda: all(healthy(port) for port in ports), timeout=START_TIMEOUT)
    wait_until(
        lambda: all("delivering replies" in processes.log(f"deliver{n}") for n in (1, 2)),
        timeout=START_TIMEOUT,
    )
    consoles = [ConsoleSocket(port, agent) for port, agent in zip(ports, agents, strict=True)]
    with consoles[0], consoles[1]:
        console_of = {agent.pk: console for agent, console in zip(agents, consoles, strict=True)}
        # Two clients: least-workload assignment gives each agent one.
        sessions = {}
        for telegram_id in (9001, 9002):
            emulator.inject_message(telegram_id, "hello")
            sessions[telegram_id] = wait_until(
                lambda t=telegram_id: Session.objects.filter(client__telegram_id=str(t)).first(),
                timeout=15,
            )
        assert {s.cs_id for s in sessions.values()} == {a.pk for a in agents}

        # Two messages from each client, back to back: one lands on each process. Each
        # reaches the client's agent, whichever process holds the agent's console.
        crossings = set()
        for telegram_id, session in sessions.items():
            console = console_of[session.cs_id]
            for text in ("first follow-up", "second follow-up"):
                update = emulator.inject_message(telegram_id, text)
                chat = wait_until(lambda t=telegram_id, x=text: client_chat(t, x), timeout=15)
                wait_until(lambda c=chat, s=console: s.got("chat", chat_id=c.pk), timeout=10)
                wait_until(lambda u=update: u["update_id"] in front.stored_on, timeout=5)
                crossings.add((front.stored_on[update["update_id"]], console.port))
        assert crossings == {(a, b) for a in ports for b in ports}, crossings

        # A transfer over HTTP on process 1, to the agent whose console is on process 2.
        giver, taker = agents
        (given,) = (s for s in sessions.values() if s.cs_id == giver.pk)
        token = api_login(ports[0], giver)
        api(ports[0], f"sessions/{given.pk}/transfer/", {"cs_id": taker.pk}, token)
        wait_until(
            lambda: consoles[1].got("session", session_id=given.pk, cs_id=taker.pk), timeout=10
        )
        wait_until(lambda: consoles[0].got("session_gone", session_id=given.pk), timeout=10)

        send_500_replies(emulator, agents, ports)


def send_500_replies(emulator, agents, ports) -> None:
    for telegram_id in CLIENTS:
        emulator.inject_message(telegram_id, "question")
    wait_until(
        lambda: Session.objects.filter(client__telegram_id__in=map(str, CLIENTS)).count() == 50,
        timeout=60,
    )
    chats = Session.objects.filter(client__telegram_id__in=map(str, CLIENTS))
    tokens = {agent.pk: api_login(port, agent) for agent, port in zip(agents, ports, strict=True)}
    targets = [(int(s.client.telegram_id), s.pk, s.cs_id) for s in chats.select_related("client")]
    assert {cs for *_, cs in targets} == set(tokens), "each agent answers some of the chats"
    posts = itertools.count()

    def reply(telegram_id: int, session_id: str, agent_id: str, n: int) -> str:
        port = ports[next(posts) % 2]  # alternately, as nginx would
        body = {"message": f"reply {n} to {telegram_id}"}
        return api(port, f"sessions/{session_id}/chats/", body, tokens[agent_id])["id"]

    reply_ids = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        for n in range(REPLIES_PER_CHAT):  # a round ends before the next: order per chat
            reply_ids += pool.map(lambda target, n=n: reply(*target, n), targets)
    assert len(reply_ids) == 500
    sent = Chat.objects.filter(pk__in=reply_ids, delivery_status=Chat.DeliveryStatus.SENT)
    wait_until(lambda: sent.count() == 500, timeout=90)
    for telegram_id in CLIENTS:
        replies = [
            record.text
            for record in emulator.sent(chat_id=telegram_id, method="sendMessage")
            if record.text.startswith("reply ")
        ]
        assert replies == [f"reply {n} to {telegram_id}" for n in range(REPLIES_PER_CHAT)]
