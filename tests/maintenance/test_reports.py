"""Scheduled reports: periods in the schedule's zone (DST included), each sent once, with
their files attached to real emails (parsed back) and signed webhooks whose download links a
real HTTP client follows. The clock is frozen; sends run inline after commit."""

import csv
import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
import requests
import time_machine
from django.utils import timezone

from core.models import AuditRecord
from maintenance import reports
from maintenance import services as maintenance_services
from maintenance.models import Report, ReportSchedule, Task
from notifications import services as notification_services
from notifications.models import Delivery
from tests.conftest import at
from tests.notifications.conftest import receiver, smtp  # noqa: F401 (fixtures)

V1 = "/api/v1/maintenance"
SCHEDULES = f"{V1}/report-schedules"


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    # The receivers listen on 127.0.0.1, which production refuses (egress guard).
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = True
    settings.NOTIFICATIONS_HTTP_TIMEOUT = 2
    settings.EMAIL_TIMEOUT = 2


@pytest.fixture
def clock():
    with time_machine.travel(at("2026-03-02 00:00"), tick=False) as traveller:
        yield traveller


@pytest.fixture
def sent(eager_celery, django_capture_on_commit_callbacks):
    """`with sent(): ...` runs the block, then the sends it left for after commit."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def email_channel(db):
    return notification_services.channel_create(
        name="planners", kind="email", target="planners@example.com"
    )


@pytest.fixture
def hook(db, receiver):  # noqa: F811 (the imported fixture)
    channel = notification_services.channel_create(
        name="bi hook", kind="webhook", target=receiver.url("/reports")
    )
    receiver.secrets["/reports"] = channel.secret
    return channel


def make_schedule(api_client, channels, **fields) -> dict:
    body = {
        "name": "Plant weekly",
        "frequency": "daily",
        "channel_ids": [channel.pk for channel in channels],
        **fields,
    }
    response = api_client.post(SCHEDULES, body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def run_due() -> int:
    return reports.reports_send_due(now=timezone.now())


def a_day_of_work(api_client, clock):
    """A daily plan: its first task (due 2026-03-02 08:00Z) completed on time at 10:00."""
    plan = {
        "name": "Lubricate pump bearings",
        "trigger": "calendar",
        "task": {"title": '=HYPERLINK("http://evil")'},  # user text that looks like a formula
        "calendar": {"every": 1, "unit": "day", "start_at": "2026-03-02T08:00:00Z"},
    }
    response = api_client.post(f"{V1}/plans", plan, format="json")
    assert response.status_code == 201, response.json()
    clock.move_to(at("2026-03-02 08:00"))
    assert maintenance_services.plans_execute_due(now=timezone.now()) == 1
    task = Task.objects.get()
    clock.move_to(at("2026-03-02 10:00"))
    response = api_client.post(f"{V1}/tasks/{task.pk}/complete", {}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


# --- periods -------------------------------------------------------------------------------------


def test_it_sends_a_daily_report_once_the_day_ended_in_its_zone(api_client, clock, email_channel):
    schedule = make_schedule(api_client, [email_channel], timezone="Europe/Madrid")
    # Created at 01:00 in Madrid: the first report is of that day, 2026-03-02 local.
    assert schedule["next_period_start"] == "2026-03-01T23:00:00Z"
    assert schedule["next_period_end"] == "2026-03-02T23:00:00Z"

    clock.move_to(at("2026-03-02 22:59:59"))
    assert run_due() == 0
    clock.move_to(at("2026-03-02 23:00"))
    assert run_due() == 1
    assert run_due() == 0  # the same period again: nothing

    (report,) = Report.objects.all()
    assert (report.label, report.trigger) == ("2026-03-02", "scheduled")
    assert report.period_start == at("2026-03-01 23:00")
    assert report.period_end == at("2026-03-02 23:00")
    stored = ReportSchedule.objects.get()
    assert stored.next_period_end == at("2026-03-03 23:00")
    assert Delivery.objects.filter(event="report.ready", channel=email_channel).count() == 1


def test_a_weekly_report_in_madrid_spans_the_october_change(api_client, email_channel):
    # 2026-10-25: clocks go back from 03:00 CEST to 02:00 CET. The ISO week 43 (Mon 19 to
    # Mon 26 October, local) starts at 22:00Z and ends at 23:00Z: 169 hours.
    with time_machine.travel(at("2026-10-21 12:00"), tick=False) as clock:
        make_schedule(api_client, [email_channel], frequency="weekly", timezone="Europe/Madrid")
        plan = {
            "name": "Sunday night check",
            "trigger": "calendar",
            "calendar": {
                "rrule": "FREQ=WEEKLY;BYDAY=SU;BYHOUR=23;BYMINUTE=30",
                "start_at": "2026-10-18T21:30:00Z",
                "timezone": "Europe/Madrid",
            },
        }
        assert api_client.post(f"{V1}/plans", plan, format="json").status_code == 201
        # Due Sunday 23:30 CET = 22:30Z: inside the week, an hour before its end.
        clock.move_to(at("2026-10-25 22:30"))
        assert maintenance_services.plans_execute_due(now=timezone.now()) == 1

        clock.move_to(at("2026-10-25 22:59:59"))  # Sunday 23:59:59 CET: the week goes on
        assert run_due() == 0
        clock.move_to(at("2026-10-25 23:00"))
        assert run_due() == 1

    report = Report.objects.get()
    assert report.label == "2026-W43"
    assert report.period_start == at("2026-10-18 22:00")
    assert report.period_end == at("2026-10-25 23:00")
    assert report.period_end - report.period_start == timedelta(hours=169)
    assert report.data["compliance"]["due_count"] == 1  # the task due at 22:30Z is this week's
    assert report.data["executions"]["count"] == 1
    schedule = ReportSchedule.objects.get()
    assert schedule.next_period_start == at("2026-10-25 23:00")
    assert schedule.next_period_end == at("2026-11-01 23:00")  # the next week: 168 hours


def test_a_monthly_report_ends_at_the_first_local_midnight_of_the_next_month(
    api_client, email_channel
):
    with time_machine.travel(at("2026-03-15 12:00"), tick=False) as clock:
        make_schedule(api_client, [email_channel], frequency="monthly", timezone="America/New_York")
        clock.move_to(at("2026-04-01 03:59"))  # still 31 March in New York
        assert run_due() == 0
        clock.move_to(at("2026-04-01 04:00"))
        assert run_due() == 1
    report = Report.objects.get()
    # March in New York: from EST (05:00Z) to EDT (04:00Z).
    assert (report.label, report.period_start, report.period_end) == (
        "2026-03",
        at("2026-03-01 05:00"),
        at("2026-04-01 04:00"),
    )


def test_after_downtime_each_missed_period_is_reported_once_oldest_first(
    api_client, clock, email_channel
):
    make_schedule(api_client, [email_channel])
    clock.move_to(at("2026-03-05 12:00"))  # beat was down for three days
    assert run_due() == 3
    assert run_due() == 0
    labels = list(Report.objects.order_by("period_start").values_list("label", flat=True))
    assert labels == ["2026-03-02", "2026-03-03", "2026-03-04"]
    keys = set(Delivery.objects.values_list("object_key", flat=True))
    assert len(keys) == 3


def test_a_disabled_schedule_sends_nothing_and_restarts_at_the_current_period(
    api_client, clock, email_channel
):
    schedule = make_schedule(api_client, [email_channel])
    url = f"{SCHEDULES}/{schedule['id']}"
    assert api_client.patch(url, {"enabled": False}, format="json").status_code == 200
    clock.move_to(at("2026-03-10 12:00"))
    assert run_due() == 0
    response = api_client.patch(url, {"enabled": True}, format="json")
    assert response.status_code == 200
    assert response.json()["next_period_start"] == "2026-03-10T00:00:00Z"
    assert run_due() == 0  # no flood of the days it was off


# --- what a report holds, by email and by webhook ---------------------------------------------


def read_csv(part) -> list[dict]:
    text = part.get_content()
    assert text.startswith("\ufeff")  # so spreadsheets read it as UTF-8
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def _attachments(message) -> dict:
    return {part.get_filename(): part for part in message.iter_attachments()}


def test_an_email_report_carries_csv_and_xlsx_files_that_read_back(
    api_client,
    clock,
    smtp,  # noqa: F811 (the imported fixture)
    email_channel,
    sent,
):
    make_schedule(api_client, [email_channel], name="Plant daily")
    task = a_day_of_work(api_client, clock)
    clock.move_to(at("2026-03-03 00:00"))
    with sent():
        assert run_due() == 1

    (message,) = smtp.messages
    assert message["To"] == "planners@example.com"
    assert message["Subject"] == "Report: Plant daily, 2026-03-02"
    files = _attachments(message)
    assert sorted(files) == [
        "plant-daily-2026-03-02-compliance.csv",
        "plant-daily-2026-03-02-executions.csv",
        "plant-daily-2026-03-02-tasks_completed.csv",
        "plant-daily-2026-03-02-tasks_overdue.csv",
        "plant-daily-2026-03-02.xlsx",
    ]
    assert "Compliance rate (%): 100.0" in message.get_body(("plain",)).get_content()

    compliance = read_csv(files["plant-daily-2026-03-02-compliance.csv"])
    total = compliance[0]
    assert total["scope"] == "total"
    assert (total["due_count"], total["on_time_count"], total["compliance_rate"]) == (
        "1",
        "1",
        "100.0",
    )
    completed = read_csv(files["plant-daily-2026-03-02-tasks_completed.csv"])
    assert [(row["code"], row["completed_at"], row["late"]) for row in completed] == [
        (task["code"], "2026-03-02T10:00:00Z", "False")
    ]
    # A title that a spreadsheet would run as a formula is quoted.
    assert completed[0]["title"] == '\'=HYPERLINK("http://evil")'

    workbook = openpyxl.load_workbook(
        io.BytesIO(files["plant-daily-2026-03-02.xlsx"].get_content())
    )
    assert workbook.sheetnames == [
        "Summary",
        "Compliance",
        "Tasks completed",
        "Tasks overdue",
        "Executions",
    ]
    sheet = workbook["Tasks completed"]
    header = [cell.value for cell in sheet[1]]
    row = dict(zip(header, [cell.value for cell in sheet[2]], strict=True))
    assert row["code"] == task["code"]
    assert row["completed_at"] == datetime(2026, 3, 2, 10, 0)  # wall time in UTC
    assert row["title"] == '=HYPERLINK("http://evil")'
    assert sheet.cell(row=2, column=header.index("title") + 1).data_type == "s"  # not a formula
    executions = workbook["Executions"]
    assert executions.max_row == 2  # the one calendar execution


def test_a_webhook_report_is_signed_and_its_links_download_the_files(
    api_client,
    clock,
    receiver,  # noqa: F811 (the imported fixture)
    hook,
    sent,
    live_server,
    settings,
):
    settings.PUBLIC_BASE_URL = live_server.url
    make_schedule(api_client, [hook], name="Plant daily", formats=["xlsx", "csv", "pdf"])
    a_day_of_work(api_client, clock)
    clock.move_to(at("2026-03-03 00:00"))
    with sent():
        assert run_due() == 1

    (post,) = receiver.requests
    assert post.signature_ok and post.standard_signature_ok
    body = post.json
    assert body["event"] == "report.ready"
    report = body["data"]["report"]
    assert report["period"] == {
        "start": "2026-03-02T00:00:00Z",
        "end": "2026-03-03T00:00:00Z",
        "first_day": "2026-03-02",
        "last_day": "2026-03-02",
    }
    assert report["data"]["compliance"]["compliance_rate"] == 100.0
    assert report["data"]["tasks_completed"]["count"] == 1
    assert report["data"]["executions"]["by_trigger"]["calendar"] == 1
    by_format = {}
    for file in report["files"]:
        by_format.setdefault(file["format"], []).append(file)
    assert sorted(by_format) == ["csv", "pdf", "xlsx"]
    assert len(by_format["csv"]) == 4

    (xlsx,) = by_format["xlsx"]
    assert xlsx["url"].startswith(live_server.url)
    assert xlsx["expires_at"] == "2026-03-10T00:00:00Z"
    downloaded = requests.get(xlsx["url"], timeout=5)
    assert downloaded.status_code == 200
    assert downloaded.headers["Content-Type"] == reports.CONTENT_TYPES["xlsx"]
    assert len(downloaded.content) == xlsx["size"]
    workbook = openpyxl.load_workbook(io.BytesIO(downloaded.content))
    assert workbook["Summary"]["A1"].value == "Plant daily"
    (pdf,) = by_format["pdf"]
    assert requests.get(pdf["url"], timeout=5).content.startswith(b"%PDF")

    # A link opens its own file only, and only until it expires.
    token = xlsx["url"].split("?token=", 1)[1]
    other = by_format["csv"][0]["url"].split("?", 1)[0]
    refused = requests.get(f"{other}?token={token}", timeout=5)
    assert refused.status_code == 401
    assert "invalid or has expired" in refused.json()["error"]["message"]
    clock.move_to(at("2026-03-10 00:00:01"))
    assert requests.get(xlsx["url"], timeout=5).status_code == 401


def test_the_overdue_metric_lists_what_was_past_its_deadline_at_the_period_end(
    api_client, clock, email_channel
):
    make_schedule(api_client, [email_channel], metrics=["tasks_overdue", "compliance"])
    a_day_of_work(api_client, clock)
    clock.move_to(at("2026-03-03 08:00"))  # the second task, due now, deadline tomorrow 08:00
    assert maintenance_services.plans_execute_due(now=timezone.now()) == 1
    clock.move_to(at("2026-03-05 00:00"))
    assert run_due() == 3
    by_day = {r.label: r.data for r in Report.objects.all()}
    assert by_day["2026-03-03"]["tasks_overdue"]["count"] == 0  # not late yet at midnight
    overdue = by_day["2026-03-04"]["tasks_overdue"]
    assert overdue["count"] == 1
    assert overdue["tasks"][0]["overdue_hours"] == 16.0  # 08:00 to midnight
    assert by_day["2026-03-04"]["compliance"]["due_count"] == 0
    assert set(by_day["2026-03-04"]) == {"tasks_overdue", "compliance"}


# --- send now -----------------------------------------------------------------------------------


def test_send_now_sends_the_last_complete_period_as_a_manual_report_each_time(
    api_client,
    clock,
    hook,
    receiver,  # noqa: F811 (the imported fixture)
    sent,
):
    schedule = make_schedule(api_client, [hook])
    clock.move_to(at("2026-03-04 09:00"))
    with sent():
        response = api_client.post(f"{SCHEDULES}/{schedule['id']}/send", format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["report"]["label"] == "2026-03-03"
    assert body["report"]["trigger"] == "manual"
    assert [d["channel_id"] for d in body["deliveries"]] == [hook.pk]
    with sent():
        assert api_client.post(f"{SCHEDULES}/{schedule['id']}/send").status_code == 202
    assert len(receiver.requests) == 2  # on request, every time
    # The scheduled reports are not affected: both missed days still go out, once.
    assert run_due() == 2
    assert Report.objects.filter(trigger="scheduled").count() == 2

    response = api_client.post(f"{SCHEDULES}/rsch_nope/send")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Report schedule with id 'rsch_nope' not found"


# --- the API: CRUD, unhappy paths, downloads, audit, schema ---------------------------------------


def test_crud_round_trip_is_audited(api_client, clock, email_channel, hook):
    created = make_schedule(api_client, [email_channel], frequency="weekly")
    assert created["metrics"] == ["compliance", "tasks_completed", "tasks_overdue", "executions"]
    assert created["formats"] == ["csv", "xlsx"]
    assert created["enabled"] is True
    url = f"{SCHEDULES}/{created['id']}"
    assert api_client.get(url).json() == created

    put = {**created, "name": "Renamed", "channel_ids": [hook.pk], "formats": ["pdf"]}
    response = api_client.put(url, put, format="json")  # read-only fields are ignored
    assert response.status_code == 200, response.json()
    assert (response.json()["name"], response.json()["channel_ids"]) == ("Renamed", [hook.pk])
    assert response.json()["next_period_start"] == created["next_period_start"]  # same week

    listed = api_client.get(SCHEDULES).json()
    assert (listed["total"], listed["items"][0]["id"]) == (1, created["id"])
    assert api_client.delete(url).status_code == 204
    assert api_client.get(url).status_code == 404

    actions = list(
        AuditRecord.objects.filter(object_pk=created["id"])
        .order_by("timestamp", "id")
        .values_list("action", "actor_name")
    )
    assert [actor for _, actor in actions] == ["key:tests"] * 3
    assert len(actions) == 3
    audit = api_client.get("/api/v1/audit", {"object_type": "report_schedule"}).json()
    assert len(audit["items"]) == 3


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"frequency": "hourly"}, "frequency", '"hourly" is not a valid choice.'),
        ({"timezone": "Mars/Olympus"}, "timezone", "Unknown timezone 'Mars/Olympus'"),
        ({"metrics": ["uptime"]}, "metrics[0]", '"uptime" is not a valid choice.'),
        ({"metrics": []}, "metrics", "Ensure this field has at least 1 elements."),
        ({"formats": ["docx"]}, "formats[0]", '"docx" is not a valid choice.'),
        ({"formats": ["csv", "csv"]}, "formats", "Must not contain duplicates."),
        ({"channel_ids": []}, "channel_ids", "Ensure this field has at least 1 elements."),
        ({"channel_ids": ["chan_nope"]}, "channel_ids", "Channel 'chan_nope' not found"),
        ({"name": ""}, "name", "This field may not be blank."),
        ({"enabled": "yes"}, "enabled", "Must be a valid boolean."),
        ({"colour": "red"}, "colour", "Unknown field"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api_client, email_channel, body, field, message):
    full = {"name": "Weekly", "frequency": "weekly", "channel_ids": [email_channel.pk], **body}
    response = api_client.post(SCHEDULES, full, format="json")
    assert response.status_code == 400, response.json()
    details = response.json()["error"]["details"]
    assert field in details, details
    assert message.lower() in str(details[field]).lower()
    assert not ReportSchedule.objects.exists()


def test_a_channel_that_does_not_hear_reports_is_refused_by_name(api_client, db):
    deaf = notification_services.channel_create(
        name="overdue only", kind="email", target="ops@example.com", events=["task.overdue"]
    )
    response = api_client.post(
        SCHEDULES, {"name": "x", "frequency": "daily", "channel_ids": [deaf.pk]}, format="json"
    )
    assert response.status_code == 400
    (message,) = response.json()["error"]["details"]["channel_ids"]
    assert message.startswith(f"Channel '{deaf.pk}' does not hear report.ready")


def test_a_read_only_key_may_read_but_not_write(read_only_client, api_client, email_channel):
    assert read_only_client.get(SCHEDULES).status_code == 200
    body = {"name": "x", "frequency": "daily", "channel_ids": [email_channel.pk]}
    assert read_only_client.post(SCHEDULES, body, format="json").status_code == 403
    schedule = make_schedule(api_client, [email_channel])
    assert read_only_client.post(f"{SCHEDULES}/{schedule['id']}/send").status_code == 403


def test_files_download_with_an_api_key_and_not_without(
    api_client, anon_client, clock, email_channel
):
    make_schedule(api_client, [email_channel], formats=["csv"], metrics=["executions"])
    clock.move_to(at("2026-03-03 00:00"))
    run_due()
    report = api_client.get(f"{V1}/reports").json()["items"][0]
    (file,) = report["files"]
    assert file["path"].endswith("/files/plant-weekly-2026-03-02-executions.csv")
    response = api_client.get(file["path"])
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{file["name"]}"'
    assert response.content.decode().lstrip("\ufeff").startswith("id,plan_id,plan_name")
    assert anon_client.get(file["path"]).status_code == 401
    assert anon_client.get(file["path"], {"token": "forged"}).status_code == 401
    missing = api_client.get(f"{V1}/reports/{report['id']}/files/nope.csv")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == f"Report '{report['id']}' has no file 'nope.csv'"


def test_lists_take_a_constant_number_of_queries(
    api_client, clock, email_channel, django_assert_max_num_queries
):
    for n in range(3):
        make_schedule(api_client, [email_channel], name=f"S{n}")
    clock.move_to(at("2026-03-04 00:00"))
    assert run_due() == 6
    with django_assert_max_num_queries(6):
        reports_page = api_client.get(f"{V1}/reports", {"limit": 100}).json()
    assert reports_page["total"] == 6
    with django_assert_max_num_queries(5):
        assert api_client.get(SCHEDULES).json()["total"] == 3
    schedule_id = reports_page["items"][0]["schedule_id"]
    only = api_client.get(f"{V1}/reports", {"schedule_id": schedule_id}).json()
    assert only["total"] == 2


def test_every_route_and_field_is_in_the_openapi_schema(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/maintenance/report-schedules"])
    assert {"get", "put", "patch", "delete"} <= set(
        paths["/api/v1/maintenance/report-schedules/{id}"]
    )
    assert "post" in paths["/api/v1/maintenance/report-schedules/{id}/send"]
    assert "get" in paths["/api/v1/maintenance/reports/{id}/files/{name}"]
    components = schema["components"]["schemas"]
    assert set(components["ReportFrequency"]["enum"]) == {"daily", "weekly", "monthly"}
    assert set(components["ReportScheduleInputRequest"]["properties"]) >= {
        "name",
        "frequency",
        "timezone",
        "metrics",
        "formats",
        "channel_ids",
        "enabled",
    }
    assert "reportLinkToken" in schema["components"]["securitySchemes"]


# --- periods, as pure functions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "frequency", "zone", "start", "end", "label"),
    [
        # Madrid springs forward on 29 March: a day of 23 hours.
        ("2026-03-29 12:00", "daily", "Europe/Madrid",
         "2026-03-28 23:00", "2026-03-29 22:00", "2026-03-29"),
        ("2026-12-31 23:30", "weekly", "UTC", "2026-12-28 00:00", "2027-01-04 00:00", "2026-W53"),
        ("2026-02-10 00:00", "monthly", "UTC", "2026-02-01 00:00", "2026-03-01 00:00", "2026-02"),
        # Santiago springs forward at midnight: 6 September 2026 starts at 01:00 local.
        ("2026-09-06 12:00", "daily", "America/Santiago",
         "2026-09-06 04:00", "2026-09-07 03:00", "2026-09-06"),
    ],
)  # fmt: skip
def test_periods_run_from_local_midnight_to_local_midnight(
    instant, frequency, zone, start, end, label
):
    period = reports.period_containing(at(instant), frequency=frequency, timezone=zone)
    assert (period.start, period.end, period.label) == (at(start), at(end), label)
    assert period.start.tzinfo == UTC
