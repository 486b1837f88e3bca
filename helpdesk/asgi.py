import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

# Build Django's app before importing anything that touches models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import get_resolver  # noqa: E402

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


# Every line a request or socket logs carries its id (X-Request-ID).
application = RequestIdMiddleware(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            # The session cookie signs the agent in; a page of another origin cannot connect.
            "websocket": SameOriginOnly(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        }
    )
)
# Loaded for good: keep the garbage collector's full passes off these objects.
start_up_heap_freeze()
