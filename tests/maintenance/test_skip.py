"""`POST …/plans/{id}/skip`: the next occurrence skipped with a reason, in the history."""

import pytest
from django.utils import timezone

from core.audit import records_for
from maintenance import services
from maintenance.models import Execution, Plan
from tests.maintenance.conftest import BASE, COUNTER_PLAN, at
from tests.maintenance.test_triggers import WHICHEVER


def skip(api_client, plan_id: str, body=None):
    return api_client.post(
        f"{BASE}/plans/{plan_id}/skip",
        {"reason": "Line stopped for the holidays"} if body is None else body,
        format="json",
    )


def test_it_skips_the_next_occurrence_and_records_it(api_client, make_plan, clock):
    plan = make_plan()  # daily at 08:00 from 2026-03-02
    response = skip(api_client, plan["id"])
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["next_due_at"] == "2026-03-03T08:00:00Z"
    execution = body["execution"]
    assert execution["skipped"] is True
    assert execution["skip_reason"] == "Line stopped for the holidays"
    assert execution["due_at"] == "2026-03-02T08:00:00Z"
    assert execution["task_id"] is None
    assert execution["trigger"] == "calendar"
    assert execution["executed_by"].startswith("key:")

    [listed] = api_client.get(f"{BASE}/plans/{plan['id']}/history").json()["items"]
    assert listed == execution

    # The skipped occurrence never gets a task; the next one does.
    clock.move_to(at("2026-03-02 08:00"))
    assert services.plans_execute_due(now=timezone.now()) == 0
    clock.move_to(at("2026-03-03 08:00"))
    assert services.plans_execute_due(now=timezone.now()) == 1


def test_a_skip_is_audited(api_client, make_plan, clock):
    plan = make_plan()
    execution_id = skip(api_client, plan["id"]).json()["execution"]["execution_id"]
    [created] = records_for(Execution.objects.get(pk=execution_id))
    assert created.changes["skip_reason"] == [None, "Line stopped for the holidays"]
    changes = [record.changes for record in records_for(Plan.objects.get(pk=plan["id"]))]
    assert any("next_due_at" in change for change in changes)


def test_a_skipped_occurrence_is_not_counted_in_compliance(api_client, make_plan, clock):
    plan = make_plan()
    skip(api_client, plan["id"])
    clock.move_to(at("2026-03-05 00:00"))
    report = api_client.get(
        f"{BASE}/compliance", {"start_date": "2026-03-02", "end_date": "2026-03-02"}
    ).json()
    assert report["due_count"] == 0
    assert report["overdue_count"] == 0


def test_skips_walk_through_occurrences(api_client, make_plan, clock):
    plan = make_plan()
    for expected in ("2026-03-03T08:00:00Z", "2026-03-04T08:00:00Z"):
        assert skip(api_client, plan["id"]).json()["next_due_at"] == expected
    assert len(api_client.get(f"{BASE}/plans/{plan['id']}/history").json()["items"]) == 2


def test_a_floating_plan_moves_one_interval_after_the_skipped_occurrence(
    api_client, make_plan, clock
):
    plan = make_plan(calendar={"anchor": "floating", "every": 1, "unit": "week"})
    response = skip(api_client, plan["id"])
    assert response.json()["next_due_at"] == "2026-03-09T08:00:00Z"


def test_a_whichever_first_plan_skips_its_calendar_occurrence(api_client, make_plan, clock):
    plan = make_plan(WHICHEVER)
    body = skip(api_client, plan["id"]).json()
    assert body["next_due_at"] == "2027-06-01T08:00:00Z"
    assert api_client.get(f"{BASE}/plans/{plan['id']}").json()["next_counter_threshold"] == 10000


def test_it_refuses_to_skip_a_paused_plan(api_client, make_plan, clock):
    plan = make_plan()
    api_client.post(f"{BASE}/plans/{plan['id']}/pause")
    response = skip(api_client, plan["id"])
    assert response.status_code == 409
    assert "paused" in response.json()["error"]["message"]


def test_it_refuses_to_skip_a_counter_plan(api_client, make_plan, clock):
    plan = make_plan(COUNTER_PLAN)
    response = skip(api_client, plan["id"])
    assert response.status_code == 409
    assert "counter trigger" in response.json()["error"]["message"]


def test_it_refuses_a_plan_past_its_end(api_client, make_plan, clock):
    plan = make_plan(calendar={"end_at": "2026-03-02T09:00:00Z"})
    assert skip(api_client, plan["id"]).status_code == 200
    response = skip(api_client, plan["id"])
    assert response.status_code == 409
    assert "no next occurrence" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "required"),
        ({"reason": ""}, "blank"),
        ({"reason": "x" * 501}, "500"),
        ({"reason": 7}, ""),
        ({"reason": "ok", "extra": 1}, ""),
    ],
)
def test_it_wants_a_reason(api_client, make_plan, clock, body, words):
    plan = make_plan()
    response = skip(api_client, plan["id"], body)
    assert response.status_code == 400, response.json()
    details = response.json()["error"]["details"]
    field = "extra" if "extra" in body else "reason"
    assert field in details
    assert words in " ".join(details[field])
    assert not Execution.objects.filter(plan_id=plan["id"]).exists()


def test_a_blank_reason_is_refused_by_the_service_too(make_plan, clock):
    from core.errors import InvalidInput

    plan = make_plan()
    with pytest.raises(InvalidInput):
        services.plan_skip(plan_id=plan["id"], reason="   ", by="x", now=timezone.now())


def test_it_answers_404_for_an_unknown_plan(api_client, clock):
    assert skip(api_client, "plan_nope").status_code == 404


def test_a_read_only_key_cannot_skip(read_only_client, make_plan, clock):
    plan = make_plan()
    assert skip(read_only_client, plan["id"]).status_code == 403
