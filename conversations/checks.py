"""System checks for deployment traps that would lose client messages."""

from django.core.checks import Tags, Warning, register
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
