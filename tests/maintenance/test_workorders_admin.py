"""The admin's plan form carries the reminder, escalation and work-order settings through the
services (the API's rules and words); the asset form names its monitors."""

import pytest
from django.contrib.admin.utils import quote

from maintenance.models import Asset, Plan
from scheduling import services as scheduling
from tests.maintenance.conftest import BASE
from tests.maintenance.test_admin_plans import ADD, _errors, _form

pytestmark = pytest.mark.usefixtures("clock")


def test_the_plan_form_saves_the_settings_like_the_api(admin_client, api_client):
    response = admin_client.post(
        ADD,
        _form(
            due_soon_lead_times="72h, 24h",
            escalation_fractions="0.5, 0.8",
            open_window="on",
            window_impact="DOWN",
            plan_window="on",
            task_estimated_duration_minutes="90",
        ),
    )
    assert response.status_code == 302, _errors(response)
    plan = api_client.get(f"{BASE}/plans/{Plan.objects.get().pk}").json()
    assert plan["due_soon_lead_times"] == ["72h", "24h"]
    assert plan["escalation_fractions"] == [0.5, 0.8]
    assert (plan["open_window"], plan["window_impact"], plan["plan_window"]) == (True, "DOWN", True)

    page = admin_client.get(f"/admin/maintenance/plan/{quote(plan['id'])}/change/")
    form = page.context["adminform"].form
    assert form.initial["due_soon_lead_times"] == "72h, 24h"
    assert form.initial["escalation_fractions"] == "0.5, 0.8"
    assert form.initial["open_window"] is True


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"due_soon_lead_times": "soon"}, "due_soon_lead_times", "due_soon_lead_times[0]"),
        ({"escalation_fractions": "0.5, x"}, "escalation_fractions", "not a number"),
        ({"escalation_fractions": "1.5"}, "escalation_fractions", "escalation_fractions[0]"),
        ({"escalation_channel_ids": "chan_nope"}, "escalation_channel_ids", "chan_nope"),
        ({"plan_window": "on"}, "task_estimated_duration_minutes", "plan_window"),
    ],
)
def test_the_plan_form_refuses_bad_settings_on_the_field(admin_client, fields, field, words):
    errors = _errors(admin_client.post(ADD, _form(**fields)))

    assert field in errors, errors
    assert words in " ".join(errors[field])
    assert not Plan.objects.exists()


def test_the_asset_form_names_existing_monitors(admin_client):
    scheduling.monitor_create(tag="api")
    add = "/admin/maintenance/asset/add/"

    scheduling.monitor_create(tag="db")
    refused = admin_client.post(add, {"code": "P1", "name": "Pump", "monitor_tags": "api, nope"})
    assert "no monitor with tag 'nope'" in " ".join(_errors(refused)["monitor_tags"])
    # Typed as tags, with commas (a pasted JSON list still works).
    saved = admin_client.post(add, {"code": "P1", "name": "Pump", "monitor_tags": "api, db"})
    assert saved.status_code == 302
    assert Asset.objects.get().monitor_tags == ["api", "db"]
    change = admin_client.get(f"/admin/maintenance/asset/{quote(Asset.objects.get().pk)}/change/")
    assert 'value="api, db"' in change.content.decode()
