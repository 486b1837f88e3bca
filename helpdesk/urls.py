from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Help Desk administration"
admin.site.site_title = "Help Desk"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index")),
    path("admin/", admin.site.urls),
    path("telegram/", include("telegram_gateway.urls")),
]
