"""Skipping a plan's next occurrence from its admin page, through `plan_skip`."""

from datetime import UTC, datetime

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone

from core.models import AuditRecord
from maintenance import services
from maintenance.models import Execution, Plan
from tests.maintenance.conftest import CALENDAR_SPEC, COUNTER_SPEC

pytestmark = pytest.mark.usefixtures("clock")


def _pages(plan: Plan) -> tuple[str, str]:
    change = reverse("admin:maintenance_plan_change", args=[quote(plan.pk)])
    skip = reverse("admin:maintenance_plan_skip", args=[quote(plan.pk)])
    return change, skip


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_a_planner_skips_the_next_occurrence_with_a_reason(admin_client):
    plan = services.plan_create(spec=CALENDAR_SPEC, now=timezone.now())
    change, skip = _pages(plan)
    assert 'id="skip-form"' in admin_client.get(change).content.decode()

    response = admin_client.post(skip, {"reason": "Plant shut for the audit"}, follow=True)

    assert _messages(response) == ["The occurrence due 2026-03-02 08:00 UTC was skipped."]
    [skipped] = Execution.objects.filter(plan_id=plan.pk)
    assert (skipped.skipped, skipped.skip_reason) == (True, "Plant shut for the audit")
    plan.refresh_from_db()
    assert plan.next_due_at == datetime(2026, 3, 3, 8, tzinfo=UTC)
    assert AuditRecord.objects.filter(object_pk=plan.pk, actor_name="user:root").exists()


def test_a_skip_without_a_reason_is_refused_and_skips_nothing(admin_client):
    plan = services.plan_create(spec=CALENDAR_SPEC, now=timezone.now())
    _, skip = _pages(plan)

    response = admin_client.post(skip, {"reason": ""}, follow=True)

    assert _messages(response) == ["Reason: This field is required."]
    assert not Execution.objects.filter(plan_id=plan.pk).exists()


def test_paused_and_counter_plans_offer_no_skip_and_refuse_one(admin_client):
    paused = services.plan_create(spec=CALENDAR_SPEC, now=timezone.now())
    services.plan_pause(plan_id=paused.pk, now=timezone.now())
    counter = services.plan_create(spec=COUNTER_SPEC, now=timezone.now())
    for plan in (paused, counter):
        change, skip = _pages(plan)
        assert 'id="skip-form"' not in admin_client.get(change).content.decode()
        response = admin_client.post(skip, {"reason": "no"}, follow=True)
        [message] = _messages(response)
        assert "skip" in message.lower() or "paused" in message.lower(), message
        assert not Execution.objects.filter(plan_id=plan.pk).exists()
