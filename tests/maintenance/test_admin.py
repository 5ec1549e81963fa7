"""The admin: lists with a fixed query count, and actions that call the services."""

import pytest
from django.contrib.admin.utils import quote
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from maintenance import services
from maintenance.models import Asset, Execution, Plan, Task, Technician
from tests.maintenance.conftest import BASE, at


@pytest.fixture
def history(api_client, make_plan, make_asset, make_technician, clock):
    """Plans with assets and assignees, their tasks, a missed occurrence, readings."""

    def build(n: int) -> None:
        tech = make_technician()
        for i in range(n):
            asset = make_asset()
            make_plan(name=f"Plan {i}", asset_ids=[asset["id"]], assignee_id=tech["id"])
            counter = make_plan(
                {
                    "name": f"Counter {i}",
                    "trigger": "counter",
                    "counter": {"unit": "h", "interval": 10},
                },
                asset_ids=[asset["id"]],
            )
            api_client.post(
                f"{BASE}/plans/{counter['id']}/counter", {"value": 15, "source": "s"}, format="json"
            )
        clock.move_to(at("2026-03-02 08:00"))
        services.plans_execute_due(now=timezone.now())
        clock.move_to(at("2026-03-04 08:00"))  # one missed occurrence per plan
        services.plans_execute_due(now=timezone.now())

    return build


@pytest.mark.parametrize(
    "model", ["plan", "task", "execution", "counterreading", "asset", "technician"]
)
def test_it_lists_each_model_in_a_fixed_number_of_queries(admin_client, history, model):
    url = reverse(f"admin:maintenance_{model}_changelist")
    history(3)
    with CaptureQueriesContext(connection) as small:
        assert admin_client.get(url).status_code == 200
    history(12)
    with CaptureQueriesContext(connection) as large:
        response = admin_client.get(url)
    assert response.status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries), [
        q["sql"] for q in large.captured_queries
    ]


def test_it_shows_plan_columns(admin_client, history):
    history(1)
    response = admin_client.get(reverse("admin:maintenance_plan_changelist"))
    content = response.content.decode()
    assert "calendar (fixed): FREQ=DAILY;INTERVAL=1 in UTC" in content
    assert "counter (fixed): every 10 h" in content
    assert "A-001" in content
    assert "2026-03-05 08:00 UTC" in content


def test_it_searches_and_filters_plans(admin_client, history):
    history(2)
    url = reverse("admin:maintenance_plan_changelist")
    response = admin_client.get(url, {"q": '"Counter 1"'})
    assert response.context["cl"].result_count == 1
    response = admin_client.get(url, {"trigger__exact": "counter"})
    assert response.context["cl"].result_count == 2


def test_its_plan_actions_call_the_services(admin_client, make_plan, clock):
    plan = make_plan()
    url = reverse("admin:maintenance_plan_changelist")

    def act(action: str):
        return admin_client.post(
            url, {"action": action, "_selected_action": [plan["id"]]}, follow=True
        )

    act("pause")
    assert Plan.objects.get().status == "paused"
    response = act("pause")
    assert "already paused" in response.content.decode()
    act("resume")
    assert Plan.objects.get().status == "active"
    act("execute_now")
    execution = Execution.objects.get()
    assert execution.trigger == "manual"
    assert execution.executed_by == f"user:{admin_client.user.username}"
    assert Task.objects.get().code == "MAN-001"


def test_its_task_actions_and_form_call_the_services(
    admin_client, api_client, make_plan, make_technician
):
    plan = make_plan()
    tech = make_technician()
    done_id = api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()["task_id"]
    cancel_id = api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()["task_id"]
    url = reverse("admin:maintenance_task_changelist")
    admin_client.post(url, {"action": "complete", "_selected_action": [done_id]})
    admin_client.post(url, {"action": "cancel", "_selected_action": [cancel_id]})
    done = Task.objects.get(pk=done_id)
    assert done.status == "done"
    assert done.completed_by == f"user:{admin_client.user.username}"
    assert Task.objects.get(pk=cancel_id).status == "cancelled"

    inline = {"task_assets-TOTAL_FORMS": "0", "task_assets-INITIAL_FORMS": "0"}
    change = reverse("admin:maintenance_task_change", args=[quote(cancel_id)])
    assert admin_client.get(change).status_code == 200
    response = admin_client.post(change, {"assignee": tech["id"], "notes": "n", **inline})
    assert response.status_code == 302
    cancelled = Task.objects.get(pk=cancel_id)
    # A closed task takes notes only: its assignee is read-only there.
    assert (cancelled.notes, cancelled.assignee_id) == ("n", None)

    open_id = api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()["task_id"]
    change = reverse("admin:maintenance_task_change", args=[quote(open_id)])
    response = admin_client.post(change, {"assignee": tech["id"], "notes": "", **inline})
    assert response.status_code == 302
    assert Task.objects.get(pk=open_id).assignee_id == tech["id"]


ASSET_ADD = "/admin/maintenance/asset/add/"
TECHNICIAN_ADD = "/admin/maintenance/technician/add/"


def _form_errors(response) -> dict:
    assert response.status_code == 200, "expected the form back with errors"
    return {k: list(v) for k, v in response.context["adminform"].form.errors.items()}


def test_an_asset_made_in_the_admin_is_made_by_the_service_like_the_apis(
    admin_client, api_client, make_asset
):
    made = make_asset(code="PMP-01")
    form = {"code": "PMP-02", "name": "Pump", "location": "Hall 1", "latitude": "48.1"}
    # The API's rules and words, on the admin's fields.
    body = {**form, "latitude": 48.1}
    api = api_client.post(f"{BASE}/assets", body, format="json").json()["error"]["details"]
    errors = _form_errors(admin_client.post(ASSET_ADD, form))
    assert errors == {"latitude": api["latitude"]}
    errors = _form_errors(admin_client.post(ASSET_ADD, {**form, "code": "PMP-01", "latitude": ""}))
    assert errors == {"code": ["An asset with code 'PMP-01' already exists."]}
    assert Asset.objects.count() == 1

    response = admin_client.post(ASSET_ADD, {**form, "longitude": "11.5"})
    assert response.status_code == 302
    asset = Asset.objects.get(code="PMP-02")
    assert asset.pk.startswith("asset_") and made["id"].startswith("asset_")
    assert api_client.get(f"{BASE}/assets/{asset.pk}").json()["latitude"] == 48.1

    change = reverse("admin:maintenance_asset_change", args=[quote(asset.pk)])
    errors = _form_errors(admin_client.post(change, {**form, "code": "PMP-01"}))
    assert errors == {
        "code": ["An asset with code 'PMP-01' already exists."],
        "latitude": ["latitude and longitude must be given together."],
    }
    assert admin_client.post(change, {"code": "PMP-03", "name": "Pump"}).status_code == 302
    assert (Asset.objects.get(pk=asset.pk).code, Asset.objects.get(pk=asset.pk).latitude) == (
        "PMP-03",
        None,
    )


def test_a_technician_is_made_changed_and_deleted_through_the_services(
    admin_client, make_plan, monkeypatch
):
    calls = []
    for name in ("technician_create", "technician_update", "technician_delete"):
        real = getattr(services, name)
        monkeypatch.setattr(
            services,
            name,
            lambda *, _real=real, _name=name, **kw: calls.append(_name) or _real(**kw),
        )
    form = {
        "name": "Ada",
        "email": "ada@example.com",
        "skills": "mechanical, pumps electrical,, mechanical",
        "daily_capacity_minutes": "480",
        "active": "on",
    }
    assert admin_client.post(TECHNICIAN_ADD, form).status_code == 302
    tech = Technician.objects.get()
    # Skills typed as tags: commas between them, blanks and repeats dropped.
    assert tech.pk.startswith("tech") and tech.skills == ["mechanical", "pumps electrical"]
    change = reverse("admin:maintenance_technician_change", args=[quote(tech.pk)])
    assert admin_client.post(change, {**form, "active": ""}).status_code == 302
    assert Technician.objects.get().active is False

    # One still assigned is refused with the service's reason; a free one goes.
    make_plan()
    Plan.objects.update(assignee=tech)  # assigned while it was active
    delete = reverse("admin:maintenance_technician_delete", args=[quote(tech.pk)])
    refused = admin_client.post(delete, {"post": "yes"}, follow=True).content.decode()
    assert "is assigned to plans or tasks; set active to false instead" in refused
    assert Technician.objects.exists()
    Plan.objects.all().delete()
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not Technician.objects.exists()
    # The refused delete reached the service too: it is the service that refuses.
    assert calls == [
        "technician_create",
        "technician_update",
        "technician_delete",
        "technician_delete",
    ]
