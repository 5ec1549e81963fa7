"""Every list costs a fixed number of queries, whatever the page size."""

from dataclasses import replace
from decimal import Decimal

import pytest
from django.utils import timezone

from maintenance import services
from maintenance.models import Asset, Technician
from tests.maintenance.conftest import BASE, CALENDAR_SPEC, COUNTER_SPEC

ROWS = 105  # more than the largest page

# Authentication (1), COUNT (1), the page (1), one prefetch of link rows (1), and slack for
# one more: never one per row.
MAX_QUERIES = 5


@pytest.fixture
def populated(db):
    assets = Asset.objects.bulk_create(
        Asset(code=f"A-{i:03d}", name=f"Asset {i}") for i in range(ROWS)
    )
    techs = Technician.objects.bulk_create(Technician(name=f"Tech {i}") for i in range(ROWS))
    now = timezone.now()
    plans = [
        services.plan_create(
            spec=replace(
                CALENDAR_SPEC,
                trigger=replace(CALENDAR_SPEC.trigger, start_at=now),
                asset_ids=(assets[i].pk, assets[(i + 1) % ROWS].pk),
                assignee_id=techs[i].pk,
            ),
            now=now,
        )
        for i in range(ROWS)
    ]
    busy = plans[0]
    for _ in range(ROWS):
        services.plan_execute(plan_id=busy.pk, by="key:tests", now=now)
    counter = services.plan_create(
        spec=replace(COUNTER_SPEC, trigger=replace(COUNTER_SPEC.trigger, interval=Decimal(10))),
        now=now,
    )
    for value in range(ROWS):
        services.counter_record(
            plan_id=counter.pk, value=value, source="s", recorded_at=None, reset=False, now=now
        )
    return {"busy": busy.pk, "counter": counter.pk}


@pytest.mark.parametrize(
    "path",
    [
        "plans",
        "tasks",
        "assets",
        "technicians",
        "plans/{busy}/history",
        "plans/{counter}/counter/history",
    ],
)
@pytest.mark.parametrize("limit", [5, 100])
def test_it_lists_in_a_bounded_number_of_queries(
    api_client, populated, django_assert_max_num_queries, path, limit
):
    url = f"{BASE}/{path.format(**populated)}"
    with django_assert_max_num_queries(MAX_QUERIES):
        response = api_client.get(url, {"limit": limit})
    assert response.status_code == 200
    assert len(response.json()["items"]) == limit
    assert response.json()["total"] >= ROWS
