"""Scheduled reports: what a period's report holds, its files, and every write around it.

A `ReportSchedule` names a frequency (daily, weekly from Monday, monthly), an IANA timezone,
the metrics, the file formats and the notification channels. Periods are the local days,
weeks and months of that zone, from local midnight to local midnight, stored as UTC
instants (so a week across the October change lasts 169 hours, and a report of it counts
exactly what fell in it). A period's report is produced once the period has ended there.

Exactly once: the beat job (`reports_send_due`) claims a due schedule under a row lock
(``skip_locked`` on PostgreSQL), creates the report, which is unique per (schedule, period
start) among scheduled reports, and moves the schedule on, all in one transaction; it sends
with `notifications.services.notify` under the object key ``report:<schedule>:<period>``,
whose deliveries are unique per (event, object key, channel). So a second beat, a second
worker or a redelivered message sends nothing twice; the deliveries retry like any other.

Email channels get the files attached (`email_attachments`, registered with the email
transport); webhooks get the figures as JSON, signed like every webhook, with a link to each
file (`file_link`: a signed token that expires, or an API key, opens it). Apprise channels
get the text with the links.

The payload of ``report.ready`` (besides ``timezone``, the schedule's zone)::

    {"timezone": "Europe/Madrid",
     "report": {"id": "rpt_…", "trigger": "scheduled", "frequency": "weekly",
                "label": "2026-W43", "metrics": ["compliance", …],
                "schedule": {"id": "rsch_…", "name": "…"},
                "period": {"start": "…Z", "end": "…Z", "first_day": "2026-10-19",
                           "last_day": "2026-10-25"},
                "summary": [{"metric": "compliance", "title": "Compliance",
                             "lines": [{"label": "Due", "value": 12}, …]}, …],
                "data": {"compliance": {…}, "tasks_completed": {…}, …},
                "files": [{"name": "….xlsx", "format": "xlsx", "content_type": "…",
                           "size": 5120, "url": "https://…?token=…", "expires_at": "…Z"}]}}
"""

import csv
import io
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext

from core import audit
from core.errors import InvalidInput, NotFound, summary_message
from maintenance import selectors
from maintenance.events import REPORT_READY
from maintenance.models import (
    Execution,
    Plan,
    Report,
    ReportFile,
    ReportSchedule,
    Task,
)
from notifications import services as notifications
from notifications.models import Channel, Delivery

logger = logging.getLogger(__name__)

Frequency = ReportSchedule.Frequency

COMPLIANCE = "compliance"
TASKS_COMPLETED = "tasks_completed"
TASKS_OVERDUE = "tasks_overdue"
EXECUTIONS = "executions"
METRICS = {
    COMPLIANCE: "Compliance",
    TASKS_COMPLETED: "Tasks completed",
    TASKS_OVERDUE: "Tasks overdue",
    EXECUTIONS: "Executions",
}

CSV, XLSX, PDF = "csv", "xlsx", "pdf"
CONTENT_TYPES = {
    CSV: "text/csv",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    PDF: "application/pdf",
}
FORMATS = tuple(CONTENT_TYPES)
DEFAULT_FORMATS = (CSV, XLSX)
MAX_CHANNELS = 50
# Rows a PDF table shows; the CSV and XLSX files carry every row (up to REPORTS_MAX_ROWS).
PDF_MAX_ROWS = 500
_LINK_SALT = "maintenance.reports.file"


# --- specs and validation -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReportScheduleSpec:
    """A whole report schedule as `report_schedule_create` / `_update` take it."""

    name: str
    frequency: str
    channel_ids: tuple[str, ...]
    timezone: str = "UTC"
    metrics: tuple[str, ...] = tuple(METRICS)
    formats: tuple[str, ...] = DEFAULT_FORMATS
    enabled: bool = True


def report_schedule_spec_of(schedule: ReportSchedule) -> ReportScheduleSpec:
    return ReportScheduleSpec(
        name=schedule.name,
        frequency=schedule.frequency,
        timezone=schedule.timezone,
        metrics=tuple(schedule.metrics),
        formats=tuple(schedule.formats),
        channel_ids=tuple(schedule.channel_ids),
        enabled=schedule.enabled,
    )


def timezone_problem(name: str) -> str | None:
    """Why `name` is not an IANA timezone, or None."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return gettext("Unknown timezone '%(name)s'; use an IANA name like Europe/Madrid.") % {
            "name": name
        }
    return None


def _choice_problem(values: tuple[str, ...], known, what: str) -> str | None:
    if not values:
        return gettext("Choose at least one %(what)s.") % {"what": what}
    unknown = [value for value in values if value not in known]
    if unknown:
        return gettext("Unknown %(what)s '%(value)s'. Must be one of: %(known)s.") % {
            "what": what,
            "value": unknown[0],
            "known": ", ".join(known),
        }
    if len(set(values)) != len(values):
        return gettext("Must not contain duplicates.")
    return None


def pdf_available() -> bool:
    try:
        import fpdf  # noqa: F401
    except ImportError:
        return False
    return True


def _channel_problems(channel_ids: tuple[str, ...]) -> list[str]:
    if not channel_ids:
        return [gettext("Choose at least one channel.")]
    if len(channel_ids) > MAX_CHANNELS:
        return [(gettext("At most %(MAX_CHANNELS)s channels.") % {"MAX_CHANNELS": MAX_CHANNELS})]
    if len(set(channel_ids)) != len(channel_ids):
        return [gettext("Must not contain duplicates.")]
    channels = Channel.objects.in_bulk(list(channel_ids))
    problems = []
    for channel_id in channel_ids:
        channel = channels.get(channel_id)
        if channel is None:
            problems.append(
                gettext("Channel '%(channel_id)s' not found") % {"channel_id": channel_id}
            )
        elif not channel.wants(REPORT_READY):
            # notify would skip it silently: its subscriptions leave reports out.
            problems.append(
                gettext(
                    "Channel '%(channel_id)s' does not hear %(REPORT_READY)s (its events "
                    "list others); add %(REPORT_READY)s to its events"
                )
                % {"channel_id": channel_id, "REPORT_READY": REPORT_READY}
            )
    return problems


def schedule_problems(spec: ReportScheduleSpec) -> dict[str, list[str]]:
    """Every rule a schedule breaks, keyed by the API body's field names."""
    errors: dict[str, list[str]] = {}
    if not spec.name.strip():
        errors["name"] = [gettext("This field may not be blank.")]
    if spec.frequency not in Frequency.values:
        errors["frequency"] = [
            (gettext("Must be one of: %(values)s.") % {"values": ", ".join(Frequency.values)})
        ]
    problem = timezone_problem(spec.timezone)
    if problem:
        errors["timezone"] = [problem]
    problem = _choice_problem(spec.metrics, tuple(METRICS), "metric")
    if problem:
        errors["metrics"] = [problem]
    problem = _choice_problem(spec.formats, FORMATS, "format")
    if problem is None and PDF in spec.formats and not pdf_available():
        problem = gettext("PDF reports need the fpdf2 package, which is not installed.")
    if problem:
        errors["formats"] = [problem]
    problems = _channel_problems(spec.channel_ids)
    if problems:
        errors["channel_ids"] = problems
    return errors


def _check(spec: ReportScheduleSpec) -> None:
    errors = schedule_problems(spec)
    if errors:
        raise InvalidInput(summary_message(errors), details=errors)


# --- periods ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A local day, week (Monday to Monday) or month, as UTC instants [start, end)."""

    start: datetime
    end: datetime
    first_day: date
    last_day: date
    label: str


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    # fold=0: a midnight that does not exist (a zone that springs forward at 00:00) falls
    # forward by the gap, an ambiguous one takes its first instance (DESIGN "Time").
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def period_containing(instant: datetime, *, frequency: str, timezone: str) -> Period:
    """The period of `frequency` in `timezone` that `instant` falls in."""
    zone = ZoneInfo(timezone)
    day = instant.astimezone(zone).date()
    if frequency == Frequency.DAILY:
        first, after = day, day + timedelta(days=1)
        label = first.isoformat()
    elif frequency == Frequency.WEEKLY:
        first = day - timedelta(days=day.weekday())
        after = first + timedelta(days=7)
        year, week, _ = first.isocalendar()
        label = f"{year}-W{week:02d}"
    else:
        first = day.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
        label = f"{first:%Y-%m}"
    return Period(
        start=_local_midnight(first, zone),
        end=_local_midnight(after, zone),
        first_day=first,
        last_day=after - timedelta(days=1),
        label=label,
    )


def period_after(period: Period, *, frequency: str, timezone: str) -> Period:
    return period_containing(period.end, frequency=frequency, timezone=timezone)


def period_before(period: Period, *, frequency: str, timezone: str) -> Period:
    return period_containing(
        period.start - timedelta(microseconds=1), frequency=frequency, timezone=timezone
    )


def _stored_period(schedule: ReportSchedule) -> Period:
    return period_containing(
        schedule.next_period_start, frequency=schedule.frequency, timezone=schedule.timezone
    )


# --- the figures ------------------------------------------------------------------------------


def _jsonable(value):
    """The figures as stored and sent: instants as ISO 8601 UTC with Z, dates ISO, decimals
    as numbers."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _rows(queryset) -> tuple[list[dict], bool]:
    limit = settings.REPORTS_MAX_ROWS
    rows = list(queryset[: limit + 1])
    return rows[:limit], len(rows) > limit


def _compliance(period: Period, timezone: str, as_of: datetime) -> dict:
    report = selectors.compliance_report(
        start_date=period.first_day, end_date=period.last_day, now=as_of, timezone=timezone
    )
    names = dict(
        Plan.objects.filter(pk__in=[row["plan_id"] for row in report["by_plan"]]).values_list(
            "pk", "name"
        )
    )
    for row in report["by_plan"]:
        row["plan_name"] = names.get(row["plan_id"])
    return report


# The columns of each listing, in file order; the names join the plan and the assignee.
_TASK_COLUMNS = (
    "id",
    "code",
    "title",
    "plan_id",
    "plan_name",
    "assignee_id",
    "assignee_name",
    "due_at",
    "deadline_at",
)
_TASK_NAMES = {"plan_name": F("plan__name"), "assignee_name": F("assignee__name")}
COLUMNS = {
    TASKS_COMPLETED: (*_TASK_COLUMNS, "completed_at", "completed_by", "late"),
    TASKS_OVERDUE: (*_TASK_COLUMNS, "status", "overdue_hours"),
    EXECUTIONS: (
        "id",
        "plan_id",
        "plan_name",
        "trigger",
        "due_at",
        "executed_at",
        "executed_by",
        "missed",
        "task_id",
        "task_code",
    ),
}


def _listed(queryset, metric: str, **names) -> tuple[list[dict], bool]:
    """Up to REPORTS_MAX_ROWS rows of `metric`'s columns (computed ones filled in later)."""
    fields = [c for c in COLUMNS[metric] if c not in names and c in _STORED[metric]]
    rows, truncated = _rows(queryset.values(*fields, **names))
    return [{column: row.get(column) for column in COLUMNS[metric]} for row in rows], truncated


_STORED = {
    TASKS_COMPLETED: {*_TASK_COLUMNS, "completed_at", "completed_by"},
    TASKS_OVERDUE: {*_TASK_COLUMNS, "status"},
    EXECUTIONS: {"id", "plan_id", "trigger", "due_at", "executed_at", "executed_by", "missed"},
}


def _tasks_completed(period: Period, timezone: str, as_of: datetime) -> dict:
    done = Task.objects.filter(
        status=Task.Status.DONE, completed_at__gte=period.start, completed_at__lt=period.end
    )
    late = done.filter(deadline_at__isnull=False, completed_at__gt=F("deadline_at")).count()
    rows, truncated = _listed(done.order_by("completed_at", "code"), TASKS_COMPLETED, **_TASK_NAMES)
    for row in rows:
        row["late"] = row["deadline_at"] is not None and row["completed_at"] > row["deadline_at"]
    return {
        "count": done.count(),
        "on_time_count": done.count() - late,
        "late_count": late,
        "truncated": truncated,
        "tasks": rows,
    }


def _tasks_overdue(period: Period, timezone: str, as_of: datetime) -> dict:
    # Overdue at the period's end: past their deadline then, and neither completed nor
    # cancelled before it (whatever happened to them since).
    end = period.end
    overdue = (
        Task.objects.filter(created_at__lt=end, deadline_at__lt=end)
        .exclude(completed_at__lt=end)
        .exclude(cancelled_at__lt=end)
    )
    rows, truncated = _listed(overdue.order_by("deadline_at", "code"), TASKS_OVERDUE, **_TASK_NAMES)
    for row in rows:
        hours = (end - row["deadline_at"]).total_seconds() / 3600
        row["overdue_hours"] = round(hours, 1)
    return {"count": overdue.count(), "truncated": truncated, "tasks": rows}


def _executions(period: Period, timezone: str, as_of: datetime) -> dict:
    executions = Execution.objects.filter(executed_at__gte=period.start, executed_at__lt=period.end)
    by_trigger = dict(
        executions.order_by()
        .values_list("trigger")
        .annotate(n=Count("id"))
        .values_list("trigger", "n")
    )
    rows, truncated = _listed(
        executions.order_by("executed_at", "id"),
        EXECUTIONS,
        plan_name=F("plan__name"),
        task_id=F("task__id"),
        task_code=F("task__code"),
    )
    return {
        "count": sum(by_trigger.values()),
        "missed_count": executions.filter(missed=True).count(),
        "by_trigger": {trigger: by_trigger.get(trigger, 0) for trigger in Execution.Trigger.values},
        "truncated": truncated,
        "executions": rows,
    }


_COLLECTORS = {
    COMPLIANCE: _compliance,
    TASKS_COMPLETED: _tasks_completed,
    TASKS_OVERDUE: _tasks_overdue,
    EXECUTIONS: _executions,
}


def report_data(
    *, metrics: list[str], period: Period, timezone: str, now: datetime
) -> dict[str, dict]:
    """The figures of `metrics` over `period`, JSON-ready. Open tasks count as of the period's
    end (or now, for a period still running)."""
    as_of = min(now, period.end)
    return _jsonable({metric: _COLLECTORS[metric](period, timezone, as_of) for metric in metrics})


_COMPLIANCE_MEASURES = (
    ("due_count", "Due"),
    ("on_time_count", "On time"),
    ("overdue_count", "Overdue"),
    ("pending_count", "Pending"),
    ("missed_count", "Missed"),
    ("cancelled_count", "Cancelled"),
    ("compliance_rate", "Compliance rate (%)"),
    ("average_delay_hours", "Average delay (h)"),
    ("time_spent_minutes", "Time spent (min)"),
)


def report_summary(data: dict[str, dict]) -> list[dict]:
    """The headline figures of each metric, for messages and the first sheet."""
    summary = []
    for metric, figures in data.items():
        if metric == COMPLIANCE:
            lines = [(label, figures[key]) for key, label in _COMPLIANCE_MEASURES]
        elif metric == TASKS_COMPLETED:
            lines = [
                ("Completed", figures["count"]),
                ("On time", figures["on_time_count"]),
                ("Late", figures["late_count"]),
            ]
        elif metric == TASKS_OVERDUE:
            lines = [("Overdue at the end", figures["count"])]
        else:
            lines = [("Executions", figures["count"]), ("Missed", figures["missed_count"])]
            lines += [(f"Trigger {name}", n) for name, n in figures["by_trigger"].items()]
        summary.append(
            {
                "metric": metric,
                "title": METRICS[metric],
                "lines": [{"label": label, "value": value} for label, value in lines],
            }
        )
    return summary


# --- files -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    metric: str
    title: str
    columns: list[str]
    rows: list[list]


def report_tables(data: dict[str, dict]) -> list[Table]:
    """One table per metric: compliance by plan (total first), or the rows behind a count."""
    tables = []
    for metric, figures in data.items():
        if metric == COMPLIANCE:
            measures = [key for key, _ in _COMPLIANCE_MEASURES]
            columns = ["scope", "plan_id", "plan_name", *measures]
            rows = [["total", None, None, *(figures[key] for key in measures)]]
            rows += [
                ["plan", row["plan_id"], row["plan_name"], *(row[key] for key in measures)]
                for row in figures["by_plan"]
            ]
        else:
            records = figures["executions" if metric == EXECUTIONS else "tasks"]
            columns = list(COLUMNS[metric])
            rows = [[record.get(column) for column in columns] for record in records]
        tables.append(Table(metric, METRICS[metric], columns, rows))
    return tables


# A cell starting with one of these is a formula to a spreadsheet: user text (a task title)
# must never run as one (CSV injection), so it is quoted.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def render_csv(table: Table) -> bytes:
    """UTF-8 with a BOM (so spreadsheets read accents), instants as in the API (UTC, Z)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if value is None else _text_cell(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode()


def _local_cell(column: str, value, zone: ZoneInfo):
    # Spreadsheets have no timezones: instants become the report zone's wall time.
    if column.endswith("_at") and isinstance(value, str):
        return datetime.fromisoformat(value).astimezone(zone).replace(tzinfo=None)
    return value


def render_xlsx(report: Report, tables: list[Table]) -> bytes:
    """A Summary sheet, then one sheet per metric; times are wall time in the report's zone."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    zone = ZoneInfo(report.timezone)
    workbook = Workbook()
    summary = workbook.active
    summary.title = "Summary"
    summary.append([report.schedule.name])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append(["Period", report.label])
    summary.append(["From", _local_cell("from_at", _jsonable(report.period_start), zone)])
    summary.append(["Until", _local_cell("until_at", _jsonable(report.period_end), zone)])
    summary.append(["Times in", report.timezone])
    for section in report_summary(report.data):
        summary.append([])
        summary.append([section["title"]])
        summary.cell(row=summary.max_row, column=1).font = Font(bold=True)
        for line in section["lines"]:
            summary.append([line["label"], line["value"]])
    summary.column_dimensions["A"].width = 28
    summary.column_dimensions["B"].width = 20
    for table in tables:
        sheet = workbook.create_sheet(table.title[:31])
        sheet.append(table.columns)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            cells = zip(table.columns, row, strict=True)
            sheet.append([_local_cell(column, value, zone) for column, value in cells])
            for cell in sheet[sheet.max_row]:
                if cell.data_type == "f":  # user text that looks like a formula stays text
                    cell.data_type = "s"
                if isinstance(cell.value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _latin1(value) -> str:
    # The PDF's core fonts cover Latin-1; other characters show as "?" (the XLSX and CSV
    # files carry the exact text).
    text = "" if value is None else str(value)
    return text.encode("latin-1", "replace").decode("latin-1")


def render_pdf(report: Report, tables: list[Table]) -> bytes:
    """A landscape A4 summary and tables (the first PDF_MAX_ROWS rows of each)."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 14)
    pdf.cell(0, 8, _latin1(report.schedule.name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=9)
    pdf.cell(
        0,
        6,
        _latin1(
            f"{report.label}: {report.period_start:%Y-%m-%d %H:%M} to "
            f"{report.period_end:%Y-%m-%d %H:%M} UTC (periods in {report.timezone})"
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    for section in report_summary(report.data):
        pdf.ln(2)
        pdf.set_font("helvetica", "B", 10)
        pdf.cell(0, 6, _latin1(section["title"]), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=9)
        for line in section["lines"]:
            value = "-" if line["value"] is None else line["value"]
            pdf.cell(0, 5, _latin1(f"{line['label']}: {value}"), new_x="LMARGIN", new_y="NEXT")
    for table in tables:
        pdf.add_page()
        pdf.set_font("helvetica", "B", 11)
        pdf.cell(0, 7, _latin1(table.title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=6)
        with pdf.table(headings_style=FontFace(emphasis="BOLD")) as pdf_table:
            heading = pdf_table.row()
            for column in table.columns:
                heading.cell(_latin1(column))
            for row in table.rows[:PDF_MAX_ROWS]:
                cells = pdf_table.row()
                for value in row:
                    cells.cell(_latin1(value))
        if len(table.rows) > PDF_MAX_ROWS:
            pdf.cell(
                0,
                5,
                f"... {len(table.rows) - PDF_MAX_ROWS} more rows in the CSV and XLSX files",
            )
    return bytes(pdf.output())


def _files_of(report: Report, formats: list[str]) -> list[ReportFile]:
    tables = report_tables(report.data)
    base = f"{slugify(report.schedule.name)[:80] or 'report'}-{report.label}"
    files = []
    for file_format in FORMATS:  # a fixed order, whatever order the schedule names them in
        if file_format not in formats:
            continue
        if file_format == CSV:
            rendered = [(f"{base}-{table.metric}.csv", render_csv(table)) for table in tables]
        elif file_format == XLSX:
            rendered = [(f"{base}.xlsx", render_xlsx(report, tables))]
        else:
            rendered = [(f"{base}.pdf", render_pdf(report, tables))]
        files += [
            ReportFile(
                report=report,
                name=name,
                format=file_format,
                content_type=CONTENT_TYPES[file_format],
                content=content,
                size=len(content),
            )
            for name, content in rendered
        ]
    return files


# --- links ------------------------------------------------------------------------------------


def link_max_age() -> timedelta:
    return timedelta(days=settings.REPORTS_LINK_MAX_AGE_DAYS)


def file_token(report_id: str, name: str) -> str:
    """A signed, timestamped token that opens this one file until `link_max_age` passes."""
    return signing.dumps([report_id, name], salt=_LINK_SALT)


def token_opens(token: str, *, report_id: str, name: str) -> bool:
    """Whether `token` was signed by us for this file and has not expired."""
    try:
        granted = signing.loads(token, salt=_LINK_SALT, max_age=link_max_age())
    except signing.BadSignature:  # SignatureExpired is one too
        return False
    return granted == [report_id, name]


def file_path(report_id: str, name: str) -> str:
    return reverse("v1-report-file", kwargs={"pk": report_id, "name": name})


def file_link(file: ReportFile, *, now: datetime) -> dict:
    """The file as a webhook or a message names it: with a link that needs no API key."""
    query = urlencode({"token": file_token(file.report_id, file.name)})
    url = f"{settings.PUBLIC_BASE_URL.rstrip('/')}{file_path(file.report_id, file.name)}"
    return {
        "name": file.name,
        "format": file.format,
        "content_type": file.content_type,
        "size": file.size,
        "url": f"{url}?{query}",
        "expires_at": now + link_max_age(),
    }


def email_attachments(payload: dict) -> list[tuple[str, bytes, str]]:
    """The files of the report a `report.ready` delivery names (the email transport's hook);
    none when the report was pruned since."""
    files = ReportFile.objects.filter(report_id=payload["report"]["id"]).order_by("id")
    return [(f.name, bytes(f.content), f.content_type) for f in files]


# --- producing and sending ---------------------------------------------------------------------


def report_period(report: Report) -> Period:
    """The period a stored report covers."""
    return period_containing(
        report.period_start, frequency=report.frequency, timezone=report.timezone
    )


def _payload(report: Report, period: Period, files: list[ReportFile], *, now: datetime) -> dict:
    schedule = report.schedule
    return {
        "timezone": report.timezone,
        "report": {
            "id": report.pk,
            "trigger": report.trigger,
            "frequency": report.frequency,
            "label": report.label,
            "metrics": report.metrics,
            "schedule": {"id": schedule.pk, "name": schedule.name},
            "period": {
                "start": report.period_start,
                "end": report.period_end,
                "first_day": period.first_day,
                "last_day": period.last_day,
            },
            "summary": report_summary(report.data),
            "data": report.data,
            "files": [file_link(file, now=now) for file in files],
        },
    }


def _produce(
    schedule: ReportSchedule, period: Period, *, trigger: str, by: str, now: datetime
) -> tuple[Report, list[Delivery]]:
    """Create the report of `period`, its files and its deliveries (inside a transaction)."""
    report = Report(
        schedule=schedule,
        trigger=trigger,
        frequency=schedule.frequency,
        timezone=schedule.timezone,
        period_start=period.start,
        period_end=period.end,
        label=period.label,
        metrics=list(schedule.metrics),
        data=report_data(
            metrics=list(schedule.metrics), period=period, timezone=schedule.timezone, now=now
        ),
        created_at=now,
        created_by=by,
    )
    report.save()
    files = _files_of(report, list(schedule.formats))
    ReportFile.objects.bulk_create(files)
    audit.record_created(report)
    if trigger == Report.Trigger.SCHEDULED:
        object_key = f"report:{schedule.pk}:{period.start:%Y%m%dT%H%M%SZ}"
    else:
        object_key = f"report:{report.pk}"
    deliveries = notifications.notify(
        event=REPORT_READY,
        object_key=object_key,
        payload=_jsonable(_payload(report, period, files, now=now)),
        channel_ids=list(schedule.channel_ids),
        now=now,
    )
    ReportSchedule.objects.filter(pk=schedule.pk).update(last_report_at=now)
    return report, deliveries


# Reports produced per run of the beat job; a longer backlog goes on at the next run.
SEND_DUE_BATCH = 200


def reports_send_due(*, now: datetime, by: str = "system") -> int:
    """Produce and send the report of every enabled schedule whose period has ended; returns
    how many. For beat.

    One schedule per transaction: claimed under its row lock (others skip it), its period's
    report created (unique per schedule and period) and sent, and the schedule moved on by a
    compare-and-set on the period it claimed. A schedule behind by several periods (beat was
    down) reports each, oldest first, a batch per run.
    """
    skip_locked = connection.features.has_select_for_update_skip_locked
    produced = 0
    while produced < SEND_DUE_BATCH:
        with transaction.atomic():
            schedule = (
                ReportSchedule.objects.filter(enabled=True, next_period_end__lte=now)
                .select_for_update(skip_locked=skip_locked)
                .order_by("next_period_end", "id")
                .first()
            )
            if schedule is None:
                return produced
            period = _stored_period(schedule)
            try:
                with transaction.atomic():
                    _produce(schedule, period, trigger=Report.Trigger.SCHEDULED, by=by, now=now)
            except IntegrityError:
                # Already reported (its row says otherwise only if a write raced this one):
                # the unique constraint kept it once; just move on.
                logger.warning("Report of %s for %s exists already", schedule.pk, period.label)
            following = period_after(
                period, frequency=schedule.frequency, timezone=schedule.timezone
            )
            ReportSchedule.objects.filter(
                pk=schedule.pk, next_period_start=schedule.next_period_start
            ).update(next_period_start=following.start, next_period_end=following.end)
        produced += 1
    return produced


def report_schedule_send_now(
    *, schedule_id: str, by: str, now: datetime
) -> tuple[Report, list[Delivery]]:
    """Send the report of the last period that ended, now (a manual report: the scheduled
    one of that period, sent or not, is not affected)."""
    with transaction.atomic():
        schedule = _lock(schedule_id)
        current = period_containing(now, frequency=schedule.frequency, timezone=schedule.timezone)
        period = period_before(current, frequency=schedule.frequency, timezone=schedule.timezone)
        return _produce(schedule, period, trigger=Report.Trigger.MANUAL, by=by, now=now)


# --- schedules: create, update, delete ------------------------------------------------------------


def _lock(schedule_id: str) -> ReportSchedule:
    schedule = ReportSchedule.objects.select_for_update().filter(pk=schedule_id).first()
    if schedule is None:
        raise NotFound(
            gettext("Report schedule with id '%(schedule_id)s' not found")
            % {"schedule_id": schedule_id}
        )
    return schedule


def _apply(schedule: ReportSchedule, spec: ReportScheduleSpec) -> None:
    schedule.name = spec.name
    schedule.frequency = spec.frequency
    schedule.timezone = spec.timezone
    schedule.metrics = list(spec.metrics)
    schedule.formats = list(spec.formats)
    schedule.channel_ids = list(spec.channel_ids)
    schedule.enabled = spec.enabled


def _start_at_current_period(schedule: ReportSchedule, *, now: datetime) -> None:
    # The first report is of the period under way: a new (or re-enabled, or re-timed)
    # schedule never floods its channels with the periods before it.
    period = period_containing(now, frequency=schedule.frequency, timezone=schedule.timezone)
    schedule.next_period_start, schedule.next_period_end = period.start, period.end


def report_schedule_create(*, spec: ReportScheduleSpec, now: datetime) -> ReportSchedule:
    """Create a schedule (400 naming the field it breaks); its first report is of the period
    now under way, sent when that ends."""
    _check(spec)
    schedule = ReportSchedule()
    _apply(schedule, spec)
    _start_at_current_period(schedule, now=now)
    with transaction.atomic():
        schedule.save()
        audit.record_created(schedule)
    return schedule


def report_schedule_update(
    *, schedule_id: str, spec: ReportScheduleSpec, now: datetime
) -> ReportSchedule:
    """Replace a schedule with `spec`. A new frequency or timezone, or enabling it again,
    restarts it at the period now under way (the periods in between are not reported)."""
    _check(spec)
    with transaction.atomic():
        schedule = _lock(schedule_id)
        before = audit.snapshot(schedule)
        restarts = (
            spec.frequency != schedule.frequency
            or spec.timezone != schedule.timezone
            or (spec.enabled and not schedule.enabled)
        )
        _apply(schedule, spec)
        if restarts:
            _start_at_current_period(schedule, now=now)
        schedule.save()
        audit.record_updated(schedule, before=before)
    return schedule


def report_schedule_delete(*, schedule_id: str) -> None:
    """Delete a schedule and its reports (deliveries already sent stay in the outbox)."""
    with transaction.atomic():
        schedule = _lock(schedule_id)
        audit.record_deleted(schedule, before=audit.snapshot(schedule))
        schedule.delete()
