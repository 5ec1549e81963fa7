"""The plan form with the shared rule builder, in-process: a plain interval stays the v1
every + unit, anything more is an rrule; start and end are wall times in the plan's zone."""

from datetime import datetime

import pytest
from django.contrib.admin.utils import quote

from maintenance.models import Plan
from tests.maintenance.conftest import BASE
from tests.maintenance.test_admin_plans import ADD, _errors, _form

pytestmark = pytest.mark.usefixtures("clock")  # 2026-03-01 00:00 UTC


def _builder(**fields) -> dict:
    return _form(
        **{
            "rule_mode": "builder",
            "timezone": "Europe/Paris",
            "rule_end": "never",
            **fields,
        }
    )


def test_a_plain_interval_is_kept_as_the_v1_every_and_unit(admin_client, api_client):
    response = admin_client.post(ADD, _builder(every="3", unit="day"))
    assert response.status_code == 302, _errors(response)
    plan = Plan.objects.get()
    calendar = api_client.get(f"{BASE}/plans/{plan.pk}").json()["calendar"]
    assert (calendar["every"], calendar["unit"]) == (3, "day")
    assert calendar["start_at"] == "2026-03-02T07:00:00Z"  # 08:00 in Paris (CET)
    assert calendar["timezone"] == "Europe/Paris"
    form = (
        admin_client.get(f"/admin/maintenance/plan/{quote(plan.pk)}/change/")
        .context["adminform"]
        .form
    )
    assert (form["rule_mode"].value(), form["every"].value(), form["unit"].value()) == (
        "builder",
        3,
        "day",
    )
    assert form["start_at"].value() == datetime(2026, 3, 2, 8, 0)


def test_weekdays_a_time_and_an_end_make_an_rrule(admin_client, api_client):
    response = admin_client.post(
        ADD,
        _builder(
            every="1",
            unit="week",
            rule_weekdays=["TH", "TU"],
            rule_time="07:30",
            rule_end="until",
            rule_until="2026-12-31",
            end_at_0="2027-01-31",
            end_at_1="18:00:00",
        ),
    )
    assert response.status_code == 302, _errors(response)
    plan = Plan.objects.get()
    calendar = api_client.get(f"{BASE}/plans/{plan.pk}").json()["calendar"]
    assert (
        calendar["rrule"]
        == "FREQ=WEEKLY;INTERVAL=1;BYDAY=TU,TH;BYHOUR=7;BYMINUTE=30;UNTIL=20261231"
    )
    assert calendar["every"] is None
    assert calendar["end_at"] == "2027-01-31T17:00:00Z"


def test_a_plan_start_the_clocks_skip_is_refused_on_its_field(admin_client):
    errors = _errors(
        admin_client.post(ADD, _builder(start_at_0="2026-03-29", start_at_1="02:30:00"))
    )
    assert list(errors) == ["start_at"]
    assert "does not exist in Europe/Paris" in errors["start_at"][0]
    assert not Plan.objects.exists()


def test_a_counter_plan_needs_no_rule(admin_client):
    response = admin_client.post(
        ADD,
        _builder(trigger="counter", every="", unit="", counter_unit="h", counter_interval="500"),
    )
    assert response.status_code == 302, _errors(response)
    assert Plan.objects.get().trigger == "counter"
