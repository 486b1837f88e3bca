"""The transport panel (ADMIN only): is Telegram traffic flowing, and what is wrong.

Its top-bar fragment is fetched by every admin's console page every 30 s, so a warning
shows within a minute of its cause whichever process saw it, and even when no bot
process is alive to report anything.
"""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from telegram_gateway.status import transport_report
from telegram_gateway.watch import WebhookRegisterError, webhook_register


def _admin_only(request: HttpRequest) -> None:
    if not request.user.is_admin:
        raise PermissionDenied


@never_cache
@require_GET
@login_required
def transport_panel(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    return render(
        request,
        "console/transport.html",
        {
            "report": transport_report(),
            "webhook_target": settings.TELEGRAM_WEBHOOK_URL,
            "bot_configured": bool(settings.TELEGRAM_BOT_TOKEN),
        },
    )


@never_cache
@require_GET
def transport_alerts(request: HttpRequest) -> HttpResponse:
    """The top bar's warning. 401/403 rather than a login page: htmx swaps only a 2xx."""
    if not request.user.is_authenticated:
        return HttpResponse(status=401)
    _admin_only(request)
    report = transport_report(with_failures=False)
    return render(request, "console/_transport_alerts.html", {"report": report})


@require_POST
async def transport_webhook_register(request: HttpRequest) -> HttpResponse:
    """Register the webhook again, with its secret (after a certificate or address
    change, or when Telegram gave up on it)."""
    user = await request.auser()
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not user.is_admin:
        raise PermissionDenied
    try:
        url = await webhook_register()
    except WebhookRegisterError as error:
        await sync_to_async(messages.error)(request, str(error))
    else:
        await sync_to_async(messages.success)(
            request, _("The webhook is registered again at %(url)s.") % {"url": url}
        )
    return redirect("transport:panel")
