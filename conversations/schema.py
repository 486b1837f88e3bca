"""Migration helpers for databases laid out by the original Node version."""

from django.db import migrations


class AddIndexIfMissing(migrations.AddIndex):
    """Add an index unless one of that name exists (the spec's hand-made indexes)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        connection = schema_editor.connection
        with connection.cursor() as cursor:
            existing = connection.introspection.get_constraints(cursor, model._meta.db_table)
        if self.index.name not in existing:
            super().database_forwards(app_label, schema_editor, from_state, to_state)


class DropForeignKeyActions(migrations.RunPython):
    """Recreate a MySQL foreign key without ON UPDATE/ON DELETE actions.

    Prisma writes `ON UPDATE CASCADE` (and RESTRICT/SET NULL) into its foreign keys,
    and MariaDB refuses a generated column over a column with such actions. Django
    applies on_delete itself and ids never change, so a plain key loses nothing.
    Databases Django created have plain keys already, and are left alone.
    """

    def __init__(self, *, table: str, column: str, references: str) -> None:
        self.table, self.column, self.references = table, column, references
        super().__init__(self.forwards, migrations.RunPython.noop)

    def forwards(self, apps, schema_editor) -> None:
        connection = schema_editor.connection
        if connection.vendor != "mysql":
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT k.constraint_name FROM information_schema.key_column_usage k "
                "JOIN information_schema.referential_constraints r "
                "ON r.constraint_schema = k.constraint_schema "
                "AND r.constraint_name = k.constraint_name "
                "WHERE k.table_schema = DATABASE() AND k.table_name = %s AND k.column_name = %s "
                "AND (r.update_rule NOT IN ('RESTRICT', 'NO ACTION') "
                "OR r.delete_rule NOT IN ('RESTRICT', 'NO ACTION'))",
                [self.table, self.column],
            )
            quote = connection.ops.quote_name
            for (name,) in cursor.fetchall():
                cursor.execute(f"ALTER TABLE {quote(self.table)} DROP FOREIGN KEY {quote(name)}")
                cursor.execute(
                    f"ALTER TABLE {quote(self.table)} ADD CONSTRAINT {quote(name)} "
                    f"FOREIGN KEY ({quote(self.column)}) REFERENCES {quote(self.references)} (`id`)"
                )
