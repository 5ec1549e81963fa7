"""Checklists with kinds: the template, answers with who and when, required items, and the
corrective task a finding creates exactly once."""

import pytest

from core.models import AuditRecord
from maintenance.models import Task
from tests.maintenance.conftest import BASE, at

CHECKLIST = [
    "Clean nipple",
    {"item": "Seal intact", "kind": "pass_fail", "required": True},
    {"item": "Vibration", "kind": "number", "unit": "mm/s", "min": 0, "max": 4.5},
    {"item": "Remarks", "kind": "text"},
]


def full(item: str, kind: str = "check", **fields) -> dict:
    return {"item": item, "kind": kind, "required": False, "unit": "", "min": None, "max": None}


@pytest.fixture
def inspected(api_client, make_plan, make_asset, make_technician, clock):
    """A plan with a typed checklist on an asset, and its first task."""
    asset = make_asset(name="pump")
    tech = make_technician()
    plan = make_plan(
        asset_ids=[asset["id"]],
        assignee_id=tech["id"],
        task={"title": "Inspect pump", "checklist": CHECKLIST},
    )
    response = api_client.post(f"{BASE}/plans/{plan['id']}/execute")
    assert response.status_code == 200, response.json()
    return {"plan": plan, "asset": asset, "task_id": response.json()["task_id"]}


def answers(*values) -> list[dict]:
    """A PATCH checklist: one entry per item of CHECKLIST, `...` leaving one unchanged."""
    items = [c if isinstance(c, str) else c["item"] for c in CHECKLIST]
    body = []
    for item, value in zip(items, values, strict=True):
        entry = {"item": item}
        if value is not ...:
            entry["value"] = value
        body.append(entry)
    return body


def patch(api_client, task_id: str, body: dict):
    return api_client.patch(f"{BASE}/tasks/{task_id}", body, format="json")


def test_it_keeps_kinds_on_the_plan_and_shows_them_in_full(api_client, inspected):
    plan = api_client.get(f"{BASE}/plans/{inspected['plan']['id']}").json()
    assert plan["task"]["checklist"] == [
        {**full("Clean nipple")},
        {**full("Seal intact"), "kind": "pass_fail", "required": True},
        {**full("Vibration"), "kind": "number", "unit": "mm/s", "min": 0, "max": 4.5},
        {**full("Remarks"), "kind": "text"},
    ]
    # What a GET shows, a PUT takes back unchanged.
    body = {k: v for k, v in plan.items() if k not in ("asset_ids",)}
    body["asset_ids"] = plan["asset_ids"]
    response = api_client.put(f"{BASE}/plans/{plan['id']}", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["task"]["checklist"] == plan["task"]["checklist"]

    task = api_client.get(f"{BASE}/tasks/{inspected['task_id']}").json()
    assert task["checklist"][2] == {
        **full("Vibration"),
        "kind": "number",
        "unit": "mm/s",
        "min": 0,
        "max": 4.5,
        "done": False,
        "value": None,
        "answered_by": None,
        "answered_at": None,
        "corrective_task_id": None,
    }
    preview = api_client.get(f"{BASE}/plans/{plan['id']}/preview").json()
    assert preview["task"]["checklist"][1]["kind"] == "pass_fail"


def test_a_plain_checklist_keeps_the_v1_shapes(api_client, make_plan):
    plan = make_plan(task={"checklist": ["Clean nipple", {"item": "Grease 5 g"}]})
    assert plan["task"]["checklist"] == ["Clean nipple", "Grease 5 g"]
    task_id = api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()["task_id"]
    task = api_client.get(f"{BASE}/tasks/{task_id}").json()
    assert task["checklist"] == [
        {"item": "Clean nipple", "done": False},
        {"item": "Grease 5 g", "done": False},
    ]


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"item": "x", "kind": "colour"}, "task.checklist[0].kind"),
        ({"item": "x", "kind": "number", "min": 5, "max": 1}, "task.checklist[0].max"),
        ({"item": "x", "unit": "bar"}, "task.checklist[0].unit"),
        ({"item": "x", "kind": "number", "min": "1"}, "task.checklist[0].min"),
        ({"item": "x", "required": "yes"}, "task.checklist[0].required"),
        ({"item": "x", "colour": "red"}, "task.checklist[0].colour"),
        ({"kind": "text"}, "task.checklist[0].item"),
        (7, "task.checklist[0]"),
    ],
)
def test_it_refuses_bad_template_items(api_client, make_plan, item, field):
    from tests.maintenance.conftest import CALENDAR_PLAN

    body = {**CALENDAR_PLAN, "task": {"checklist": [item]}}
    response = api_client.post(f"{BASE}/plans", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["details"], response.json()


def test_it_records_answers_with_who_and_when(api_client, inspected, clock):
    clock.move_to(at("2026-03-01 09:30"))
    body = {"checklist": answers(True, "pass", 3.2, "Quiet")}
    response = patch(api_client, inspected["task_id"], body)
    assert response.status_code == 200, response.json()
    items = response.json()["checklist"]
    assert [(i["value"], i["done"]) for i in items] == [
        (True, True),
        ("pass", True),
        (3.2, True),
        ("Quiet", True),
    ]
    assert {(i["answered_by"], i["answered_at"]) for i in items} == {
        ("key:tests", "2026-03-01T09:30:00Z")
    }

    # Sent back unchanged later, the stamps stay; a changed answer is stamped anew.
    clock.move_to(at("2026-03-01 10:00"))
    response = patch(api_client, inspected["task_id"], {"checklist": answers(..., ..., 3.3, ...)})
    items = response.json()["checklist"]
    assert items[0]["answered_at"] == "2026-03-01T09:30:00Z"
    assert items[2]["answered_at"] == "2026-03-01T10:00:00Z"
    assert items[2]["value"] == 3.3
    # null clears an answer.
    response = patch(api_client, inspected["task_id"], {"checklist": answers(..., ..., ..., None)})
    assert response.json()["checklist"][3] | {"item": "Remarks"} == {
        **response.json()["checklist"][3],
        "value": None,
        "done": False,
        "answered_by": None,
        "answered_at": None,
    }


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ((True, "maybe", ..., ...), "checklist[1].value"),
        ((True, True, ..., ...), "checklist[1].value"),
        ((..., ..., "3.2", ...), "checklist[2].value"),
        ((..., ..., True, ...), "checklist[2].value"),
        ((..., ..., 1e300, ...), "checklist[2].value"),
        ((..., ..., ..., 5), "checklist[3].value"),
        (("yes", ..., ..., ...), "checklist[0].value"),
        ((..., ..., ..., "x" * 2001), "checklist[3].value"),
        ((..., ..., [1], ...), "checklist[2].value"),
    ],
)
def test_it_refuses_an_answer_of_the_wrong_type(api_client, inspected, values, field):
    response = patch(api_client, inspected["task_id"], {"checklist": answers(*values)})
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["details"], response.json()
    task = Task.objects.get(pk=inspected["task_id"])
    assert all(item["value"] is None for item in task.checklist)  # nothing recorded


def test_it_refuses_a_checklist_that_does_not_match_the_task(api_client, inspected):
    body = {"checklist": answers(True, ..., ..., ...)[:3]}
    response = patch(api_client, inspected["task_id"], body)
    assert response.status_code == 400
    assert "checklist" in response.json()["error"]["details"]
    renamed = answers(..., ..., ..., ...)
    renamed[1]["item"] = "Something else"
    response = patch(api_client, inspected["task_id"], {"checklist": renamed})
    assert response.status_code == 400
    assert "checklist[1].item" in response.json()["error"]["details"]
    body = {"checklist": [*answers(..., ..., ..., ...)[:1], {"item": "Seal intact", "done": True}]}
    body["checklist"] += answers(..., ..., ..., ...)[2:]
    response = patch(api_client, inspected["task_id"], body)
    assert response.status_code == 400
    assert "checklist[1].done" in response.json()["error"]["details"]


def test_it_will_not_complete_a_task_with_a_required_item_unanswered(api_client, inspected, clock):
    task_id = inspected["task_id"]
    response = api_client.post(f"{BASE}/tasks/{task_id}/complete", {}, format="json")
    assert response.status_code == 400, response.json()
    assert list(response.json()["error"]["details"]) == ["checklist[1].value"]
    assert "Seal intact" in response.json()["error"]["message"]
    response = patch(api_client, task_id, {"status": "done"})
    assert response.status_code == 400
    assert Task.objects.get(pk=task_id).status == "open"

    response = patch(api_client, task_id, {"checklist": answers(..., "pass", ..., ...)})
    response = api_client.post(f"{BASE}/tasks/{task_id}/complete", {}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "done"


@pytest.mark.parametrize(
    "values", [(..., "fail", ..., ...), (..., ..., 7.2, ...), (..., ..., -1, ...)]
)
def test_a_finding_creates_one_corrective_task(api_client, inspected, values, clock):
    clock.move_to(at("2026-03-01 09:30"))
    task_id = inspected["task_id"]
    for _ in range(3):  # a repeated PATCH finds the same thing again: still one
        response = patch(api_client, task_id, {"checklist": answers(*values)})
        assert response.status_code == 200, response.json()
    [index] = [i for i, v in enumerate(values) if v is not ...]
    corrective_id = response.json()["checklist"][index]["corrective_task_id"]
    [corrective] = Task.objects.filter(corrective_for_id=task_id)
    assert corrective.pk == corrective_id
    body = api_client.get(f"{BASE}/tasks/{corrective_id}").json()
    assert body["corrective_for"] == {"task_id": task_id, "item_index": index}
    assert body["trigger"] == "corrective"
    assert body["plan_id"] is None
    assert body["asset_ids"] == [inspected["asset"]["id"]]
    assert body["assignee_id"] == inspected["plan"]["assignee_id"]
    assert body["code"] == "COR-001"
    assert body["priority"] == "high"
    assert body["due_at"] == "2026-03-01T09:30:00Z"
    assert body["deadline_at"] == "2026-03-02T09:30:00Z"
    assert body["title"].startswith("Corrective: ")
    assert "MAN-001" in body["description"]
    assert AuditRecord.objects.filter(object_pk=corrective_id, action=0).count() == 1

    # Answered well again, the finding's corrective task stays (someone may be on it).
    ok = tuple("pass" if v == "fail" else (2.0 if v is not ... else ...) for v in values)
    patch(api_client, task_id, {"checklist": answers(*ok)})
    patch(api_client, task_id, {"checklist": answers(*values)})
    assert Task.objects.filter(corrective_for_id=task_id).count() == 1


def test_answers_within_limits_create_nothing(api_client, inspected):
    response = patch(api_client, inspected["task_id"], {"checklist": answers(True, "pass", 0, "")})
    assert response.status_code == 200
    assert not Task.objects.filter(corrective_for_id=inspected["task_id"]).exists()
    assert Task.objects.count() == 1


def test_a_closed_task_takes_no_answers(api_client, inspected):
    task_id = inspected["task_id"]
    patch(api_client, task_id, {"checklist": answers(..., "pass", ..., ...)})
    api_client.post(f"{BASE}/tasks/{task_id}/complete", {}, format="json")
    response = patch(api_client, task_id, {"checklist": answers(..., "fail", ..., ...)})
    assert response.status_code == 409
