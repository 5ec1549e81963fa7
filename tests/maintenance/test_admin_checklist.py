"""The plan form's checklist editor keeps typed items (kind, required, unit, limits) through a
save, refuses bad items naming them, and keeps a plain plan in the v1 shape."""

import html
import json

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from maintenance.models import Plan
from tests.maintenance.conftest import BASE
from tests.maintenance.test_admin_plans import ADD, _errors, _form

pytestmark = pytest.mark.usefixtures("clock")

TYPED = [
    {"item": "Oil level", "kind": "check", "required": True},
    {"item": "Belt tension", "kind": "pass_fail", "required": False},
    {"item": "Vibration", "kind": "number", "required": True, "unit": "mm/s", "min": 0, "max": 4.5},
    {"item": "Remarks", "kind": "text"},
]


def _stored(item: dict) -> dict:
    return {"required": False, "unit": "", "min": None, "max": None, **item}


def test_typed_items_are_kept_through_add_and_a_later_save(admin_client, api_client):
    assert admin_client.post(ADD, _form(task_checklist=json.dumps(TYPED))).status_code == 302
    plan = Plan.objects.get()
    assert plan.task_checklist == [_stored(item) for item in TYPED]

    # The page shows them back as they are; saving it untouched changes nothing (the old
    # one-item-per-line box turned every item into an optional check here).
    url = reverse("admin:maintenance_plan_change", args=[quote(plan.pk)])
    page = admin_client.get(url)
    assert 'class="ops-checklist-editor"' in page.content.decode()
    posted = page.context["adminform"].form["task_checklist"].as_widget()
    value = json.loads(html.unescape(posted.split('value="', 1)[1].split('"', 1)[0]))
    assert value == [_stored(item) for item in TYPED]
    assert admin_client.post(url, _form(task_checklist=json.dumps(value))).status_code == 302
    plan.refresh_from_db()
    assert plan.task_checklist == [_stored(item) for item in TYPED]
    api = api_client.get(f"{BASE}/plans/{plan.pk}").json()
    assert api["task"]["checklist"][2] == _stored(TYPED[2])


def test_a_plain_checklist_keeps_the_v1_shape(admin_client, api_client):
    items = [{"item": " Clean nipple ", "kind": "check", "required": False}, "Grease 5 g"]
    assert admin_client.post(ADD, _form(task_checklist=json.dumps(items))).status_code == 302
    plan = Plan.objects.get()
    api = api_client.get(f"{BASE}/plans/{plan.pk}").json()
    assert api["task"]["checklist"] == ["Clean nipple", "Grease 5 g"]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            {"item": "Vibration", "kind": "number", "min": 5, "max": 1},
            "Item 2 'Vibration', max: Must not be less than min.",
        ),
        (
            {"item": "Vibration", "kind": "number", "min": "low"},
            "Item 2 'Vibration', min: Must be a number between -1e+15 and 1e+15.",
        ),
        (
            {"item": "Belt", "kind": "pass_fail", "unit": "mm"},
            "Item 2 'Belt', unit: Only a number item takes unit.",
        ),
        ({"item": "Belt", "kind": "gauge"}, "Item 2 'Belt', kind: Must be one of: "),
        ({"item": "  ", "kind": "check"}, "Item 2 '(blank)', item: Must not be blank."),
    ],
)
def test_a_bad_item_is_refused_naming_it(admin_client, item, message):
    items = [{"item": "Oil level"}, item]
    errors = _errors(admin_client.post(ADD, _form(task_checklist=json.dumps(items))))
    assert errors["task_checklist"][0].startswith(message), errors
    assert not Plan.objects.exists()


@pytest.mark.parametrize("raw", ["not json", '{"item": "x"}', "[1, 2]", '[{"kind": "check"}]'])
def test_a_checklist_that_is_not_a_list_of_items_is_refused(admin_client, raw):
    errors = _errors(admin_client.post(ADD, _form(task_checklist=raw)))
    assert errors["task_checklist"] == ["Send the checklist as a JSON list of items."]
