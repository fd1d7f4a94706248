# Decimals become portal.fields.ExactDecimalField: at most 15 digits, which SQLite stores
# exactly, and rows beyond that read without failing.

from decimal import Decimal

import django.core.validators
from django.db import migrations
from django.db.models import Q

import portal.fields

# The largest North Star value that fits 15 digits with 4 decimal places.
VALUE_LIMIT = Decimal("99999999999.9999")


def refuse_values_out_of_range(apps, schema_editor):
    """On PostgreSQL, list the measurements that no longer fit, rather than letting the column
    change fail with a bare "numeric field overflow". SQLite keeps its column as it is, and the
    new field reads such rows there, so that they can be corrected on the pages."""
    if schema_editor.connection.vendor != "postgresql":
        return
    measurement = apps.get_model("portal", "NorthStarMeasurement")
    rows = measurement.objects.filter(Q(value__gt=VALUE_LIMIT) | Q(value__lt=-VALUE_LIMIT))
    rows = rows.order_by("measured_on").values_list("pk", "measured_on", "value")
    if rows:
        raise RuntimeError(
            f"North Star values may now have at most 15 digits (up to {VALUE_LIMIT}); change "
            "or delete these measurements, then run migrate again.\n  "
            + "\n  ".join(f"{day}: {value} (id {pk})" for pk, day, value in rows)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0004_import_jobs"),
    ]

    operations = [
        migrations.RunPython(refuse_values_out_of_range, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="account",
            name="mrr",
            field=portal.fields.ExactDecimalField(
                decimal_places=2,
                default=Decimal("0.00"),
                max_digits=12,
                validators=[django.core.validators.MinValueValidator(Decimal("0"))],
                verbose_name="MRR",
            ),
        ),
        migrations.AlterField(
            model_name="northstarmeasurement",
            name="value",
            field=portal.fields.ExactDecimalField(decimal_places=4, max_digits=15),
        ),
    ]
