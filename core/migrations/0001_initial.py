"""API keys and scheduler-job records, which lived in the ``config`` app until the kernel moved
to ``core``.

An existing database keeps its rows: the tables ``config_apikey`` and ``config_schedulerjob``
are renamed, and their content types (permissions, admin history) move with them. A new
database gets the tables created as usual.
"""

from django.db import migrations, models

MOVED = {"ApiKey": "config_apikey", "SchedulerJob": "config_schedulerjob"}


def adopt_or_create_tables(apps, schema_editor):
    existing = set(schema_editor.connection.introspection.table_names())
    for model_name, old_table in MOVED.items():
        model = apps.get_model("core", model_name)
        if old_table in existing:
            schema_editor.alter_db_table(model, old_table, model._meta.db_table)
        else:
            schema_editor.create_model(model)
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(
        app_label="config", model__in=[name.lower() for name in MOVED]
    ).update(app_label="core")


def restore_tables(apps, schema_editor):
    for model_name, old_table in MOVED.items():
        model = apps.get_model("core", model_name)
        schema_editor.alter_db_table(model, model._meta.db_table, old_table)
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(
        app_label="core", model__in=[name.lower() for name in MOVED]
    ).update(app_label="config")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        # The models enter the migration state here; the tables are made (or adopted) below.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ApiKey",
                    fields=[
                        ("id", models.CharField(editable=False, max_length=150, primary_key=True, serialize=False, unique=True)),
                        ("prefix", models.CharField(editable=False, max_length=8, unique=True)),
                        ("hashed_key", models.CharField(editable=False, max_length=150)),
                        ("created", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("name", models.CharField(default=None, help_text="A free-form name for the API key. Need not be unique. 50 characters max.", max_length=50)),
                        ("revoked", models.BooleanField(blank=True, default=False, help_text="If the API key is revoked, clients cannot use it anymore. (This cannot be undone.)")),
                        ("expiry_date", models.DateTimeField(blank=True, help_text="Once API key expires, clients cannot use it anymore.", null=True, verbose_name="Expires")),
                        ("read_only", models.BooleanField(default=False, help_text="A read-only key may only GET; writes get 403.")),
                    ],
                    options={
                        "verbose_name": "API key",
                        "verbose_name_plural": "API keys",
                        "ordering": ("-created",),
                        "abstract": False,
                    },
                ),
                migrations.CreateModel(
                    name="SchedulerJob",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=100, unique=True)),
                        ("last_started_at", models.DateTimeField(blank=True, null=True)),
                        ("last_finished_at", models.DateTimeField(blank=True, db_index=True, null=True)),
                        ("last_duration_ms", models.PositiveIntegerField(blank=True, null=True)),
                        ("last_ok", models.BooleanField(blank=True, null=True, verbose_name="last run ok")),
                        ("last_summary", models.CharField(blank=True, max_length=500)),
                        ("last_error", models.TextField(blank=True)),
                        ("last_success_at", models.DateTimeField(blank=True, null=True)),
                        ("run_count", models.PositiveBigIntegerField(default=0)),
                        ("failure_count", models.PositiveBigIntegerField(default=0)),
                    ],
                    options={
                        "verbose_name": "scheduler job",
                        "ordering": ("name",),
                    },
                ),
            ],
        ),
        migrations.RunPython(adopt_or_create_tables, restore_tables),
    ]
