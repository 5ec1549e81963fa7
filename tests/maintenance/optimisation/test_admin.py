"""Admin for failures and drafts: fixed-cost lists, adding a failure, apply / reject actions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from maintenance.optimisation.models import Failure, SuggestionSet
from tests.maintenance.conftest import BASE, at, iso


@pytest.fixture
def drafts(api_client, make_plan, make_asset, clock):
    def build(n: int) -> list[str]:
        ids = []
        for i in range(n):
            asset = make_asset()
            plan = make_plan(name=f"Plan {i}", asset_ids=[asset["id"]])
            for day in (3, 9):
                api_client.post(
                    f"{BASE}/assets/{asset['id']}/failures",
                    {"occurred_at": iso(at(f"2026-02-{day:02d} 00:00"))},
                    format="json",
                )
            ids.append(api_client.post(f"{BASE}/plans/{plan['id']}/optimize").json()["id"])
        return ids

    return build


@pytest.mark.parametrize("model", ["failure", "suggestionset"])
def test_it_lists_in_a_fixed_number_of_queries(admin_client, drafts, model):
    url = reverse(f"admin:optimisation_{model}_changelist")
    drafts(2)
    with CaptureQueriesContext(connection) as small:
        assert admin_client.get(url).status_code == 200
    drafts(10)
    with CaptureQueriesContext(connection) as large:
        response = admin_client.get(url)
    assert response.status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)


def test_it_adds_a_failure_through_the_service(admin_client, make_asset, clock):
    asset = make_asset()
    response = admin_client.post(
        reverse("admin:optimisation_failure_add"),
        {
            "asset": asset["id"],
            "occurred_at_0": "2026-02-10",
            "occurred_at_1": "08:00:00",
            "description": "overheated",
            "downtime_hours": "2.5",
            "cost": "300",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    failure = Failure.objects.get()
    assert failure.id.startswith("fail_")
    assert failure.occurred_at == at("2026-02-10 08:00")
    assert failure.created_by == f"user:{admin_client.user.pk}"


def test_it_shows_a_plans_drafts_and_applies_or_rejects_them(admin_client, drafts):
    first, second = drafts(2)
    plan_id = SuggestionSet.objects.get(pk=first).plan_id
    url = reverse("admin:optimisation_suggestionset_changelist")
    listed = admin_client.get(url, {"plan_id": plan_id})
    assert first in listed.content.decode() and second not in listed.content.decode()
    searched = admin_client.get(url, {"q": plan_id}).content.decode()
    assert first in searched and second not in searched
    assert admin_client.get(url, {"q": "Plan 1"}).status_code == 200
    failures = reverse("admin:optimisation_failure_changelist")
    assert admin_client.get(failures, {"q": "A-001"}).status_code == 200
    detail = admin_client.get(reverse("admin:optimisation_suggestionset_change", args=[first]))
    assert detail.status_code == 200
    assert "failure(s) with a known age" in detail.content.decode()

    admin_client.post(url, {"action": "apply_all", "_selected_action": [first]})
    applied = SuggestionSet.objects.get(pk=first)
    assert applied.status == "applied"
    assert applied.applied_by == f"user:{admin_client.user.pk}"
    admin_client.post(url, {"action": "reject", "_selected_action": [second]})
    assert SuggestionSet.objects.get(pk=second).status == "rejected"
    # The service's rules hold: a decided draft is refused, with a message.
    response = admin_client.post(
        url, {"action": "reject", "_selected_action": [first]}, follow=True
    )
    assert "is applied, not a draft" in response.content.decode()
    assert SuggestionSet.objects.get(pk=first).status == "applied"
