"""The inbox's indexes (feedback.inbox): one composite index per order of the list, so that a
keyset page is a range of it however deep (the priority and SLA orders are expressions, indexed
as the queries write them), and on PostgreSQL the GIN index of full-text search over
``search_document`` (English word forms), which SQLite has no use for: its fallback reads the
column with LIKE.

Existing items get their search documents from ``manage.py inbox_reindex`` (run it once after
this migration on a database that had items before issue 10)."""

import datetime

import django.db.models.functions.comparison
from django.db import migrations, models

GIN_INDEX = "item_search_gin_idx"
# As feedback.inbox.query._FullTextMatch writes the search, so that PostgreSQL uses the index.
CREATE_GIN = (
    f"CREATE INDEX IF NOT EXISTS {GIN_INDEX} ON feedback_feedbackitem "
    "USING gin (to_tsvector('english'::regconfig, search_document))"
)
DROP_GIN = f"DROP INDEX IF EXISTS {GIN_INDEX}"


class PostgresOnlySQL(migrations.RunSQL):
    """SQL that runs on PostgreSQL and does nothing elsewhere (as 0004's TrigramExtension)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0005_inbox"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="feedbackitem",
            index=models.Index(
                models.F("team"),
                models.Case(
                    models.When(escalated_at__isnull=False, then=models.Value(1)),
                    default=models.Value(0),
                    output_field=models.IntegerField(),
                ),
                models.Case(
                    models.When(priority="urgent", then=models.Value(2)),
                    models.When(priority="high", then=models.Value(1)),
                    default=models.Value(0),
                    output_field=models.IntegerField(),
                ),
                models.F("last_message_at"),
                models.F("id"),
                name="item_inbox_priority_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="feedbackitem",
            index=models.Index(
                models.F("team"),
                django.db.models.functions.comparison.Coalesce(
                    models.Case(
                        models.When(
                            first_responded_at__isnull=True,
                            first_response_due_at__isnull=False,
                            then=models.F("first_response_due_at"),
                        ),
                        default=models.F("resolution_due_at"),
                        output_field=models.DateTimeField(),
                    ),
                    models.Value(
                        datetime.datetime(9999, 12, 31, 0, 0, tzinfo=datetime.UTC),
                        output_field=models.DateTimeField(),
                    ),
                    output_field=models.DateTimeField(),
                ),
                models.F("id"),
                name="item_inbox_sla_due_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="feedbackitem",
            index=models.Index(fields=["team", "created_at", "id"], name="item_team_created_idx"),
        ),
        migrations.AddIndex(
            model_name="feedbackitem",
            index=models.Index(
                fields=["team", "first_message_at", "id"], name="item_team_first_idx"
            ),
        ),
        PostgresOnlySQL(CREATE_GIN, DROP_GIN),
    ]
