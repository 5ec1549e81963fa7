"""Apply under real concurrency (PostgreSQL): a draft is applied once, whoever races for it."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection
from scipy import stats

from core.errors import Conflict
from maintenance import services as plan_services
from maintenance.models import Asset, Plan
from maintenance.optimisation import services
from maintenance.optimisation.models import Failure, SuggestionSet
from tests.maintenance.conftest import CALENDAR_SPEC, T0
from tests.maintenance.test_concurrency import run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks and concurrent writers)")


def test_six_concurrent_applies_of_one_draft_apply_it_once():
    asset = Asset.objects.create(code="C-1", name="Pump", installed_at=T0 - timedelta(days=2000))
    plan = plan_services.plan_create(
        spec=replace(
            CALENDAR_SPEC,
            trigger=replace(CALENDAR_SPEC.trigger, start_at=T0),
            asset_ids=(asset.pk,),
            preventive_cost=Decimal(100),
            failure_cost=Decimal(2000),
        ),
        now=T0,
    )
    ages = stats.weibull_min.ppf((np.arange(12) + 0.5) / 12, 3.0, scale=60)
    when = asset.installed_at
    for age in ages:
        when += timedelta(days=float(age))
        Failure.objects.create(asset=asset, occurred_at=when)
    draft = services.plan_optimize(plan_id=plan.pk, by="t", now=T0)
    assert [item["kind"] for item in draft.items] == ["frequency"]

    def apply(index: int):
        try:
            services.suggestion_apply(suggestion_id=draft.pk, items=None, by=f"t{index}", now=T0)
        except Conflict:
            return "conflict"
        return "applied"

    results = run_in_threads(6, apply)
    assert sorted(results) == ["applied"] + ["conflict"] * 5
    decided = SuggestionSet.objects.get(pk=draft.pk)
    assert decided.status == "applied"
    assert Plan.objects.get(pk=plan.pk).every == draft.items[0]["proposed"]["every"]
