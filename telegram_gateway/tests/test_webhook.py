"""Webhook mode: `setwebhook` registers it at the emulator, which delivers to our endpoint."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from accounts.models import User
from conversations.models import Chat
from telegram_gateway.tests.conftest import wait_until
from telegram_gateway.views import SECRET_HEADER, runtime_bot

SECRET = "s3cret_webhook-token"
ANN = 8001
URL = "/telegram/webhook/"


@pytest.fixture
def webhook_settings(settings, emulator, bot_token):
    settings.TELEGRAM_BOT_TOKEN = bot_token
    settings.TELEGRAM_API_BASE = emulator.base_url
    settings.TELEGRAM_WEBHOOK_SECRET = SECRET
    emulator.add_user(ANN, "Ann", language_code="en")
    runtime_bot.instances.clear()
    yield settings
    runtime_bot.instances.clear()


def post(client, update: dict | str, secret: str | None = SECRET):
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    body = update if isinstance(update, str) else json.dumps(update)
    return client.post(URL, body, content_type="application/json", headers=headers)


@pytest.mark.django_db(transaction=True)
class TestWebhookEndpoint:
    @pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x"])
    def test_a_wrong_or_missing_secret_is_refused_before_the_database(
        self, client, webhook_settings, emulator, django_assert_num_queries, secret
    ):
        update = emulator.inject_message(ANN, "hello")
        with django_assert_num_queries(0):
            response = post(client, update, secret=secret)
        assert response.status_code == 403
        assert Chat.objects.count() == 0

    def test_without_a_configured_secret_every_call_is_refused(
        self, client, webhook_settings, emulator
    ):
        webhook_settings.TELEGRAM_WEBHOOK_SECRET = ""
        response = post(client, emulator.inject_message(ANN, "hello"), secret="")
        assert response.status_code == 403

    def test_a_good_update_is_stored_before_the_answer(
        self, client, webhook_settings, emulator, start_worker
    ):
        response = post(client, emulator.inject_message(ANN, "via webhook"))

        assert response.status_code == 200
        assert Chat.objects.get(is_notice=False).message == "via webhook"
        # The same dispatcher and services as polling: the queue notice is stored with
        # the message, and the delivery worker (`manage.py deliver`) sends it.
        notice = Chat.objects.get(is_notice=True)
        assert "queue" in notice.message
        assert notice.delivery_status == Chat.DeliveryStatus.PENDING
        assert emulator.sent(chat_id=ANN) == []
        start_worker()
        assert emulator.wait_for_sent(chat_id=ANN)[0].text == notice.message

    @pytest.mark.parametrize("body", ["not json", "[]", '{"update_id": "x", "message": 5}'])
    def test_a_malformed_body_is_a_400(self, client, webhook_settings, body):
        assert post(client, body).status_code == 400
        assert Chat.objects.count() == 0

    def test_only_post_is_allowed(self, client, webhook_settings):
        assert client.get(URL, headers={SECRET_HEADER: SECRET}).status_code == 405

    @pytest.mark.mariadb
    def test_a_database_outage_answers_503_so_telegram_retries(
        self, client, webhook_settings, emulator
    ):
        update = emulator.inject_message(ANN, "during the outage")
        database = connections.settings["default"]
        port = database["PORT"]
        database["PORT"] = "9"  # nothing listens there: new connections fail
        try:
            response = post(client, update)
        finally:
            database["PORT"] = port
        assert response.status_code == 503

        assert post(client, update).status_code == 200
        assert Chat.objects.get(is_notice=False).message == "during the outage"


@pytest.mark.django_db(transaction=True)
class TestSetWebhook:
    def test_it_registers_the_url_and_telegram_delivers_there(
        self, live_server, webhook_settings, emulator, make_user
    ):
        agent = make_user("cs1@helpdesk.com")
        User.objects.filter(pk=agent.pk).update(status_online=True)

        call_command("setwebhook", live_server.url + URL)

        assert emulator.webhook_info()["url"] == live_server.url + URL
        emulator.inject_message(ANN, "delivered by webhook")
        chat = wait_until(lambda: Chat.objects.filter(is_notice=False).first())
        assert chat.message == "delivered by webhook"
        assert chat.session.cs == agent
        wait_until(lambda: emulator.webhook_info()["pending_update_count"] == 0)

        call_command("setwebhook", delete=True)
        assert emulator.webhook_info()["url"] == ""

    def test_it_refuses_without_a_secret(self, webhook_settings):
        webhook_settings.TELEGRAM_WEBHOOK_SECRET = ""
        with pytest.raises(CommandError, match="TELEGRAM_WEBHOOK_SECRET"):
            call_command("setwebhook", "https://desk.example.com/telegram/webhook/")
