import pytest
from django.test import override_settings

from telegram_gateway.checks import check_bot_token, check_webhook_secret


@pytest.mark.parametrize("secret", ["", "abc", "A-Z_09-" * 10, "x" * 256])
def test_valid_webhook_secrets_pass(secret):
    with override_settings(TELEGRAM_WEBHOOK_SECRET=secret):
        assert check_webhook_secret(None) == []


@pytest.mark.parametrize("secret", ["has space", "semi;colon", "x" * 257, "émoji"])
def test_a_secret_telegram_would_refuse_is_an_error(secret):
    with override_settings(TELEGRAM_WEBHOOK_SECRET=secret):
        assert [e.id for e in check_webhook_secret(None)] == ["telegram_gateway.E001"]


@pytest.mark.parametrize(
    ("token", "ids"),
    [
        ("", []),
        ("123456:ABC-def_1", []),
        ("not-a-token", ["telegram_gateway.E002"]),
        ("123456", ["telegram_gateway.E002"]),
    ],
)
def test_bot_token_shape(token, ids):
    with override_settings(TELEGRAM_BOT_TOKEN=token):
        assert [e.id for e in check_bot_token(None)] == ids
