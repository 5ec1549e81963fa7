"""Scheduled reports under real processes: two beats and three workers on PostgreSQL + Redis
send each (schedule, period, channel) report exactly once, to a real SMTP server (files
attached) and a real HTTP endpoint (signed, with a download link the test follows)."""

import io
import time
from datetime import timedelta

import openpyxl
import pytest
import requests
from aiosmtpd.controller import Controller
from django.conf import settings
from django.utils import timezone

from maintenance import reports
from maintenance.models import Report, ReportSchedule
from notifications import services as notification_services
from notifications.models import Delivery
from tests.integration.conftest import wait_for
from tests.notifications.conftest import (
    _MailHandler,
    free_port,
    receiver,  # noqa: F401 (fixture)
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SCHEDULES = 4
DAYS_BEHIND = 3


@pytest.fixture
def mail_server():
    handler = _MailHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def test_two_beats_and_three_workers_send_each_period_once_per_channel(
    cluster,
    api_client,
    postgres_only,
    receiver,  # noqa: F811 (the imported fixture)
    mail_server,
    live_server,
):
    controller, mail = mail_server
    env = {
        "REPORTS_TICK_SECONDS": "1",
        "EMAIL_URL": f"smtp://127.0.0.1:{controller.port}",
        "DEFAULT_FROM_EMAIL": "reports@example.com",
        "PUBLIC_BASE_URL": live_server.url,
        # Links are signed with SECRET_KEY: workers and web share it (each process of the
        # cluster would otherwise make its own under its VAR_DIR).
        "SECRET_KEY": settings.SECRET_KEY,
    }
    hook = notification_services.channel_create(
        name="bi", kind="webhook", target=receiver.url("/reports")
    )
    receiver.secrets["/reports"] = hook.secret
    inbox = notification_services.channel_create(
        name="planners", kind="email", target="planners@example.com"
    )
    for n in range(SCHEDULES):
        response = api_client.post(
            "/api/v1/maintenance/report-schedules",
            {
                "name": f"Site {n}",
                "frequency": "daily",
                "timezone": "Europe/Madrid",
                "formats": ["csv", "xlsx"],
                "metrics": ["compliance", "executions"],
                "channel_ids": [hook.pk, inbox.pk],
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
    # As if the schedules were made three days ago: three days have ended since, each to
    # be reported (the day under way is not).
    now = timezone.now()
    current = reports.period_containing(now, frequency="daily", timezone="Europe/Madrid")
    first = current
    for _ in range(DAYS_BEHIND):
        first = reports.period_before(first, frequency="daily", timezone="Europe/Madrid")
    ReportSchedule.objects.update(next_period_start=first.start, next_period_end=first.end)

    for n in (1, 2, 3):
        cluster.worker(f"worker{n}", **env)
    cluster.beat("beat1", **env)
    cluster.beat("beat2", **env)

    expected = SCHEDULES * DAYS_BEHIND
    wait_for(
        lambda: len(receiver.requests) >= expected and len(mail.messages) >= expected,
        timeout=120,
        what=f"{expected} webhooks and {expected} emails",
    )
    time.sleep(5)  # both beats tick over the sent periods a few more times
    cluster.stop_all()

    assert len(receiver.requests) == expected
    assert len(mail.messages) == expected
    assert Report.objects.count() == expected
    keys = [(r.schedule_id, r.period_start) for r in Report.objects.all()]
    assert len(set(keys)) == expected
    deliveries = Delivery.objects.filter(event="report.ready")
    assert deliveries.count() == 2 * expected
    assert set(deliveries.values_list("status", flat=True)) == {"sent"}
    assert all(r.signature_ok and r.standard_signature_ok for r in receiver.requests)
    assert set(ReportSchedule.objects.values_list("next_period_start", flat=True)) == {
        current.start
    }
    # Every worker's run was recorded under the job's name (the beats' doubles did nothing).
    assert "send_due_reports" in cluster.logs("worker")

    # The email carries the files; the webhook's link downloads the same XLSX.
    message = mail.messages[0]
    attached = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    (xlsx_name,) = [name for name in attached if name.endswith(".xlsx")]
    workbook = openpyxl.load_workbook(io.BytesIO(attached[xlsx_name]))
    assert workbook.sheetnames == ["Summary", "Compliance", "Executions"]
    report = receiver.requests[0].json["data"]["report"]
    (xlsx,) = [f for f in report["files"] if f["format"] == "xlsx"]
    downloaded = requests.get(xlsx["url"], timeout=10)
    assert downloaded.status_code == 200
    assert len(downloaded.content) == xlsx["size"]
    assert (
        timedelta(days=6)
        < (timezone.datetime.fromisoformat(xlsx["expires_at"]) - timezone.now())
        <= timedelta(days=7)
    )
