"""Rows several benchmarks set up: calendar plans, and many copies of one made in SQL."""

from datetime import timedelta

from django.db import connection

from maintenance.models import Plan


def calendar_plans(count: int, *, next_due_at, name: str) -> list[Plan]:
    """`count` unsaved daily calendar plans (Europe/Berlin) next due at `next_due_at`."""
    plans = []
    for index in range(count):
        plan = Plan(
            name=f"{name} {index}",
            task_title="Inspect",
            trigger=Plan.Trigger.CALENDAR,
            rrule="FREQ=DAILY;INTERVAL=1",
            every=1,
            unit=Plan.Unit.DAY,
            start_at=next_due_at - timedelta(days=1),
            timezone="Europe/Berlin",
            next_due_at=next_due_at,
        )
        plan.next_run_at = plan.compute_next_run_at()  # bulk_create skips save()
        plans.append(plan)
    return plans


def clone_plans_in_sql(template: Plan, count: int) -> None:
    """`count` copies of `template` (new id and name) in one INSERT … SELECT over a series."""
    table = connection.ops.quote_name(Plan._meta.db_table)
    columns = [f.column for f in Plan._meta.concrete_fields if f.column not in ("id", "name")]
    copied = ", ".join(connection.ops.quote_name(c) for c in columns)
    if connection.vendor == "postgresql":
        series = "generate_series(1, %s) AS n(value)"
        prefix = ""
    else:
        prefix = "WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n LIMIT %s) "
        series = "n"
    sql = (
        f"{prefix}INSERT INTO {table} (id, name, {copied}) "
        f"SELECT 'plan_idle_' || n.value, 'Idle ' || n.value, {copied} "
        f"FROM {table} AS template, {series} WHERE template.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [count, template.pk])
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {table}")
