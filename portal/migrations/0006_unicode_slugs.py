# Slugs of teams and value streams may hold letters of any script ("поддержка"); the column
# does not change, only what validation accepts.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0005_exact_decimals"),
    ]

    operations = [
        migrations.AlterField(
            model_name="team",
            name="slug",
            field=models.SlugField(allow_unicode=True, max_length=60, unique=True),
        ),
        migrations.AlterField(
            model_name="valuestream",
            name="slug",
            field=models.SlugField(allow_unicode=True, max_length=60, unique=True),
        ),
    ]
