"""The dashboard on the admin home, in a real browser: figures, the compliance chart with
its plans, and each figure opening the filtered list behind it; desktop and phone."""

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from maintenance import services
from maintenance.models import Task, Technician
from maintenance.specs import CalendarTrigger, PlanSpec
from tests.browser.conftest import scrolls_sideways

pytestmark = pytest.mark.browser


@pytest.fixture
def overdue_task():
    """A task whose deadline passed an hour ago (its plan started two days ago, daily)."""
    now = timezone.now()
    tech = Technician.objects.create(name="Ada Fixer")
    plan = services.plan_create(
        spec=PlanSpec(
            name="Grease the conveyor",
            assignee_id=tech.pk,
            trigger=CalendarTrigger(
                every=1, unit="day", start_at=(now - timedelta(hours=25)).astimezone(UTC)
            ),
        ),
        now=now - timedelta(hours=26),
    )
    services.plans_execute_due(now=now - timedelta(hours=25))
    return Task.objects.get(plan_id=plan.pk)


def test_the_figures_open_the_filtered_lists(page, overdue_task, screenshot):
    page.goto("/admin/")
    assert page.inner_text("#figure-overdue strong") == "1"
    page.click("#compliance-plans summary")
    assert "Grease the conveyor" in page.inner_text("#compliance-plans")
    assert page.locator("#board-compliance svg rect.board-bar").count() == 6
    screenshot(page, "dashboard")

    page.click("#figure-overdue")
    page.wait_for_selector("#result_list")
    assert page.locator("#result_list tbody tr").count() == 1
    assert overdue_task.code in page.inner_text("#result_list")
    screenshot(page, "overdue-list")

    page.goto("/admin/")
    page.click("#board-by-assignee a >> text=Ada Fixer")
    page.wait_for_selector("#result_list")
    assert overdue_task.code in page.inner_text("#result_list")


def test_it_fits_a_phone_screen(phone_page, overdue_task, screenshot):
    phone_page.goto("/admin/")
    phone_page.wait_for_selector("#dashboard")
    assert not scrolls_sideways(phone_page)
    screenshot(phone_page, "phone")
