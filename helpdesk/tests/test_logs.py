"""The console log as operators read it: JSON lines when asked, request ids, no bot token."""

import io
import json
import logging
import os
import urllib.error
import urllib.request

import pytest

from helpdesk.logs import logging_config, redact
from helpdesk.tests.processes import serve_running
from telegram_emulator.pytest_fixtures import BOT_TOKEN, bot_token, emulator  # noqa: F401

SECRET = "s3cret_webhook-token"
ANN = 8001


def json_lines(stderr: str) -> list[dict]:
    """Every line of `stderr` as a JSON object; fails on the first line that is not one."""
    records = []
    for line in stderr.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}\n\n{stderr}")
        assert isinstance(record, dict), line
        records.append(record)
    return records


def logger_writing_to(stream: io.StringIO, log_format: str) -> logging.Logger:
    """A logger set up exactly as settings.LOGGING sets up the console, writing to `stream`."""
    config = logging_config(level="INFO", log_format=log_format)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(config["formatters"]["console"]["()"]())
    handler.addFilter(config["filters"]["context"]["()"]())
    logger = logging.getLogger(f"helpdesk.tests.logs.{log_format}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


class TestTheTokenIsNeverLogged:
    URL = f"https://api.telegram.org/bot{BOT_TOKEN}/getMe"

    @pytest.mark.parametrize("log_format", ["plain", "json"])
    def test_not_in_messages_arguments_or_tracebacks(self, settings, log_format):
        settings.TELEGRAM_BOT_TOKEN = BOT_TOKEN
        stream = io.StringIO()
        logger = logger_writing_to(stream, log_format)

        logger.warning(f"calling {self.URL}")
        logger.warning("calling %s with %r", self.URL, {"token": BOT_TOKEN})
        try:
            raise ConnectionError(f"Cannot connect to {self.URL.replace(':', '%3A')}")
        except ConnectionError:
            logger.exception("the bot could not run")

        output = stream.getvalue()
        assert "getMe" in output
        assert "ConnectionError: Cannot connect to" in output
        assert BOT_TOKEN not in output
        assert "TEST-TOKEN" not in output

    def test_a_token_shaped_secret_is_hidden_even_when_not_the_configured_one(self):
        other = "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
        assert redact(f"/file/bot{other}/photos/1.jpg") == "/file/bot<redacted>/photos/1.jpg"
        assert redact(f"token {other} leaked") == "token <redacted> leaked"
        assert redact("update 123456 is 1:2") == "update 123456 is 1:2"


def _request(url: str, *, headers: dict | None = None, data: bytes | None = None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def _up(base: str) -> bool:
    try:
        return _request(base + "/healthz")[0] == 200
    except OSError:
        return False


def webhook_update(update_id: int, text: str) -> bytes:
    person = {"id": ANN, "is_bot": False, "first_name": "Ann"}
    message = {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": ANN, "type": "private", "first_name": "Ann"},
        "from": person,
        "text": text,
    }
    return json.dumps({"update_id": update_id, "message": message}).encode()


@pytest.fixture
def web_env(emulator, bot_token):  # noqa: F811
    env = {
        **os.environ,
        "ENV_FILE": "/dev/null",
        "DEBUG": "false",
        "SECRET_KEY": "a-production-like-key-long-enough-for-hs256-tokens",
        "ALLOWED_HOSTS": "127.0.0.1",
        # Gone: the webhook's update cannot be stored, so Telegram is asked to retry.
        "DATABASE_URL": "sqlite:////nonexistent/helpdesk.sqlite3",
        "ALLOW_SEED_PASSWORDS": "true",
        "TELEGRAM_BOT_TOKEN": bot_token,
        "TELEGRAM_API_BASE": emulator.base_url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_POLL_TIMEOUT": "1",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("REDIS_URL", "SANDBOX", "CSRF_TRUSTED_ORIGINS", "LOG_FORMAT", "LOG_LEVEL"):
        env.pop(name, None)
    return env


class TestTheWebProcess:
    def _exercise(self, base: str) -> dict:
        """What an operator's log should explain: a proxy's request id, a stray URL with
        the token, a malformed update quoting it, an update during a database outage."""
        answers = {}
        status, headers = _request(
            f"{base}/bot{BOT_TOKEN}/getMe", headers={"X-Request-ID": "proxy-req-42"}
        )
        answers["proxied"] = (status, headers["X-Request-ID"])
        status, headers = _request(base + "/healthz", headers={"X-Request-ID": "two\twords"})
        answers["made up"] = (status, headers["X-Request-ID"])
        hook = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
        malformed = json.dumps({"update_id": 1, "message": f"see /bot{BOT_TOKEN}/getMe"})
        status, headers = _request(
            base + "/telegram/webhook/", headers=hook, data=malformed.encode()
        )
        answers["malformed"] = (status, headers["X-Request-ID"])
        status, headers = _request(
            base + "/telegram/webhook/", headers=hook, data=webhook_update(500_001, "hello")
        )
        answers["outage"] = (status, headers["X-Request-ID"])
        return answers

    def test_json_lines_carry_the_request_and_update_ids_and_never_the_token(
        self, web_env, tmp_path
    ):
        # DEBUG: every library's lines too, and aiogram's per-update ones.
        env = {**web_env, "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}
        with serve_running(env, tmp_path / "stderr.log", _up, stderr_only=True) as base:
            answers = self._exercise(base)
        stderr = (tmp_path / "stderr.log").read_text()
        records = json_lines(stderr)

        assert answers["proxied"] == (404, "proxy-req-42")
        status, made_up = answers["made up"]
        assert status == 200
        assert len(made_up) == 32
        assert answers["malformed"][0] == 400
        outage_status, outage_request = answers["outage"]
        assert outage_status == 503

        not_found = [r for r in records if r["message"].startswith("Not Found: /bot")]
        assert [r["request_id"] for r in not_found] == ["proxy-req-42"]
        refused = [r for r in records if r["message"].startswith("malformed webhook update")]
        assert [r["request_id"] for r in refused] == [answers["malformed"][1]]
        retried = [r for r in records if "database unavailable for update 500001" in r["message"]]
        assert [(r["request_id"], r["update_id"]) for r in retried] == [(outage_request, 500_001)]
        assert "not handled" not in stderr
        assert BOT_TOKEN not in stderr

    def test_plain_lines_never_show_the_token_either(self, web_env, tmp_path):
        with serve_running(web_env, tmp_path / "stderr.log", _up, stderr_only=True) as base:
            self._exercise(base)
        stderr = (tmp_path / "stderr.log").read_text()

        assert "Not Found: /bot<redacted>/getMe" in stderr
        assert "[request_id=proxy-req-42]" in stderr
        assert "database unavailable for update 500001" in stderr
        assert BOT_TOKEN not in stderr
        assert "not handled" not in stderr
