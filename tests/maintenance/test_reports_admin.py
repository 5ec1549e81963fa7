"""The report admin: schedules written through the services (their rules, their audit), a
"send now" action, and reports read-only with links to their files."""

import pytest
import time_machine
from django.contrib.admin.utils import quote

from core.models import AuditRecord
from maintenance.models import Report, ReportSchedule
from notifications import services as notification_services
from tests.conftest import at

ADD = "/admin/maintenance/reportschedule/add/"
CHANGELIST = "/admin/maintenance/reportschedule/"


@pytest.fixture
def clock():
    with time_machine.travel(at("2026-03-04 09:00"), tick=False) as traveller:
        yield traveller


@pytest.fixture
def channel(db):
    return notification_services.channel_create(
        name="planners", kind="email", target="planners@example.com"
    )


def form(channel, **fields) -> dict:
    return {
        "name": "Plant daily",
        "frequency": "daily",
        "timezone": "Europe/Madrid",
        "metrics": ["compliance", "executions"],
        "formats": ["csv", "xlsx"],
        "channel_ids": [channel.pk],
        "enabled": "on",
        **fields,
    }


def test_the_add_form_creates_through_the_service_and_is_audited(admin_client, clock, channel):
    page = admin_client.get(ADD)
    assert page.status_code == 200
    assert channel.pk in page.content.decode()  # the channel is a choice

    response = admin_client.post(ADD, form(channel))
    assert response.status_code == 302, response.context["adminform"].form.errors
    schedule = ReportSchedule.objects.get()
    assert (schedule.metrics, schedule.formats) == (["compliance", "executions"], ["csv", "xlsx"])
    assert schedule.next_period_start == at("2026-03-03 23:00")  # 4 March in Madrid
    record = AuditRecord.objects.get(object_pk=schedule.pk)
    assert record.actor_name == "user:root"


def test_a_bad_timezone_comes_back_on_its_field(admin_client, clock, channel):
    response = admin_client.post(ADD, form(channel, timezone="Mars/Olympus"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["timezone"] == [
        "Unknown timezone 'Mars/Olympus'; use an IANA name like Europe/Madrid."
    ]
    assert not ReportSchedule.objects.exists()


def test_send_now_and_the_report_page_link_its_files(admin_client, clock, channel):
    admin_client.post(ADD, form(channel))
    schedule = ReportSchedule.objects.get()
    response = admin_client.post(
        CHANGELIST, {"action": "send_now", "_selected_action": [schedule.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "Sent 1 of 1." in response.content.decode()
    report = Report.objects.get()
    assert (report.trigger, report.label) == ("manual", "2026-03-03")

    page = admin_client.get(f"/admin/maintenance/report/{quote(report.pk)}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    link = f"/api/v1/maintenance/reports/{report.pk}/files/plant-daily-2026-03-03.xlsx"
    assert link in html
    # The staff session opens the file, as the API does for its permissions.
    download = admin_client.get(link)
    assert download.status_code == 200
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
