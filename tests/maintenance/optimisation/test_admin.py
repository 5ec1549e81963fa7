"""Admin for failures and drafts: fixed-cost lists, adding a failure, apply / reject actions."""

import pytest
from django.contrib.admin.utils import quote
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
    # quote(): the admin reads "_5F"-style escapes in a key, and ids may hold "_" + two hex digits.
    detail = admin_client.get(
        reverse("admin:optimisation_suggestionset_change", args=[quote(first)])
    )
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


def test_it_refuses_a_failure_the_service_refuses_with_the_message_on_the_field(
    admin_client, make_asset, clock
):
    asset = make_asset()
    response = admin_client.post(
        reverse("admin:optimisation_failure_add"),
        {
            "asset": asset["id"],
            "occurred_at_0": "2026-02-10",
            "occurred_at_1": "08:00:00",
            "description": "",
            "downtime_hours": "2000000",
            "cost": "",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["downtime_hours"] == [
        "Ensure this value is less than or equal to 1000000."
    ]
    assert not Failure.objects.exists()


def test_it_deletes_a_failure_through_the_service_and_never_rewrites_one(
    admin_client, make_asset, clock, monkeypatch
):
    from maintenance.optimisation import services

    asset = make_asset()
    failure = services.failure_create(
        asset_id=asset["id"], occurred_at=at("2026-02-03 00:00"), now=at("2026-03-01 00:00")
    )
    change = reverse("admin:optimisation_failure_change", args=[quote(failure.pk)])
    page = admin_client.get(change)
    assert page.status_code == 200 and not page.context["has_change_permission"]
    calls = []
    monkeypatch.setattr(
        services,
        "failure_delete",
        lambda **kw: calls.append(kw) or Failure.objects.filter(pk=kw["failure_id"]).delete(),
    )
    delete = reverse("admin:optimisation_failure_delete", args=[quote(failure.pk)])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert calls == [{"failure_id": failure.pk}]
    assert not Failure.objects.exists()


def test_drafts_are_only_written_by_the_optimiser(admin_client, drafts):
    (draft,) = drafts(1)
    assert admin_client.get(reverse("admin:optimisation_suggestionset_add")).status_code == 403
    delete = reverse("admin:optimisation_suggestionset_delete", args=[quote(draft)])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert SuggestionSet.objects.filter(pk=draft).exists()


def test_the_failure_delete_service_is_404_for_an_unknown_failure(db):
    from core.errors import NotFound
    from maintenance.optimisation import services

    with pytest.raises(NotFound):
        services.failure_delete(failure_id="fail_nope")
