from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("config", "0001_initial"),
    ]

    operations = [
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
    ]
