from django.urls import path

from conversations import (
    alert_views,
    block_views,
    canned_views,
    note_views,
    panel_views,
    profile_views,
    report_views,
    search_views,
    views,
)

app_name = "console"

urlpatterns = [
    path("", views.session_list, name="sessions"),
    path("alerts/", alert_views.alerts_set, name="alerts"),
    path("presence/", views.presence_set, name="presence"),
    path("load/", panel_views.my_load, name="load"),
    path("agents/", panel_views.agents_panel, name="agents"),
    path("search/", search_views.search, name="search"),
    path("canned/", canned_views.suggestions, name="canned"),
    path("canned/manage/", canned_views.manage, name="canned_manage"),
    path("canned/<str:canned_id>/use/", canned_views.use, name="canned_use"),
    path("mentions/", note_views.mentions, name="mentions"),
    path("reports/", report_views.reports, name="reports"),
    path("reports/export.csv", report_views.reports_csv, name="reports_csv"),
    path("labels/options/", profile_views.label_options, name="label_options"),
    path("clients/<str:client_id>/profile/", profile_views.client_profile, name="client_profile"),
    path("clients/<str:client_id>/block/", block_views.client_block, name="client_block"),
    path("sessions/<str:session_id>/", views.session_detail, name="session"),
    path("sessions/<str:session_id>/reply/", views.session_reply, name="reply"),
    path("sessions/<str:session_id>/read/", views.session_read, name="read"),
    path("sessions/<str:session_id>/end/", views.session_end, name="end"),
    path("sessions/<str:session_id>/transfer/", views.session_transfer, name="transfer"),
    path("sessions/<str:session_id>/assign/", views.session_assign, name="assign"),
    path("sessions/<str:session_id>/chats/<str:chat_id>/retry/", views.chat_retry, name="retry"),
]
