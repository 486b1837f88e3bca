"""Settings, read from the environment (and `.env`) through django-environ.

Every variable is documented in `.env.example`. Defaults run the product on
embedded parts: SQLite and the in-memory channel layer.
"""

import ipaddress
import warnings
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from helpdesk.logs import LOG_FORMATS, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

# django-environ has no `mariadb://` scheme; MariaDB speaks the MySQL protocol.
environ.Env.DB_SCHEMES.setdefault("mariadb", "django.db.backends.mysql")

env = environ.Env()
# Real environment variables win over the file; ENV_FILE points elsewhere (tests: /dev/null).
environ.Env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")))

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see .env.example).")
    SECRET_KEY = "django-insecure-dev-only-key-never-use-in-production"  # noqa: S105

# With DEBUG off, serve/runbot/deliver/daphne refuse to start while an account still has
# one of `manage.py seed`'s published passwords; true lets them (demos, black-box tests).
ALLOW_SEED_PASSWORDS = env.bool("ALLOW_SEED_PASSWORDS", default=False)

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS, under Django's own names. Behind a proxy that ends TLS (nginx), set
# SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https so Django knows the request was
# HTTPS; the README's production settings pass `check --deploy` with no warning.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Load balancers probe the backend over plain HTTP, with no X-Forwarded-Proto (and
# Prometheus scrapes it so).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_PROXY_SSL_HEADER = env.tuple("SECURE_PROXY_SSL_HEADER", default=None)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Cookies go over HTTPS only unless DEBUG is on (development on http://127.0.0.1).
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)

INSTALLED_APPS = [
    # daphne first: its runserver serves ASGI, websockets included.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's files, served from our own static files (no CDN).
    "drf_spectacular_sidecar",
    "django_htmx",
    "accounts",
    "conversations",
    "telegram_gateway",
    "sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The signed-in user's own language wins over LocaleMiddleware's (browser) choice.
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # request.htmx: whether a request came from the workspace's htmx, and which part.
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes asks: it turns a lockout flagged during the view into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
WSGI_APPLICATION = "helpdesk.wsgi.application"
ASGI_APPLICATION = "helpdesk.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sandbox.views.sandbox_context",
            ],
        },
    },
]


def _database_config() -> dict:
    config = env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    # 0 (a connection per request) is what Django advises under ASGI; long-running
    # workers close stale connections themselves.
    config["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
    config["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
    if config["ENGINE"] == "django.db.backends.mysql":
        options = config.setdefault("OPTIONS", {})
        options.setdefault("charset", "utf8mb4")
        options.setdefault("collation", "utf8mb4_unicode_ci")
        options.setdefault("init_command", "SET sql_mode='STRICT_TRANS_TABLES'")
        config["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    elif config["ENGINE"] == "django.db.backends.sqlite3":
        # One file, several writers (web, bot, delivery worker): wait for the lock
        # rather than fail a request after SQLite's default 5 s on a busy machine.
        config.setdefault("OPTIONS", {}).setdefault("timeout", 20)
    return config


DATABASES = {"default": _database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # A daphne process's sockets share one channel; channels-redis drops frames
            # beyond `capacity` (default 100), about 1 s of pushes at 100 messages/s.
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 2000},
        }
    }
else:
    # One process only: enough for the embedded single-process run.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "console:sessions"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    # Verifies hashes written by the original Node version; upgraded to Argon2 on login.
    "django.contrib.auth.hashers.BCryptPasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out account or address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling (django-axes), on both /login/ and /admin/login/. Failures are counted per
# account and, separately, per address; either reaching the limit refuses logins (even with
# the right password) until LOGIN_COOLOFF_MINUTES have passed since the last failure.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
_login_cooloff_minutes = env.int("LOGIN_COOLOFF_MINUTES", default=15)
if AXES_FAILURE_LIMIT < 1 or _login_cooloff_minutes < 1:
    raise ImproperlyConfigured("LOGIN_FAILURE_LIMIT and LOGIN_COOLOFF_MINUTES must be 1 or more.")
AXES_COOLOFF_TIME = timedelta(minutes=_login_cooloff_minutes)
AXES_RESET_ON_SUCCESS = True
# Retrying while locked out does not extend the lockout, so the page's "N minutes" holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Both login forms post the email as "username"; the callable folds its case, as the
# database matches it, and the handler makes a success forgive only its own account.
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.login_throttle.login_username"
AXES_HANDLER = "accounts.login_throttle.AccountResetHandler"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
# The address is REMOTE_ADDR: X-Forwarded-For is not trusted, as any client can send it.
# Behind a reverse proxy have the server set REMOTE_ADDR from the proxy's header
# (`daphne --proxy-headers`), or every client shares the proxy's address and its limit.

# The REST API under /api/ (DRF): JWT bearer tokens only, JSON only, one error shape.
# Access tokens are short-lived; refresh tokens rotate on every use and are kept, hashed,
# in the spec's refresh_tokens table (accounts/tokens.py), not in simplejwt's blacklist app.
JWT_ACCESS_MINUTES = env.int("JWT_ACCESS_MINUTES", default=15)
JWT_REFRESH_DAYS = env.int("JWT_REFRESH_DAYS", default=7)
if JWT_ACCESS_MINUTES < 1 or JWT_REFRESH_DAYS < 1:
    raise ImproperlyConfigured("JWT_ACCESS_MINUTES and JWT_REFRESH_DAYS must be 1 or more.")
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=JWT_ACCESS_MINUTES),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=JWT_REFRESH_DAYS),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "AUTH_HEADER_TYPES": ("Bearer",),
    # An access token names its user's password hash: a password change ends it at once.
    "CHECK_REVOKE_TOKEN": True,
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.api.authentication.LoginChainJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "helpdesk.api_parsers.SafeJSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "helpdesk.api_errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Per address, on top of axes' per-account and per-address failure counts: bounds the
    # password hashing work one address can cause.
    "DEFAULT_THROTTLE_RATES": {"login": "30/minute"},
    # The address is REMOTE_ADDR, as for axes: X-Forwarded-For is anyone's to forge.
    "NUM_PROXIES": 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Telegram Help Desk API",
    "DESCRIPTION": "The agent console's operations for other clients. Authenticate with "
    "POST /api/auth/login/, then send `Authorization: Bearer <access>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"MessageTypeEnum": "conversations.models.Chat.MessageType"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "helpdesk.api_schema.add_error_responses",
    ],
}

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", "English"), ("id", "Bahasa Indonesia")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True  # stored in UTC, shown in TIME_ZONE

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
# Until `collectstatic` has filled STATIC_ROOT, WhiteNoise serves the apps' static files
# from where they lie, so a production start without it still has the console's CSS and
# JS; once collected, it serves the collected (compressed) copies only.
_collected = Path(STATIC_ROOT)
WHITENOISE_USE_FINDERS = DEBUG or not (_collected.is_dir() and any(_collected.iterdir()))
if not _collected.is_dir():
    # WhiteNoise warns at every start that STATIC_ROOT is missing; the finders serve then.
    warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    # Chats' files (agents' uploads, cached client files) are only ever reached through
    # this storage, so object storage is a settings change: e.g. django-storages'
    # "storages.backends.s3.S3Storage" with OPTIONS {"bucket_name": ...}.
    "default": {
        "BACKEND": env.str(
            "FILE_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": env.json("FILE_STORAGE_OPTIONS", default={}),
    },
    # No manifest: pages render before (and without) collectstatic.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Most ACTIVE sessions one agent is given; 0 means no cap. Beyond it sessions wait in the queue.
MAX_ACTIVE_SESSIONS_PER_CS = env.int("MAX_ACTIVE_SESSIONS_PER_CS", default=0)

# Flood control: more than FLOOD_MAX_MESSAGES messages from one client within FLOOD_WINDOW
# seconds are held back (not stored), and the client is told once; 0 turns it off.
FLOOD_MAX_MESSAGES = env.int("FLOOD_MAX_MESSAGES", default=20)
FLOOD_WINDOW = env.float("FLOOD_WINDOW", default=60)

# Idle sessions: a client silent this many seconds after the agent's last message is
# asked "Do you still need help?"; without an answer the session ends IDLE_CLOSE_AFTER
# seconds after the question. The delivery worker looks every IDLE_CHECK_INTERVAL.
IDLE_WARN_AFTER = env.float("IDLE_WARN_AFTER", default=24 * 3600)
IDLE_CLOSE_AFTER = env.float("IDLE_CLOSE_AFTER", default=24 * 3600)
IDLE_CHECK_INTERVAL = env.float("IDLE_CHECK_INTERVAL", default=60)

# Satisfaction: when a session an agent answered ends, the client is asked "How did we
# do?" (1 to 5) in Telegram, and may add one comment within CSAT_COMMENT_WINDOW seconds.
CSAT_ENABLED = env.bool("CSAT_ENABLED", default=True)
CSAT_COMMENT_WINDOW = env.float("CSAT_COMMENT_WINDOW", default=600)

# Agents' uploads: largest size, and the content types that may be sent.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=20 * 2**20)
UPLOAD_ALLOWED_TYPES = env.list(
    "UPLOAD_ALLOWED_TYPES",
    default=[
        "image/*",
        "video/mp4",
        "video/quicktime",
        "audio/*",
        "application/pdf",
        "text/plain",
        "text/csv",
        "application/zip",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ],
)
# Seconds after an agent's last console tab closes before it goes offline (0 = never).
CONSOLE_PRESENCE_GRACE = env.float("CONSOLE_PRESENCE_GRACE", default=60)

# Replies Telegram keeps failing (5xx, timeouts) are given up after this many seconds.
DELIVERY_GIVE_UP_AFTER = env.int("DELIVERY_GIVE_UP_AFTER", default=24 * 3600)
# Seconds between the delivery worker's looks for due replies: the safety net, since a
# reply stored in another process wakes the workers through the channel layer at once.
DELIVERY_POLL_INTERVAL = env.float("DELIVERY_POLL_INTERVAL", default=0.5)
# Seconds a delivery worker's claim on a reply lasts unless renewed (it renews every
# quarter): a worker that dies leaves its replies to the others after at most this long.
DELIVERY_LEASE = env.float("DELIVERY_LEASE", default=6)
# Sends per second for the whole bot (Telegram allows about 30), and seconds between
# two sends to one chat (Telegram allows about 1 per second).
TELEGRAM_SEND_RATE = env.float("TELEGRAM_SEND_RATE", default=28)
TELEGRAM_CHAT_SEND_INTERVAL = env.float("TELEGRAM_CHAT_SEND_INTERVAL", default=1.05)

TELEGRAM_BOT_TOKEN = env.str("TELEGRAM_BOT_TOKEN", default="")
TELEGRAM_API_BASE = env.str("TELEGRAM_API_BASE", default="https://api.telegram.org")
TELEGRAM_WEBHOOK_SECRET = env.str("TELEGRAM_WEBHOOK_SECRET", default="")
# The public HTTPS address of /telegram/webhook/: `setwebhook` and the transport panel's
# button register it (either can be given another).
TELEGRAM_WEBHOOK_URL = env.str("TELEGRAM_WEBHOOK_URL", default="")
# Keep clients' files fetched from Telegram in the file storage, so each is downloaded once.
TELEGRAM_FILE_CACHE = env.bool("TELEGRAM_FILE_CACHE", default=True)
# JSON file overriding what the bot says to clients; see telegram_gateway/texts.py.
TELEGRAM_TEXTS_FILE = env.str("TELEGRAM_TEXTS_FILE", default="")
# Seconds one getUpdates long poll waits for news.
TELEGRAM_POLL_TIMEOUT = env.int("TELEGRAM_POLL_TIMEOUT", default=25)
# Whether `serve` without TELEGRAM_BOT_TOKEN plays Telegram at /sandbox/ (signed-in users
# only). Off by default in production: there a missing token should not open a playground.
SANDBOX = env.bool("SANDBOX", default=DEBUG)

# /metrics (Prometheus): for `Authorization: Bearer <METRICS_TOKEN>`, or from these
# addresses and networks (REMOTE_ADDR, as for axes). Neither set: /metrics is a 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
try:
    [ipaddress.ip_network(entry, strict=False) for entry in METRICS_ALLOWED_IPS]
except ValueError as error:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {error}") from None
# Where every process of this host keeps its counters so /metrics adds them up (read by
# prometheus_client itself from the environment; `.env` is read above, before it).
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")

# Standard error, one line per event: plain text, or one JSON object a line (LOG_FORMAT=json).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in LOG_FORMATS:
    raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}.")
LOGGING = logging_config(level=env.str("LOG_LEVEL", default="INFO"), log_format=LOG_FORMAT)
LOGGING_CONFIG = "helpdesk.logs.logging_configure"

# Django's MySQL check reads a GeneratedField's max_length as None and calls the unique
# sessions.active_client_id (25 characters) too long; every real CharField is <= 255.
SILENCED_SYSTEM_CHECKS = ["mysql.W003"]
