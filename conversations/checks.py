"""System checks for deployment traps that would lose client messages."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper


def database_charset_warning(connection: BaseDatabaseWrapper) -> Warning | None:
    """Warn when a MySQL database would reject emoji (anything but utf8mb4)."""
    if connection.vendor != "mysql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@character_set_database")
        (charset,) = cursor.fetchone()
    if charset == "utf8mb4":
        return None
    name = connection.settings_dict["NAME"]
    return Warning(
        f"Database '{name}' uses the {charset} character set: messages with emoji "
        "will fail to save.",
        hint=f"ALTER DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; "
        "and convert existing tables (ALTER TABLE ... CONVERT TO CHARACTER SET utf8mb4).",
        id="conversations.W001",
    )


@register(Tags.database)
def check_database_charset(app_configs, databases=None, **kwargs):
    warnings = (database_charset_warning(connections[alias]) for alias in databases or [])
    return [warning for warning in warnings if warning]


@register()
def check_bot_texts(app_configs, **kwargs):
    """Refuse to start with a TELEGRAM_TEXTS_FILE the bot cannot use (it would fall
    back to the default texts at run time, so a typo is caught here, not by clients)."""
    from conversations.bot_texts import texts_load

    try:
        texts_load(settings.TELEGRAM_TEXTS_FILE or "")
    except ImproperlyConfigured as error:
        return [Error(str(error), id="conversations.E001")]
    return []
