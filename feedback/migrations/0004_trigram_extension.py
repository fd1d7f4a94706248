"""pg_trgm for the likely-duplicate check (feedback/services/duplicates.py), which scores the
texts of a new item and its few candidates with ``similarity()`` on PostgreSQL.

``TrigramExtension`` does nothing on other databases (SQLite scores with rapidfuzz instead), so
``django.contrib.postgres`` need not be an installed app. The extension is trusted from
PostgreSQL 13 on: the database's owner may create it without being a superuser."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class PostgresTrigramExtension(TrigramExtension):
    """Django's operation skips other databases going forwards only: unapplying it on SQLite
    asked ``pg_extension`` and failed, which left a database migrated back (as a migration
    test does) half-way, without the columns of the migrations after this one."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0003_channels_sentiment_duplicates"),
    ]

    operations = [PostgresTrigramExtension()]
