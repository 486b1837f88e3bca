from django.urls import path

from telegram_gateway.views import telegram_webhook

app_name = "telegram_gateway"

urlpatterns = [
    path("webhook/", telegram_webhook, name="webhook"),
]
