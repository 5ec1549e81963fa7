"""The plan form's compliance grace, and the delay reason a late task's Complete asks for,
both through the services."""

import json
from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone

from maintenance import services
from maintenance.models import Plan, Task
from tests.maintenance.conftest import CALENDAR_SPEC
from tests.maintenance.test_admin_plans import ADD, _errors, _form

pytestmark = pytest.mark.usefixtures("clock")


def test_the_plan_form_saves_a_grace(admin_client):
    assert admin_client.post(ADD, _form(grace_hours="12")).status_code == 302
    plan = Plan.objects.get()
    assert (plan.grace_hours, plan.grace_fraction) == (12, None)
    url = reverse("admin:maintenance_plan_change", args=[quote(plan.pk)])
    assert admin_client.get(url).context["adminform"].form.initial["grace_hours"] == "12"


def test_the_plan_form_refuses_both_graces_in_the_services_words(admin_client):
    errors = _errors(admin_client.post(ADD, _form(grace_hours="12", grace_fraction="0.1")))
    assert errors["grace_fraction"] == ["Give grace_hours or grace_fraction, not both."]
    errors = _errors(admin_client.post(ADD, _form(grace_fraction="2")))
    assert errors["grace_fraction"] == ["Ensure this value is less than or equal to 1."]


@pytest.fixture
def task() -> Task:
    plan = services.plan_create(spec=CALENDAR_SPEC, now=timezone.now())
    return services.plan_execute(plan_id=plan.pk, by="test", now=timezone.now())


def _complete(client, task: Task, **fields):
    url = reverse("admin:maintenance_task_change", args=[quote(task.pk)])
    page = client.get(url)
    body = {"checklist": json.dumps([{"item": i["item"]} for i in task.checklist]), "notes": ""}
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        body.update({management[n].html_name: management[n].value() for n in management.fields})
    return client.post(url, {**body, "_task_status": "complete", **fields}, follow=True)


def test_an_on_time_task_is_not_asked_for_a_delay(admin_client, task):
    url = reverse("admin:maintenance_task_change", args=[quote(task.pk)])
    assert "delay_reason" not in admin_client.get(url).context["adminform"].form.fields


def test_a_late_completion_takes_a_delay_reason(admin_client, task, clock):
    clock.move_to(task.deadline_at + timedelta(hours=1))
    page = _complete(admin_client, task, delay_reason="other")
    assert page.context["adminform"].form.errors["delay_note"] == [
        'Say what delayed the task when the reason is "other".'
    ]
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN

    page = _complete(admin_client, task, delay_reason="parts", delay_note="Seal on back order")
    assert "Task completed." in page.content.decode()
    task.refresh_from_db()
    assert (task.status, task.delay_reason, task.delay_note) == (
        Task.Status.DONE,
        "parts",
        "Seal on back order",
    )
    assert "Waiting for parts" in page.content.decode()  # shown on the completed task
