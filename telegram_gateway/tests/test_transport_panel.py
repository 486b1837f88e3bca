"""The transport panel and its top-bar warning (issue 16, requirement 2)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from conversations.models import Chat, Client, Session
from telegram_gateway.models import DeliveryFailure, TransportStatus
from telegram_gateway.status import transport_seen, webhook_info_record
from telegram_gateway.tests.conftest import BotThread, wait_until
from telegram_gateway.tests.test_webhook import (
    ANN,
    SECRET,
    URL,
    webhook_settings,  # noqa: F401 (a fixture)
)
from telegram_gateway.views import runtime_bot

PANEL = reverse("transport:panel")
ALERTS = reverse("transport:alerts")
WEBHOOK = reverse("transport:webhook")


@pytest.fixture
def people(make_user):
    return {
        "admin": make_user("admin@helpdesk.com", role=User.Role.ADMIN),
        "cs": make_user("cs1@helpdesk.com"),
        "other cs": make_user("cs2@helpdesk.com"),
    }


def signed_in(client, people, who: str):
    if who != "anonymous":
        client.force_login(people[who])
    return client


@pytest.fixture
def bot_configured(settings):
    settings.TELEGRAM_BOT_TOKEN = "123:test-token"


def fine_now() -> None:
    """A desk where everything flows: Telegram answered a moment ago."""
    transport_seen(api_success_at=timezone.now(), update_at=timezone.now())


def pending_reply(agent, *, age: timedelta) -> Chat:
    client = Client.objects.create(telegram_id="4242", name="Ann")
    session = Session.objects.create(client=client, cs=agent)
    return Chat.objects.create(
        session=session,
        sender_type=Chat.SenderType.CS,
        message="waiting",
        delivery_status=Chat.DeliveryStatus.PENDING,
        created_at=timezone.now() - age,
        next_attempt_at=timezone.now(),
    )


@pytest.mark.django_db
class TestWhoMaySee:
    @pytest.mark.parametrize(
        ("who", "status"), [("anonymous", 302), ("cs", 403), ("other cs", 403), ("admin", 200)]
    )
    def test_the_panel(self, client, people, who, status):
        response = signed_in(client, people, who).get(PANEL)
        assert response.status_code == status
        if who == "anonymous":
            assert response["Location"].startswith(reverse("login"))

    @pytest.mark.parametrize(
        ("who", "status"), [("anonymous", 401), ("cs", 403), ("other cs", 403), ("admin", 200)]
    )
    def test_the_top_bar_warning(self, client, people, who, status):
        # 401, not a login page: htmx would swap a login page into the top bar.
        assert signed_in(client, people, who).get(ALERTS).status_code == status

    @pytest.mark.parametrize(
        ("who", "status"), [("anonymous", 302), ("cs", 403), ("other cs", 403)]
    )
    def test_the_webhook_button(self, client, people, bot_configured, who, status):
        response = signed_in(client, people, who).post(WEBHOOK)
        assert response.status_code == status
        assert TransportStatus.objects.filter(webhook_checked_at__isnull=False).count() == 0

    def test_only_an_admins_pages_fetch_the_warning(self, client, people):
        assert (
            b'id="transport-alerts"' in signed_in(client, people, "admin").get("/console/").content
        )
        client.logout()
        assert (
            b'id="transport-alerts"' not in signed_in(client, people, "cs").get("/console/").content
        )


@pytest.mark.django_db
class TestWarnings:
    def warning(self, client, people) -> str:
        response = signed_in(client, people, "admin").get(ALERTS)
        return response.content.decode()

    def test_none_when_everything_flows(self, client, people, bot_configured):
        fine_now()
        assert "Telegram: flowing" in self.warning(client, people)
        assert "transport-alert" not in self.warning(client, people)

    def test_none_without_telegram(self, client, people):
        pending_reply(people["cs"], age=timedelta(minutes=5))  # the sandbox: no bot
        assert self.warning(client, people).strip() == ""

    def test_a_reply_waiting_over_a_minute(self, client, people, bot_configured):
        fine_now()
        pending_reply(people["cs"], age=timedelta(seconds=50))
        assert "transport-alert" not in self.warning(client, people)
        Chat.objects.update(created_at=timezone.now() - timedelta(seconds=70))
        assert "Replies are not leaving" in self.warning(client, people)

    def test_webhook_errors_in_the_last_ten_minutes(self, client, people, bot_configured):
        fine_now()
        record = {"url": "https://desk.example.com" + URL, "pending_update_count": 0}
        message = "Wrong response from the webhook: 403 Forbidden"
        webhook_info_record(
            **record,
            last_error_at=timezone.now() - timedelta(minutes=11),
            last_error_message=message,
        )
        assert "transport-alert" not in self.warning(client, people)
        webhook_info_record(
            **record,
            last_error_at=timezone.now() - timedelta(minutes=2),
            last_error_message=message,
        )
        assert "403 Forbidden" in self.warning(client, people)

    def test_updates_piling_up_at_telegram(self, client, people, bot_configured):
        fine_now()
        for count in (3, 3):
            webhook_info_record(
                url="", pending_update_count=count, last_error_at=None, last_error_message=""
            )
        assert "transport-alert" not in self.warning(client, people)
        webhook_info_record(
            url="", pending_update_count=9, last_error_at=None, last_error_message=""
        )
        assert "9 waiting" in self.warning(client, people)

    def test_no_successful_bot_api_call_for_five_minutes(self, client, people, bot_configured):
        transport_seen(api_success_at=timezone.now() - timedelta(minutes=6))
        assert "No call to Telegram has worked" in self.warning(client, people)
        fine_now()
        assert "transport-alert" not in self.warning(client, people)


@pytest.mark.django_db
class TestPanel:
    def test_it_shows_the_traffic_backlog_and_failures_of_the_last_hour(
        self, client, people, bot_configured
    ):
        fine_now()
        webhook_info_record(
            url="https://desk.example.com" + URL,
            pending_update_count=4,
            last_error_at=None,
            last_error_message="",
        )
        pending_reply(people["cs"], age=timedelta(seconds=5))
        now = timezone.now()
        DeliveryFailure.objects.bulk_create(
            [
                DeliveryFailure(at=now, reason="rate_limited", permanent=False),
                DeliveryFailure(at=now, reason="rate_limited", permanent=False),
                DeliveryFailure(at=now, reason="blocked", permanent=True),
                DeliveryFailure(
                    at=now - timedelta(hours=2), reason="server_error", permanent=False
                ),
            ]
        )
        page = signed_in(client, people, "admin").get(PANEL).content.decode()
        assert "Webhook" in page.split('id="transport-mode">')[1][:20]
        assert 'id="transport-pending">4<' in page
        assert 'id="transport-backlog">1' in page
        failures = page.split('id="transport-failures"')[1]
        assert (
            '<tr data-reason="blocked"><th scope="row">blocked</th><td>1</td><td>0</td>' in failures
        )
        assert '<th scope="row">rate_limited</th><td>0</td><td>2</td>' in failures
        assert "server_error" not in failures  # two hours ago

    def test_its_queries_do_not_grow_with_traffic(
        self, client, people, bot_configured, django_assert_max_num_queries
    ):
        signed_in(client, people, "admin")
        pending_reply(people["cs"], age=timedelta(minutes=3))
        DeliveryFailure.objects.bulk_create(
            DeliveryFailure(at=timezone.now(), reason=f"reason{n % 5}", permanent=n % 2 == 0)
            for n in range(30)
        )
        with django_assert_max_num_queries(8):
            assert client.get(PANEL).status_code == 200
        with django_assert_max_num_queries(6):
            assert client.get(ALERTS).status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("webhook_settings")
class TestAgainstTelegram:
    def test_the_bots_processes_report_telegrams_side_and_the_button_mends_the_webhook(
        self,
        client,
        people,
        live_server,
        settings,
        emulator,
        bot_token,
    ):
        User.objects.filter(pk=people["cs"].pk).update(status_online=True)
        settings.TELEGRAM_WEBHOOK_URL = live_server.url + URL
        signed_in(client, people, "admin")
        assert client.post(WEBHOOK).status_code == 302
        assert emulator.webhook_info()["url"] == live_server.url + URL

        # The secret changes on our side only: Telegram's calls are now refused.
        settings.TELEGRAM_WEBHOOK_SECRET = SECRET + "-rotated"
        emulator.inject_message(ANN, "refused at the door")
        wait_until(lambda: emulator.webhook_info().get("last_error_message"), timeout=10)

        # A minute after the button's own check, a bot process asks Telegram again.
        TransportStatus.objects.update(webhook_checked_at=timezone.now() - timedelta(minutes=1))
        worker = BotThread(emulator.base_url, bot_token, poll=False).start()
        try:
            wait_until(lambda: TransportStatus.objects.filter(last_error_at__isnull=False), 10)
        finally:
            worker.stop()
        warning = client.get(ALERTS).content.decode()
        assert "Telegram cannot deliver to the webhook" in warning
        assert "403" in warning

        # The button registers it again with the secret we now expect: updates flow.
        runtime_bot.instances.clear()
        response = client.post(WEBHOOK, follow=True)
        assert "registered again" in response.content.decode()
        wait_until(lambda: Chat.objects.filter(message="refused at the door").exists(), 30)
        wait_until(lambda: emulator.webhook_info()["pending_update_count"] == 0)


@pytest.mark.django_db
class TestTheButton:
    def test_it_is_offered_in_webhook_mode_only(self, client, people, bot_configured, settings):
        signed_in(client, people, "admin")
        button = "Register the webhook again"
        assert button not in client.get(PANEL).content.decode()  # polling: it would stop runbot
        webhook_info_record(
            url="https://desk.example.com" + URL,
            pending_update_count=0,
            last_error_at=None,
            last_error_message="",
        )
        assert button in client.get(PANEL).content.decode()
        TransportStatus.objects.update(webhook_url="")
        settings.TELEGRAM_WEBHOOK_URL = "https://desk.example.com" + URL
        assert button in client.get(PANEL).content.decode()

    def test_without_an_address_it_says_what_to_set(self, client, people, settings):
        settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_WEBHOOK_SECRET = "123:abc", SECRET
        response = signed_in(client, people, "admin").post(WEBHOOK, follow=True)
        assert "No webhook address is known: set TELEGRAM_WEBHOOK_URL." in response.content.decode()
