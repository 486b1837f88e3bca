from django.db import models


class TransportStatus(models.Model):
    """What the gateway's processes last saw of Telegram: one row, written by all of them.

    The transport panel and its warnings read it; any web process can, whichever
    process (runbot, deliver, a daphne taking webhook calls) saw the event.
    """

    ROW = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=ROW)
    last_update_at = models.DateTimeField(null=True, blank=True)
    last_api_success_at = models.DateTimeField(null=True, blank=True)
    # getWebhookInfo, asked once a minute by one of the bot's processes.
    webhook_checked_at = models.DateTimeField(null=True, blank=True)
    webhook_url = models.TextField(blank=True, default="")
    pending_update_count = models.PositiveIntegerField(null=True, blank=True)
    previous_pending_update_count = models.PositiveIntegerField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error_message = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        db_table = "transport_status"
        verbose_name_plural = "transport status"

    def __str__(self) -> str:
        return "Telegram transport"


class DeliveryFailure(models.Model):
    """A send Telegram did not accept, kept a day for the panel's last hour by reason."""

    at = models.DateTimeField(db_index=True)
    reason = models.CharField(max_length=32)  # telegram_gateway.metrics.FAILURE_REASONS
    permanent = models.BooleanField()

    class Meta:
        db_table = "delivery_failures"

    def __str__(self) -> str:
        return f"{self.reason} at {self.at:%Y-%m-%d %H:%M:%S}"
