"""Competency.deprecated becomes a column PostgreSQL generates from deprecated_at (it was a second, separately
written flag that could disagree). A row flagged deprecated without a date gets the migration's time first, so
nothing deprecated comes back. PostgreSQL cannot turn a plain column into a generated one: removed, then added."""

from django.db import migrations, models
from django.db.models.functions import Now


def date_the_undated_deprecations(apps, schema_editor):
    Competency = apps.get_model("mastery", "Competency")
    Competency.objects.filter(deprecated=True, deprecated_at__isnull=True).update(deprecated_at=Now())


class Migration(migrations.Migration):
    dependencies = [
        ("mastery", "0004_tool_credentials_unmatched_voided"),
    ]

    operations = [
        migrations.RunPython(date_the_undated_deprecations, migrations.RunPython.noop),
        migrations.RemoveField(model_name="competency", name="deprecated"),
        migrations.AddField(
            model_name="competency",
            name="deprecated",
            field=models.GeneratedField(
                db_persist=True,
                expression=models.ExpressionWrapper(
                    models.Q(("deprecated_at__isnull", False)), output_field=models.BooleanField()
                ),
                output_field=models.BooleanField(),
            ),
        ),
    ]
