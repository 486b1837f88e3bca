"""Database-wide chores behind the spec's db:setup and db:reset scripts."""

from django.db.backends.base.base import BaseDatabaseWrapper

MYSQL_CHARSET = "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"


def database_create_if_missing(connection: BaseDatabaseWrapper) -> bool:
    """Create the configured MySQL/MariaDB database in utf8mb4; return whether it was new.

    SQLite makes its file on first use, so there is nothing to do there.
    """
    if connection.vendor != "mysql":
        return False
    import MySQLdb

    params = connection.get_connection_params()
    name = params.pop("database")
    server = MySQLdb.connect(**params)
    try:
        cursor = server.cursor()
        cursor.execute("SHOW DATABASES LIKE %s", [name])
        if cursor.fetchone():
            return False
        cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(name)} {MYSQL_CHARSET}")
        return True
    finally:
        server.close()


def database_drop_all_tables(connection: BaseDatabaseWrapper) -> list[str]:
    """Drop every table of the database, whoever made it; return their names."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        if connection.vendor == "mysql":
            cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
            for table in tables:
                cursor.execute(f"DROP TABLE {quote(table)}")
            cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
            # Empty now, so new tables can safely default to utf8mb4.
            cursor.execute(
                f"ALTER DATABASE {quote(connection.settings_dict['NAME'])} {MYSQL_CHARSET}"
            )
        else:
            cursor.execute("PRAGMA foreign_keys = OFF")
            for table in tables:
                cursor.execute(f"DROP TABLE {quote(table)}")
            cursor.execute("PRAGMA foreign_keys = ON")
    return tables
