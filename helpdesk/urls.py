from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from telegram_gateway.views import chat_file

admin.site.site_header = "Help Desk administration"
admin.site.site_title = "Help Desk"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index")),
    path("admin/", admin.site.urls),
    path("telegram/", include("telegram_gateway.urls")),
    path("sandbox/", include("telegram_gateway.sandbox_urls")),
    # Chat.file_url: clients' and agents' files, for the assigned agent and admins. The
    # name is cosmetic and may hold any character (decoded "/" and line breaks too).
    re_path(r"^files/(?P<chat_id>[^/]+)/(?P<name>[\s\S]+)$", chat_file, name="chat_file"),
]
