from django.urls import path

from telegram_gateway import panel_views

app_name = "transport"

urlpatterns = [
    path("", panel_views.transport_panel, name="panel"),
    path("alerts/", panel_views.transport_alerts, name="alerts"),
    path("webhook/", panel_views.transport_webhook_register, name="webhook"),
]
