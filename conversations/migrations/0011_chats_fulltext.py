"""A FULLTEXT index on chats.message for the workspace's search (issue 14), on
MySQL/MariaDB only: SQLite has no FULLTEXT, and its search scans (it serves small desks)."""

from django.db import migrations


def _add(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute("ALTER TABLE chats ADD FULLTEXT INDEX ft_chats_message (message)")


def _drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute("ALTER TABLE chats DROP INDEX ft_chats_message")


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0010_labels_profile_blocking"),
    ]

    operations = [
        # Not atomic: MySQL's DDL commits anyway; the index is built in one ALTER.
        migrations.RunPython(_add, _drop, atomic=False, elidable=False),
    ]
