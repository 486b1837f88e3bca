from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from accounts.views import language_set
from conversations.forms import EmailLoginForm
from helpdesk.health import healthz, readyz
from helpdesk.metrics_view import metrics_view
from telegram_gateway.views import chat_file

admin.site.site_header = _("Help Desk administration")
admin.site.site_title = _("Help Desk")

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="console:sessions")),
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=EmailLoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    # Django's LogoutView accepts POST only, so a CSRF token guards it.
    path("logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("account/language/", language_set, name="language"),
    path("console/transport/", include("telegram_gateway.panel_urls")),
    path("console/", include("conversations.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("helpdesk.api_urls")),
    path("telegram/", include("telegram_gateway.urls")),
    path("sandbox/", include("sandbox.urls")),
    # For load balancers and orchestrators: up (no dependency touched), and ready.
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    # Prometheus, for a scraper with METRICS_TOKEN or from METRICS_ALLOWED_IPS.
    path("metrics", metrics_view, name="metrics"),
    # Chat.file_url: clients' and agents' files, for the assigned agent and admins. The
    # name is cosmetic and may hold any character (decoded "/" and line breaks too).
    re_path(r"^files/(?P<chat_id>[^/]+)/(?P<name>[\s\S]+)$", chat_file, name="chat_file"),
]

# JSON under /api/, the usual pages elsewhere.
handler400 = "helpdesk.api_errors.bad_request"
handler403 = "helpdesk.api_errors.permission_denied"
handler404 = "helpdesk.api_errors.page_not_found"
handler500 = "helpdesk.api_errors.server_error"
