"""The admin home's dashboard: each figure is right, and its link opens the admin list
filtered to exactly the rows it counts; a fixed number of queries whatever the data."""

from datetime import timedelta

import pytest
from django.utils import timezone

from maintenance.models import Task
from notifications.models import Channel, Delivery
from scheduling import services as scheduling_services
from scheduling.models import Monitor
from scheduling.specs import MaintenanceSpec, MonitorLink
from tests.maintenance.conftest import BASE, at

pytestmark = pytest.mark.usefixtures("clock")
# Session and user, 2 per month of compliance (6 months) and the plans' names, 3 task counts,
# 3 for window events, 2 for deliveries, the admin index's own.
DASHBOARD_QUERIES = 26


def _result_count(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    # An unknown or refused lookup makes the admin redirect with ?e=1 (302), not filter.
    return response.context["cl"].result_count


@pytest.fixture
def data(api_client, make_plan, make_technician, clock):
    ada = make_technician(name="Ada Fixer")
    early = make_plan(name="Early pump", assignee_id=ada["id"])
    late = make_plan(name="Late fan")
    api_client.post(f"{BASE}/plans/{early['id']}/execute")  # due 2026-03-01, deadline +24 h
    clock.move_to(at("2026-03-03 00:00"))  # its deadline has passed: overdue
    api_client.post(f"{BASE}/plans/{late['id']}/execute")  # due now, not late
    done = Task.objects.get(plan_id=late["id"])
    api_client.post(f"{BASE}/tasks/{done.pk}/complete", {}, format="json")
    monitor = Monitor.objects.create(tag="checkout", name="Checkout")
    scheduling_services.maintenance_create(
        spec=MaintenanceSpec(
            title="DB patching",
            start_date_time=timezone.now() - timedelta(minutes=30),
            rrule="FREQ=DAILY",
            duration_seconds=3600,
            monitors=[MonitorLink(monitor=monitor)],
        ),
        now=timezone.now(),
    )
    channel = Channel.objects.create(name="Ops hook", kind="webhook", target="https://h.example/x")
    Delivery.objects.create(
        channel=channel, event="task.created", object_key="k1", status="failed", last_error="boom"
    )
    Delivery.objects.create(channel=channel, event="task.created", object_key="k2", status="sent")
    return {"ada": ada}


def test_each_figure_links_to_the_list_it_counts(admin_client, data):
    page = admin_client.get("/admin/")
    assert page.status_code == 200
    board = page.context["board"]
    tasks = board["tasks"]
    assert tasks["overdue"] == 1
    assert _result_count(admin_client, tasks["overdue_url"]) == 1
    assert _result_count(admin_client, tasks["due_week_url"]) == tasks["due_week"]
    by_status = {row["status"]: row for row in tasks["by_status"]}
    assert {k: v["count"] for k, v in by_status.items()} == {"Done": 1, "Open": 1}
    for row in tasks["by_status"] + tasks["by_assignee"]:
        assert _result_count(admin_client, row["url"]) == row["count"], row
    assert [(r["name"], r["count"]) for r in tasks["by_assignee"]] == [("Ada Fixer", 1)]

    windows = board["windows"]
    assert windows["ongoing"] == 1
    assert windows["rows"][0]["monitors"] == ["checkout"]
    assert _result_count(admin_client, windows["ongoing_url"]) == 1
    assert _result_count(admin_client, windows["upcoming_url"]) == 7  # the next 7 daily events

    deliveries = board["deliveries"]
    assert deliveries["count"] == 1
    assert _result_count(admin_client, deliveries["url"]) == 1

    march = board["compliance"]["bars"][-1]
    assert march.label == "Mar 2026"
    # Early pump: overdue; Late fan: done on time.
    assert march.rate == 50.0
    assert [(p["name"], p["rate"]) for p in march.plans] == [
        ("Early pump", 0.0),
        ("Late fan", 100.0),
    ]
    assert _result_count(admin_client, march.url) == 2
    for plan in march.plans:
        assert _result_count(admin_client, plan["url"]) == 1
    html = page.content.decode()
    assert "<svg" in html and "Early pump" in html and 'id="figure-overdue"' in html


def test_it_costs_a_fixed_number_of_queries(
    admin_client, data, api_client, make_plan, make_technician, django_assert_max_num_queries
):
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        admin_client.get("/admin/")
    for n in range(8):
        tech = make_technician(name=f"Tech {n}")
        plan = make_plan(name=f"Plan {n}", assignee_id=tech["id"])
        api_client.post(f"{BASE}/plans/{plan['id']}/execute")
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        response = admin_client.get("/admin/")
    assert len(response.context["board"]["tasks"]["by_assignee"]) == 9


def test_a_user_sees_only_what_they_may_view(client, django_user_model, data):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("viewer", password="pw-123456", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_delivery"))
    client.force_login(user)
    board = client.get("/admin/").context["board"]
    assert set(board) == {"now", "deliveries"}
