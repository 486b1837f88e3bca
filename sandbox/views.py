"""The sandbox: try the help desk without Telegram, playing clients in a browser page.

`manage.py serve` without TELEGRAM_BOT_TOKEN starts the Bot API emulator in the
same process and points the bot at it; these views let a person inject messages
as Telegram clients and read the bot's answers. With a real token they are 404.
"""

import itertools
import time

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from sandbox.playground import sandbox_emulator
from telegram_emulator import BotAPIEmulator

_next_user_id = itertools.count(700_000_001)
_client_log: dict[int, list[dict]] = {}  # what each sandbox client wrote, for the page


def sandbox_context(request: HttpRequest) -> dict:
    """Tell templates whether to link the sandbox (only while `serve` runs one)."""
    return {"sandbox_on": sandbox_emulator() is not None}


def _emulator() -> BotAPIEmulator:
    emulator = sandbox_emulator()
    if emulator is None:
        raise Http404("The sandbox runs only under `manage.py serve` without a bot token.")
    return emulator


@require_GET
def sandbox_page(request: HttpRequest) -> HttpResponse:
    _emulator()
    return render(request, "sandbox/sandbox.html")


@require_http_methods(["GET", "POST"])
def sandbox_clients(request: HttpRequest) -> JsonResponse:
    emulator = _emulator()
    if request.method == "POST":
        first_name = request.POST.get("first_name", "").strip()
        if not first_name:
            return JsonResponse({"error": "A client needs a first name."}, status=400)
        user = emulator.add_user(
            next(_next_user_id),
            first_name,
            request.POST.get("last_name", "").strip() or None,
            request.POST.get("username", "").strip().lstrip("@") or None,
            request.POST.get("language_code", "en"),
        )
        _client_log[user["id"]] = []
        return JsonResponse(user, status=201)
    return JsonResponse({"clients": [u for u in emulator.list_users() if u["id"] in _client_log]})


def _inject(emulator: BotAPIEmulator, user_id: int, request: HttpRequest) -> dict:
    text = request.POST.get("text", "")
    upload = request.FILES.get("file")
    if upload is None:
        return emulator.inject_message(user_id, text)
    data, caption = upload.read(), text or None
    kind = upload.content_type or ""
    if kind.startswith("image/"):
        return emulator.inject_photo(user_id, data, caption=caption)
    if kind.startswith("video/"):
        return emulator.inject_video(user_id, data, caption=caption, filename=upload.name)
    return emulator.inject_document(
        user_id, data, filename=upload.name, mime_type=kind or None, caption=caption
    )


@require_http_methods(["GET", "POST"])
def sandbox_messages(request: HttpRequest, user_id: int) -> JsonResponse:
    emulator = _emulator()
    if user_id not in _client_log:
        raise Http404("No such sandbox client.")
    if request.method == "POST":
        if not request.POST.get("text", "").strip() and "file" not in request.FILES:
            return JsonResponse({"error": "Write something or attach a file."}, status=400)
        update = _inject(emulator, user_id, request)
        message = update["message"]
        _client_log[user_id].append(
            {
                "from": "client",
                "text": message.get("text") or message.get("caption") or "",
                "file": request.FILES["file"].name if "file" in request.FILES else "",
                "at": time.monotonic(),  # the clock the emulator stamps sends with
            }
        )
        return JsonResponse({"ok": True}, status=201)
    bot_messages = [
        {
            "from": "bot",
            "text": record.text or record.caption or "",
            "file": ", ".join(f.filename or "file" for f in record.files),
            "at": record.timestamp,
        }
        for record in emulator.sent(chat_id=user_id)
        if record.method.lower() != "sendchataction"
    ]
    messages = sorted(_client_log[user_id] + bot_messages, key=lambda m: m["at"])
    return JsonResponse({"messages": messages})
