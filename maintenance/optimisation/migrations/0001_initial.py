"""Failure and SuggestionSet, taken over from `maintenance` (its migration 0004).

State only: the tables exist already (maintenance 0002 created them, and the models keep their
names), so no data moves. The content types move with the models, so the permissions granted
on them and the admin history of their rows follow.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import maintenance.optimisation.models

MODELS = ("failure", "suggestionset")


def _move_content_types(apps, schema_editor, *, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MODELS:
        old = ContentType.objects.using(db).filter(app_label=source, model=model)
        if not old.exists():
            continue  # a fresh database: post_migrate creates the new one
        # One made for the new label meanwhile (a `migrate` stopped in between) holds nothing
        # yet; the old one carries the permissions and history.
        ContentType.objects.using(db).filter(app_label=target, model=model).delete()
        old.update(app_label=target)


def forwards(apps, schema_editor):
    _move_content_types(apps, schema_editor, source="maintenance", target="optimisation")


def backwards(apps, schema_editor):
    _move_content_types(apps, schema_editor, source="optimisation", target="maintenance")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("maintenance", "0004_optimisation_moves_out"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Failure",
                    fields=[
                        (
                            "id",
                            models.CharField(
                                default=maintenance.optimisation.models.new_failure_id,
                                editable=False,
                                max_length=40,
                                primary_key=True,
                                serialize=False,
                            ),
                        ),
                        ("occurred_at", models.DateTimeField()),
                        ("description", models.TextField(blank=True)),
                        ("downtime_hours", models.FloatField(default=0)),
                        (
                            "cost",
                            models.DecimalField(
                                blank=True, decimal_places=2, max_digits=14, null=True
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("created_by", models.CharField(blank=True, max_length=200)),
                        (
                            "asset",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="failures",
                                to="maintenance.asset",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "maintenance_failure",
                        "ordering": ("-occurred_at", "-id"),
                        "indexes": [
                            models.Index(fields=["asset", "occurred_at"], name="failure_asset_idx")
                        ],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("downtime_hours__gte", 0)),
                                name="failure_downtime_non_negative",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="SuggestionSet",
                    fields=[
                        (
                            "id",
                            models.CharField(
                                default=maintenance.optimisation.models.new_suggestion_id,
                                editable=False,
                                max_length=40,
                                primary_key=True,
                                serialize=False,
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("draft", "Draft"),
                                    ("applied", "Applied"),
                                    ("rejected", "Rejected"),
                                ],
                                default="draft",
                                max_length=10,
                            ),
                        ),
                        ("items", models.JSONField(blank=True, default=list)),
                        ("reasons", models.JSONField(blank=True, default=dict)),
                        ("basis", models.JSONField(blank=True, default=dict)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("created_by", models.CharField(blank=True, max_length=200)),
                        ("applied_at", models.DateTimeField(blank=True, null=True)),
                        ("applied_by", models.CharField(blank=True, max_length=200)),
                        ("applied_items", models.JSONField(blank=True, null=True)),
                        ("rejected_at", models.DateTimeField(blank=True, null=True)),
                        ("rejected_by", models.CharField(blank=True, max_length=200)),
                        (
                            "plan",
                            models.ForeignKey(
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="suggestion_sets",
                                to="maintenance.plan",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "maintenance_suggestionset",
                        "ordering": ("-created_at", "-id"),
                        "indexes": [
                            models.Index(fields=["plan", "-created_at"], name="suggestion_plan_idx")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
