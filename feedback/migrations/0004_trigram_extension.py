"""pg_trgm for the likely-duplicate check (feedback/services/duplicates.py), which scores the
texts of a new item and its few candidates with ``similarity()`` on PostgreSQL.

``TrigramExtension`` does nothing on other databases (SQLite scores with rapidfuzz instead), so
``django.contrib.postgres`` need not be an installed app. The extension is trusted from
PostgreSQL 13 on: the database's owner may create it without being a superuser."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0003_channels_sentiment_duplicates"),
    ]

    operations = [TrigramExtension()]
