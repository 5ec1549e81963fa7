"""The plain-SQL v4 paths answer what the ORM paths answered: the unfiltered global list
(`selectors.not_ended_event_rows`) gives the rows and total of the filtered-queryset path for
every live status and page, and a create answers what reading the window back renders."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import sql
from scheduling import selectors
from scheduling.api.serializers import MaintenanceSerializer, event_rows, maintenance_body
from scheduling.models import EventStatus, Maintenance, MaintenanceEvent
from tests.scheduling.conftest import NOW, create, ts

pytestmark = pytest.mark.usefixtures("db", "frozen")


def _orm_page(offset: int, limit: int) -> tuple[int, list[dict]]:
    events = selectors.event_list(now=NOW).filter(end_date_time__gt=NOW)
    rows = list(selectors.event_row_values(events)[offset : offset + limit])
    links = selectors.monitor_links_of({row["maintenance_id"] for row in rows})
    return events.count(), event_rows(rows, links)


@pytest.fixture
def every_status(api_client, monitors):
    """Events that are SCHEDULED, READY, ONGOING, CANCELLED and stored-COMPLETED at NOW, some
    ended (left out), two with the same start (ordered by id), with and without monitors."""
    hourly = create(
        api_client,
        title="Hourly",
        description=None,
        rrule="FREQ=HOURLY;COUNT=6",
        start_date_time=ts(2026, 1, 5, 10, 30),
        duration_seconds=3600,
        monitors=[{"monitor_tag": "db", "impact": "DOWN"}, {"monitor_tag": "api"}],
    )
    create(
        api_client,
        title="Same start",
        rrule="FREQ=HOURLY;COUNT=3",
        timezone="Asia/Tokyo",
        start_date_time=ts(2026, 1, 5, 12, 30),
        duration_seconds=600,
    )
    create(
        api_client,
        title="Soon",
        rrule="FREQ=DAILY;COUNT=2",
        start_date_time=ts(2026, 1, 5, 12, 3),
        duration_seconds=60,
    )
    events = MaintenanceEvent.objects.filter(maintenance_id=hourly["id"]).order_by(
        "start_date_time"
    )
    late = list(events)
    MaintenanceEvent.objects.filter(pk=late[-1].pk).update(status=EventStatus.CANCELLED)
    MaintenanceEvent.objects.filter(pk=late[-2].pk).update(status=EventStatus.COMPLETED)


def test_the_unfiltered_list_is_the_orm_path_for_every_status(every_status, api_client):
    total, rows = _orm_page(0, 100)
    assert {row["event_status"] for row in rows} == {
        "SCHEDULED",
        "READY",
        "ONGOING",
        "CANCELLED",
        "COMPLETED",
    }
    response = api_client.get("/api/v4/maintenances/events", {"limit": 100}).json()
    assert response == {"events": rows, "page": 1, "limit": 100, "total": total}


@pytest.mark.parametrize(("page", "limit"), [(1, 3), (2, 3), (4, 3), (9, 3), (1, 20)])
def test_pages_of_the_unfiltered_list_are_the_orm_pages(every_status, api_client, page, limit):
    total, rows = _orm_page((page - 1) * limit, limit)
    response = api_client.get("/api/v4/maintenances/events", {"page": page, "limit": limit})
    assert response.json() == {"events": rows, "page": page, "limit": limit, "total": total}


def test_the_unfiltered_list_takes_three_queries_and_the_key_lookup(every_status, api_client):
    api_client.get("/api/v4/maintenances/events")
    with CaptureQueriesContext(connection) as queries:
        api_client.get("/api/v4/maintenances/events", {"limit": 100})
    assert len(queries) == 4  # key, count, page, monitors on the page


def test_a_create_answers_what_reading_it_back_renders(api_client, monitors):
    created = create(
        api_client,
        description="Kernel \u2028 update",
        timezone="Europe/Berlin",
        rrule="FREQ=WEEKLY;BYDAY=TU,TH",
        exdates=[ts(2026, 1, 8, 2, 0)],
        monitors=[{"monitor_tag": "web", "impact": "DEGRADED"}, {"monitor_tag": "api"}],
    )
    read_back = api_client.get(f"/api/v4/maintenances/{created['id']}").json()["maintenance"]
    assert created == read_back
    assert created["exdates"] == [ts(2026, 1, 8, 2, 0)]
    plain = create(api_client, description=None, status="INACTIVE")
    assert plain == api_client.get(f"/api/v4/maintenances/{plain['id']}").json()["maintenance"]


def test_the_plain_body_is_the_serializers(api_client, monitors):
    create(api_client, monitors=[{"monitor_tag": "db", "impact": "DOWN"}], exdates=[])
    create(api_client, description=None, timezone="Asia/Tokyo")
    for maintenance in selectors.maintenance_list():
        links = [(link.monitor.tag, link.impact) for link in maintenance.monitor_links.all()]
        expected = MaintenanceSerializer(maintenance, context={"now": NOW}).data
        assert maintenance_body(maintenance, links) == expected


def test_a_plain_insert_stores_what_the_orm_stores():
    fields = {
        "title": "T",
        "description": None,
        "start_date_time": NOW + timedelta(days=1),
        "rrule": "FREQ=DAILY",
        "duration_seconds": 60,
        "exdates": [1767664800],
    }
    by_orm = Maintenance.objects.create(**fields)
    by_sql = Maintenance(**fields)
    sql.insert([by_sql])

    assert by_sql.pk == by_orm.pk + 1 and not by_sql._state.adding
    columns = [f.attname for f in Maintenance._meta.concrete_fields if f.attname != "id"]
    stored = {row["id"]: row for row in Maintenance.objects.values("id", *columns)}
    assert stored[by_sql.pk] == {**stored[by_orm.pk], "id": by_sql.pk}
    assert stored[by_sql.pk]["created_at"] == by_sql.created_at == NOW
