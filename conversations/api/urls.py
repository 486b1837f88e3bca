from django.urls import path

from conversations.api import (
    canned_views,
    note_views,
    profile_views,
    report_views,
    search_views,
    views,
)

urlpatterns = [
    path("me/", views.MeApi.as_view(), name="me"),
    path("sessions/", views.SessionListApi.as_view(), name="sessions"),
    path("labels/", profile_views.LabelListApi.as_view(), name="labels"),
    path("labels/<str:label_id>/", profile_views.LabelDetailApi.as_view(), name="label"),
    path("clients/<str:client_id>/", profile_views.ClientProfileApi.as_view(), name="client"),
    path("search/", search_views.SearchApi.as_view(), name="search"),
    path("reports/summary/", report_views.ReportSummaryApi.as_view(), name="reports_summary"),
    path("csat/", report_views.CsatListApi.as_view(), name="csat"),
    path("canned-responses/", canned_views.CannedListApi.as_view(), name="canned_responses"),
    path(
        "canned-responses/<str:canned_id>/",
        canned_views.CannedDetailApi.as_view(),
        name="canned_response",
    ),
    path("sessions/<str:session_id>/", views.SessionDetailApi.as_view(), name="session"),
    path("sessions/<str:session_id>/chats/", views.ChatListApi.as_view(), name="chats"),
    path("sessions/<str:session_id>/notes/", note_views.NoteListApi.as_view(), name="notes"),
    path("sessions/<str:session_id>/read/", views.SessionReadApi.as_view(), name="read"),
    path("sessions/<str:session_id>/end/", views.SessionEndApi.as_view(), name="end"),
    path(
        "sessions/<str:session_id>/transfer/", views.SessionTransferApi.as_view(), name="transfer"
    ),
]
