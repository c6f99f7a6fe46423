"""Migration operations the portal's own migrations share."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db.migrations.operations import AddIndex


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL, where a province's records keep being written
    while it builds (a plain CREATE INDEX holds their writes for as long); a plain one
    elsewhere (SQLite, make run). The migration must say ``atomic = False``.

    A concurrent build that fails (a deadlock, the connection lost) leaves the index behind
    marked INVALID, and the next ``migrate`` stops at "already exists": drop it first
    (``DROP INDEX CONCURRENTLY <name>``; ``\\d <table>`` in psql shows it as INVALID).
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
