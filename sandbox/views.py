"""The sandbox: try the help desk without Telegram, playing clients in a browser page.

`manage.py serve` without TELEGRAM_BOT_TOKEN, with SANDBOX on, starts the Bot API
emulator in the same process and points the bot at it; these views let a signed-in
person inject messages as Telegram clients, read the bot's answers and press its inline
buttons. Each browser session sees only the clients it created (their ids are kept in
its Django session).
With SANDBOX off, or a real token, every sandbox address is 404.
"""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from sandbox.playground import Playground, sandbox_emulator, sandbox_playground
from sandbox.selectors import sandbox_client_list, sandbox_client_owned, sandbox_transcript
from sandbox.services import (
    SandboxPressRefused,
    SandboxRateLimited,
    sandbox_client_create,
    sandbox_client_press,
    sandbox_client_write,
)
from sandbox.uploads import (
    CappedUploadHandler,
    upload_declared_too_large,
    upload_handlers_capped,
)

OWNED_KEY = "sandbox_clients"  # this browser session's client ids
TEXT_MAX = 4096  # Telegram's limit for a message (a caption: 1024)
CAPTION_MAX = 1024


def sandbox_context(request: HttpRequest) -> dict:
    """Tell templates whether to link the sandbox (only while `serve` runs one)."""
    return {"sandbox_on": settings.SANDBOX and sandbox_emulator() is not None}


def _playground() -> Playground:
    playground = sandbox_playground() if settings.SANDBOX else None
    if playground is None:
        raise Http404("The sandbox runs only under `manage.py serve` with SANDBOX on, no token.")
    return playground


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _owned(request: HttpRequest) -> list[int]:
    return list(request.session.get(OWNED_KEY, []))


@require_GET
def sandbox_page(request: HttpRequest) -> HttpResponse:
    _playground()
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return render(request, "sandbox/sandbox.html", {"upload_max_bytes": settings.UPLOAD_MAX_BYTES})


def sandbox_api(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Gate an API view: 404 without a sandbox, 403 for anonymous visitors.

    The gate runs before the body is read; the view then fixes its upload handlers and
    checks CSRF itself (csrf_protect), as Django requires for custom upload handlers.
    """

    @csrf_exempt
    @wraps(view)
    def gated(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        playground = _playground()
        if not request.user.is_authenticated:
            return _error("Sign in to use the sandbox.", 403)
        return view(request, playground, *args, **kwargs)

    return gated


@require_http_methods(["GET", "POST"])
@sandbox_api
def sandbox_clients(request: HttpRequest, playground: Playground) -> HttpResponse:
    if request.method == "GET":
        clients = sandbox_client_list(playground=playground, owned=_owned(request))
        return JsonResponse({"clients": clients})
    upload_handlers_capped(request, limit=0)  # a client is made of fields, never files
    return _client_create(request, playground)


@csrf_protect
def _client_create(request: HttpRequest, playground: Playground) -> JsonResponse:
    first_name = request.POST.get("first_name", "").strip()
    if not first_name:
        return _error("A client needs a first name.", 400)
    try:
        user = sandbox_client_create(
            playground=playground,
            session_key=request.session.session_key or "",
            user_id=request.user.pk,
            first_name=first_name[:64],
            last_name=request.POST.get("last_name", "").strip()[:64] or None,
            username=request.POST.get("username", "").strip().lstrip("@")[:32] or None,
            language_code=request.POST.get("language_code", "en")[:16] or "en",
        )
    except SandboxRateLimited as limited:
        response = _error(f"Too many new clients: try again in {limited.retry_after} seconds.", 429)
        response["Retry-After"] = str(limited.retry_after)
        return response
    still_here = [i for i in _owned(request) if i in playground.client_log]  # not old runs'
    request.session[OWNED_KEY] = [*still_here, user["id"]]
    return JsonResponse(user, status=201)


@require_http_methods(["GET", "POST"])
@sandbox_api
def sandbox_messages(request: HttpRequest, playground: Playground, user_id: int) -> HttpResponse:
    if not sandbox_client_owned(playground=playground, owned=_owned(request), client_id=user_id):
        raise Http404("No such sandbox client.")  # another visitor's, or of an earlier run
    if request.method == "GET":
        messages = sandbox_transcript(playground=playground, client_id=user_id)
        return JsonResponse({"messages": messages})
    limit = settings.UPLOAD_MAX_BYTES
    if upload_declared_too_large(request, limit=limit):
        return _too_large(limit)
    capped = upload_handlers_capped(request, limit=limit)
    return _message_send(request, playground, user_id, capped)


@csrf_protect
def _message_send(
    request: HttpRequest, playground: Playground, user_id: int, capped: CappedUploadHandler
) -> JsonResponse:
    text = request.POST.get("text", "")  # parses the body: uploads go through the cap
    if capped.exceeded:
        return _too_large(capped.limit)
    upload = request.FILES.get("file")
    if not text.strip() and upload is None:
        return _error("Write something or attach a file.", 400)
    most = CAPTION_MAX if upload is not None else TEXT_MAX
    if len(text) > most:
        return _error(f"Telegram allows at most {most} characters here ({len(text)} given).", 400)
    sandbox_client_write(playground=playground, client_id=user_id, text=text, file=upload)
    return JsonResponse({"ok": True}, status=201)


@require_http_methods(["POST"])
@sandbox_api
def sandbox_presses(request: HttpRequest, playground: Playground, user_id: int) -> HttpResponse:
    """Press one of a bot message's inline buttons as the client (a callback_query)."""
    if not sandbox_client_owned(playground=playground, owned=_owned(request), client_id=user_id):
        raise Http404("No such sandbox client.")
    upload_handlers_capped(request, limit=0)  # a press is two fields, never files
    return _press(request, playground, user_id)


@csrf_protect
def _press(request: HttpRequest, playground: Playground, user_id: int) -> JsonResponse:
    message_id = request.POST.get("message_id", "")
    data = request.POST.get("data", "")
    if not (message_id.isascii() and message_id.isdigit()):
        return _error("Say which message's button to press.", 400)
    try:
        sandbox_client_press(
            playground=playground, client_id=user_id, message_id=int(message_id), data=data
        )
    except SandboxPressRefused:
        return _error("That message has no such button (any more).", 400)
    return JsonResponse({"ok": True}, status=201)


def _too_large(limit: int) -> JsonResponse:
    return _error(f"The file is too large: the limit is {filesizeformat(limit)}.", 413)
