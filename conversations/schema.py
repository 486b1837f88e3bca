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
