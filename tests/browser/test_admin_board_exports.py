"""Exports in a real browser: the task list's Export button downloads an XLSX of what the
list shows, and the dashboard's compliance link a CSV (the task is due now, so today's
compliance counts it)."""

import io
from datetime import UTC, timedelta
from pathlib import Path

import openpyxl
import pytest
from django.utils import timezone

from maintenance import services
from maintenance.specs import CalendarTrigger, PlanSpec

pytestmark = pytest.mark.browser


@pytest.fixture
def task():
    now = timezone.now()
    plan = services.plan_create(
        spec=PlanSpec(
            name="Grease the conveyor",
            trigger=CalendarTrigger(
                every=1, unit="week", start_at=(now - timedelta(hours=1)).astimezone(UTC)
            ),
        ),
        now=now,
    )
    return services.plan_execute(plan_id=plan.pk, by="tests", now=now)


def test_it_downloads_tasks_as_xlsx_and_compliance_as_csv(page, task, screenshot):
    page.goto("/admin/maintenance/task/")
    page.click("a.export_link")
    page.wait_for_selector("select[name=format]")
    page.select_option("select[name=format]", label="xlsx")
    screenshot(page, "export-form")
    with page.expect_download() as download:
        page.click("input[type=submit]")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    assert task.code in [cell.value for cell in sheet["B"]]

    page.goto("/admin/")
    with page.expect_download() as download:
        page.click("#export-compliance-csv")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert "Grease the conveyor" in text and "All plans" in text
