"""Plans written from specs read back as the same specs; the services check a spec with the
API's rules and words, whoever built it."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core.errors import InvalidInput
from maintenance import selectors, services
from maintenance.models import Asset, Plan, Technician
from maintenance.specs import (
    CalendarTrigger,
    CounterTrigger,
    PlanSpec,
    TaskTemplate,
    plan_spec_of,
)
from tests.maintenance.conftest import CALENDAR_SPEC, COUNTER_SPEC, T0

pytestmark = pytest.mark.django_db


def _read_back(plan: Plan) -> PlanSpec:
    return plan_spec_of(selectors.plan_queryset().get(pk=plan.pk))


def test_a_plan_created_from_a_spec_reads_back_as_that_spec():
    asset = Asset.objects.create(code="A-1", name="Pump")
    tech = Technician.objects.create(name="Ada")
    spec = PlanSpec(
        name="Inspect",
        description="Every week",
        priority="high",
        department="Plant",
        asset_ids=(asset.pk,),
        assignee_id=tech.pk,
        preventive_cost=Decimal("100.00"),
        failure_cost=Decimal("2000.50"),
        task=TaskTemplate(
            title="Inspect the pump",
            description="Look and listen",
            checklist=("Seal", "Noise"),
            estimated_duration_minutes=30,
            code_prefix="INS",
        ),
        trigger=CalendarTrigger(
            rrule="FREQ=WEEKLY;BYDAY=MO",
            start_at=datetime(2026, 3, 2, 8, tzinfo=UTC),
            end_at=datetime(2027, 3, 2, 8, tzinfo=UTC),
            timezone="Europe/Berlin",
            anchor="floating",
            lead_time_hours=2,
            tolerance_hours=12,
        ),
    )
    assert _read_back(services.plan_create(spec=spec, now=T0)) == spec


@pytest.mark.parametrize(
    "spec",
    [
        CALENDAR_SPEC,  # the every + unit shorthand reads back as the shorthand
        replace(
            COUNTER_SPEC,
            task=TaskTemplate(title="Change the oil"),
            trigger=CounterTrigger(
                unit="km",
                interval=Decimal("1500.5"),
                anchor="floating",
                start_value=Decimal(100),
                tolerance_units=Decimal(50),
            ),
        ),
    ],
)
def test_shorthand_and_counter_plans_read_back_too(spec):
    assert _read_back(services.plan_create(spec=spec, now=T0)) == spec


def test_a_template_without_a_title_reads_back_with_the_plans_name():
    plan = services.plan_create(spec=COUNTER_SPEC, now=T0)
    assert _read_back(plan).task.title == "Oil change"


def test_a_partial_change_is_a_replace_of_the_read_back_spec():
    plan = services.plan_create(spec=CALENDAR_SPEC, now=T0)
    renamed = replace(_read_back(plan), name="Grease pump bearings")
    services.plan_update(plan_id=plan.pk, spec=renamed, now=T0)
    stored = Plan.objects.get(pk=plan.pk)
    assert (stored.name, stored.next_due_at) == ("Grease pump bearings", plan.next_due_at)
    assert _read_back(stored) == renamed


@pytest.mark.parametrize(
    ("spec", "details"),
    [
        (
            replace(CALENDAR_SPEC, trigger=replace(CALENDAR_SPEC.trigger, rrule="FREQ=DAILY")),
            {"calendar.rrule": ["Give either rrule or every + unit, not both."]},
        ),
        (
            replace(CALENDAR_SPEC, trigger=replace(CALENDAR_SPEC.trigger, every=None)),
            {"calendar.rrule": ["Give rrule, or every + unit."]},
        ),
        (
            replace(CALENDAR_SPEC, trigger=replace(CALENDAR_SPEC.trigger, unit=None)),
            {"calendar.unit": ["unit is required with every."]},
        ),
        (
            replace(COUNTER_SPEC, trigger=replace(COUNTER_SPEC.trigger, interval=Decimal(0))),
            {"counter.interval": ["Must be greater than 0."]},
        ),
        (
            replace(CALENDAR_SPEC, task=TaskTemplate(code_prefix="man")),
            {
                "task_code_prefix": [
                    "Must be 1 to 10 uppercase letters or digits, starting with a letter "
                    "(e.g. MAN)."
                ]
            },
        ),
        (
            replace(CALENDAR_SPEC, asset_ids=("asset_nope",), assignee_id="tech_nope"),
            {
                "asset_ids": ["Asset 'asset_nope' not found"],
                "assignee_id": ["Technician 'tech_nope' not found"],
            },
        ),
    ],
)
def test_the_service_refuses_a_spec_with_the_apis_field_names_and_words(spec, details):
    with pytest.raises(InvalidInput) as refused:
        services.plan_create(spec=spec, now=T0)
    assert refused.value.details == details
    assert not Plan.objects.exists()
