import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

# Build Django's app before importing anything that touches models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.core.handlers.exception import convert_exception_to_response  # noqa: E402
from django.urls import get_resolver, reverse  # noqa: E402

from conversations.consumers import fragments_prepare  # noqa: E402
from conversations.events import channel_layer_prepare  # noqa: E402
from conversations.routing import websocket_urlpatterns  # noqa: E402
from helpdesk.logs import RequestIdMiddleware  # noqa: E402
from helpdesk.startup import start_up_heap_freeze, start_up_refuse_seed_passwords  # noqa: E402
from helpdesk.ws_origin import SameOriginOnly  # noqa: E402

# With DEBUG off, no start while the seed's published passwords still log in (one line).
start_up_refuse_seed_passwords()

# Do now what the first request or push would otherwise do inside the event loop,
# stalling every socket meanwhile: import the URLconf (aiogram's models with it),
# compile the pushed fragments in every language, build the channel layer.
get_resolver().url_patterns  # noqa: B018
fragments_prepare()
channel_layer_prepare()


class _WithoutMiddleware(ASGIHandler):
    """Django's handler with no middleware, for Telegram's webhook.

    The webhook checks its secret itself and needs no session, user, language or CSRF.
    Through the middleware (WhiteNoise's is sync only) each update took a worker thread
    that waited for the event loop: at daphne's stop those threads never ended and the
    process hung at exit; and the chain cost an eighth of the ingest's CPU.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware, self._template_response_middleware = [], []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response_async)


WEBHOOK_PATH = reverse("telegram_gateway:webhook")
_webhook_app = _WithoutMiddleware()


async def http_app(scope, receive, send):
    app = _webhook_app if scope["path"] == WEBHOOK_PATH else django_asgi_app
    await app(scope, receive, send)


# Every line a request or socket logs carries its id (X-Request-ID).
application = RequestIdMiddleware(
    ProtocolTypeRouter(
        {
            "http": http_app,
            # The session cookie signs the agent in; a page of another origin cannot connect.
            "websocket": SameOriginOnly(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        }
    )
)
# Loaded for good: keep the garbage collector's full passes off these objects.
start_up_heap_freeze()
