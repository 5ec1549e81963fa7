"""Failure and SuggestionSet now belong to the `optimisation` app.

State only: the tables (maintenance_failure, maintenance_suggestionset) stay where they are and
the new app's models name them; optimisation's 0001 takes the models over in its state and moves
their content types.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("maintenance", "0003_task_overdue_notified_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Failure"),
                migrations.DeleteModel(name="SuggestionSet"),
            ],
            database_operations=[],
        ),
    ]
