"""The task page answers each kind of checklist item through `task_update`: who answered is
the user, a refusal (a required item unanswered, a bad number) is shown naming the item and
nothing is saved, and a failed item's corrective task is linked from the page."""

import json
from dataclasses import replace

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone

from maintenance import services
from maintenance.checklists import ChecklistItemSpec
from maintenance.models import Task
from tests.maintenance.conftest import CALENDAR_SPEC

pytestmark = pytest.mark.usefixtures("clock")

ITEMS = (
    ChecklistItemSpec(item="Oil level", required=True),
    ChecklistItemSpec(item="Safety valve", kind="pass_fail", required=True),
    ChecklistItemSpec(item="Vibration", kind="number", unit="mm/s", min=0, max=4.5),
    ChecklistItemSpec(item="Remarks", kind="text"),
)


@pytest.fixture
def task() -> Task:
    spec = replace(CALENDAR_SPEC, task=replace(CALENDAR_SPEC.task, checklist=ITEMS))
    plan = services.plan_create(spec=spec, now=timezone.now())
    return services.plan_execute(plan_id=plan.pk, by="test", now=timezone.now())


def _url(task: Task) -> str:
    return reverse("admin:maintenance_task_change", args=[quote(task.pk)])


def _post(client, task: Task, answers: dict, **extra):
    page = client.get(_url(task))
    body = {"checklist": _questions(task), "notes": ""}
    for inline in page.context["inline_admin_formsets"]:  # the assets inline's management form
        management = inline.formset.management_form
        body.update(
            {management[name].html_name: management[name].value() for name in management.fields}
        )
    body.update({f"checklist__{index}": value for index, value in answers.items()})
    body.update(extra)
    return client.post(_url(task), body, follow=True)


def _questions(task: Task) -> str:
    keys = ("item", "kind", "required", "unit", "min", "max")
    return json.dumps([{key: item[key] for key in keys} for item in task.checklist])


def test_the_page_offers_a_control_for_each_kind(admin_client, task):
    html = admin_client.get(_url(task)).content.decode()
    assert 'type="checkbox" name="checklist__0"' in html
    assert 'type="radio" name="checklist__1" value="pass"' in html
    assert 'type="radio" name="checklist__1" value="fail"' in html
    assert 'name="checklist__2"' in html and "0 to 4.5 mm/s" in html
    assert 'name="checklist__3"' in html


def test_answers_are_saved_with_who_answered(admin_client, task):
    answers = {0: "1", 1: "pass", 2: "3.2", 3: "Quiet"}
    page = _post(admin_client, task, answers)
    assert page.redirect_chain, "saved and sent on"
    task.refresh_from_db()
    assert [item["value"] for item in task.checklist] == [True, "pass", 3.2, "Quiet"]
    user = page.context["user"].username
    assert {item["answered_by"] for item in task.checklist} == {f"user:{user}"}
    assert all(item["corrective_task_id"] is None for item in task.checklist)


def test_completing_with_a_required_item_unanswered_is_refused_naming_it(admin_client, task):
    page = _post(admin_client, task, {0: "1", 3: "Noisy"}, _task_status="complete")
    errors = page.context["adminform"].form.errors["checklist"]
    assert errors == ["'Safety valve' is required: answer it before completing the task."]
    assert "Task completed." not in page.content.decode()
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN
    assert all(item["value"] is None for item in task.checklist)  # nothing saved


def test_a_number_that_is_not_one_is_refused(admin_client, task):
    page = _post(admin_client, task, {2: "lots"})
    errors = page.context["adminform"].form.errors["checklist"]
    assert errors == ["Must be a number between -1e+15 and 1e+15."]
    assert 'value="lots"' in page.content.decode()  # shown back to correct


def test_a_reading_out_of_limits_links_its_corrective_task(admin_client, task):
    page = _post(admin_client, task, {0: "1", 1: "pass", 2: "7.2"}, _task_status="complete")
    assert "Task completed." in page.content.decode()
    task.refresh_from_db()
    corrective = Task.objects.get(pk=task.checklist[2]["corrective_task_id"])
    assert task.status == Task.Status.DONE
    html = page.content.decode()
    assert f'href="{_url(corrective)}"' in html
    assert "Vibration: <strong>7.2 mm/s</strong>" in html
