"""Exports from the admin as CSV and XLSX (django-import-export, tablib underneath).

Tasks and executions: the changelists get an "Export" button and an "Export selected"
action (`TaskExport` / `ExecutionExport`, mixed into their admins); the button exports what
the list's filters and search show. Compliance: `/admin/exports/compliance.<csv|xlsx>`
?start_date=&end_date= (YYYY-MM-DD, UTC days, inclusive; default the last 6 months), one row
per plan from the compliance selector, and a total row. Reads only.
"""

from __future__ import annotations

from datetime import UTC, timedelta

import tablib
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext
from import_export import fields, resources
from import_export.admin import ExportActionMixin

from maintenance import selectors as maintenance_selectors
from maintenance.models import Execution, Plan, Task

# The longest compliance period one export covers (the selector reads every row in it).
COMPLIANCE_MAX_DAYS = 3 * 366
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class TaskResource(resources.ModelResource):
    # The foreign key's column, declared: import-export knows the field as `plan` and would
    # silently leave `plan_id` out of the file.
    plan_id = fields.Field(attribute="plan_id", column_name="plan_id")
    plan_name = fields.Field(attribute="plan__name", column_name="plan_name")
    assignee_name = fields.Field(attribute="assignee__name", column_name="assignee")

    class Meta:
        model = Task
        fields = (
            "id", "code", "title", "plan_id", "plan_name", "status", "priority",
            "assignee_name", "due_at", "deadline_at", "started_at", "completed_at",
            "completed_by", "cancelled_at", "notes", "time_spent_minutes",
        )  # fmt: skip
        export_order = fields

    def get_queryset(self):
        return super().get_queryset().select_related("plan", "assignee")


class ExecutionResource(resources.ModelResource):
    plan_id = fields.Field(attribute="plan_id", column_name="plan_id")
    plan_name = fields.Field(attribute="plan__name", column_name="plan_name")
    task_code = fields.Field(attribute="task__code", column_name="task_code")

    class Meta:
        model = Execution
        fields = (
            "id", "plan_id", "plan_name", "trigger", "due_at", "executed_at",
            "executed_by", "missed", "task_code",
        )  # fmt: skip
        export_order = fields


class _Export(ExportActionMixin):
    """CSV and XLSX only (the formats operators asked for)."""

    def get_export_formats(self):
        from import_export.formats.base_formats import CSV, XLSX

        return [CSV, XLSX]


class TaskExport(_Export):
    resource_classes = [TaskResource]
    # The task list's own template: the Export button and the "Work queue" link.
    import_export_change_list_template = "admin/maintenance/task/change_list.html"


class ExecutionExport(_Export):
    resource_classes = [ExecutionResource]


def compliance_dataset(*, start_date, end_date, now) -> tablib.Dataset:
    report = maintenance_selectors.compliance_report(
        start_date=start_date, end_date=end_date, now=now
    )
    columns = [
        "due_count", "on_time_count", "overdue_count", "pending_count", "missed_count",
        "cancelled_count", "compliance_rate", "average_delay_hours", "time_spent_minutes",
    ]  # fmt: skip
    ids = [row["plan_id"] for row in report["by_plan"] if row["plan_id"]]
    names = dict(Plan.objects.filter(pk__in=ids).values_list("id", "name"))
    data = tablib.Dataset(headers=["plan_id", "plan_name", "start_date", "end_date", *columns])
    for row in report["by_plan"]:
        name = names.get(row["plan_id"], gettext("(deleted)"))
        data.append([row["plan_id"], name, start_date, end_date, *(row[c] for c in columns)])
    data.append(["", gettext("All plans"), start_date, end_date, *(report[c] for c in columns)])
    return data


def compliance_export(request, fmt: str):
    if not request.user.has_perm("maintenance.view_task"):
        raise PermissionDenied
    now = timezone.now()
    today = now.astimezone(UTC).date()
    try:
        end = parse_date(request.GET.get("end_date") or "") or today
        start = parse_date(request.GET.get("start_date") or "") or (
            today.replace(day=1) - timedelta(days=155)
        ).replace(day=1)
    except ValueError:
        return HttpResponseBadRequest(gettext("start_date/end_date: Enter a valid date."))
    if start > end:
        return HttpResponseBadRequest(gettext("start_date: Must not be after end_date."))
    if (end - start).days > COMPLIANCE_MAX_DAYS:
        return HttpResponseBadRequest(
            gettext("end_date: At most %(days)d days after start_date.")
            % {"days": COMPLIANCE_MAX_DAYS}
        )
    data = compliance_dataset(start_date=start, end_date=end, now=now)
    response = HttpResponse(data.export(fmt), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = (
        f'attachment; filename="compliance-{start.isoformat()}-{end.isoformat()}.{fmt}"'
    )
    return response


def urls() -> list:
    """Mounted under /admin/exports/ (before the admin's own URLs), staff only."""
    from django.contrib import admin

    wrap = admin.site.admin_view
    return [
        path(
            f"compliance.{fmt}",
            wrap(lambda request, fmt=fmt: compliance_export(request, fmt)),
            name=f"admin_export_compliance_{fmt}",
        )
        for fmt in CONTENT_TYPES
    ]
