"""The schedule page (next 30 days of window events and plan due dates), and who may reach
the operators' admin pages."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.admin.utils import quote
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from maintenance import services as maintenance_services
from maintenance.models import Asset
from maintenance.specs import CalendarTrigger, CounterTrigger, PlanSpec, WhicheverFirstTrigger
from scheduling import services as scheduling_services
from scheduling.models import Monitor
from scheduling.specs import MaintenanceSpec, MonitorLink

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday
SCHEDULE = "/admin/schedule/"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def admin_client(client, django_user_model, frozen):
    user = django_user_model.objects.create_superuser(username="root", password="root-pass-123")
    client.force_login(user)
    return client


def _window(title: str, monitor: Monitor | None = None, rrule: str = "FREQ=WEEKLY"):
    return scheduling_services.maintenance_create(
        spec=MaintenanceSpec(
            title=title,
            start_date_time=datetime(2026, 3, 3, 2, 0, tzinfo=UTC),
            rrule=rrule,
            duration_seconds=3600,
            monitors=[MonitorLink(monitor=monitor)] if monitor else [],
        ),
        now=NOW,
    )


def _plan(name: str, **fields):
    from maintenance.models import Asset, Technician

    asset = Asset.objects.create(code=f"A-{name}", name=name)
    tech = Technician.objects.create(name=f"Tech {name}")
    spec = PlanSpec(
        name=name,
        asset_ids=(asset.pk,),
        assignee_id=tech.pk,
        trigger=CalendarTrigger(
            rrule="FREQ=WEEKLY;BYDAY=WE", start_at=datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
        ),
        **fields,
    )
    return maintenance_services.plan_create(spec=spec, now=NOW), asset, tech


def test_it_shows_window_events_and_plan_due_dates_for_30_days(admin_client):
    monitor = Monitor.objects.create(tag="checkout", name="Checkout")
    window = _window("DB patching", monitor)
    plan, _, _ = _plan("Boiler")

    page = admin_client.get(SCHEDULE)
    assert page.status_code == 200
    weeks = page.context["weeks"]
    cells = {day["date"].isoformat(): day for week in weeks for day in week}
    assert [e.title for e in cells["2026-03-03"]["entries"]] == ["DB patching"]
    assert [e.title for e in cells["2026-03-04"]["entries"]] == ["Boiler"]
    # Weekly over 30 days from Mon 2 March: 5 Tuesdays and 4 Wednesdays... up to 31 March.
    kinds = [e.kind for day in page.context["days"] for e in day["entries"]]
    assert kinds.count("window") == 5 and kinds.count("plan") == 4
    html = page.content.decode()
    assert reverse("admin:scheduling_maintenance_change", args=[window.pk]) in html
    assert reverse("admin:maintenance_plan_change", args=[quote(plan.pk)]) in html

    listing = admin_client.get(SCHEDULE, {"view": "list"}).content.decode()
    assert 'id="schedule-list"' in listing
    assert "02:00\N{EN DASH}03:00" in listing


def test_it_shows_the_calendar_due_dates_of_whichever_first_plans(admin_client):
    asset = Asset.objects.create(code="TRK-1", name="Truck")
    maintenance_services.plan_create(
        spec=PlanSpec(
            name="Truck service",
            asset_ids=(asset.pk,),
            trigger=WhicheverFirstTrigger(
                calendar=CalendarTrigger(
                    rrule="FREQ=WEEKLY;BYDAY=WE", start_at=datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
                ),
                counter=CounterTrigger(unit="km", interval=Decimal(10000)),
            ),
        ),
        now=NOW,
    )

    page = admin_client.get(SCHEDULE)

    dues = [e.title for day in page.context["days"] for e in day["entries"] if e.kind == "plan"]
    assert dues == ["Truck service"] * 4


def test_it_filters_by_monitor_asset_and_technician(admin_client):
    checkout = Monitor.objects.create(tag="checkout", name="Checkout")
    search = Monitor.objects.create(tag="search", name="Search")
    _window("Checkout window", checkout)
    _window("Search window", search)
    _, asset, tech = _plan("Boiler")
    _plan("Pump")

    def titles(**params):
        page = admin_client.get(SCHEDULE, params)
        return {e.title for day in page.context["days"] for e in day["entries"]}

    assert titles() == {"Checkout window", "Search window", "Boiler", "Pump"}
    assert titles(monitor="checkout") == {"Checkout window"}
    assert titles(asset=asset.code) == {"Boiler"}
    assert titles(technician=tech.pk) == {"Boiler"}


def test_it_renders_in_a_fixed_number_of_queries(admin_client):
    monitor = Monitor.objects.create(tag="checkout", name="Checkout")
    _window("W0", monitor)
    _plan("P0")
    with CaptureQueriesContext(connection) as small:
        admin_client.get(SCHEDULE)
    for i in range(1, 15):
        _window(f"W{i}", monitor, rrule="FREQ=DAILY")
        _plan(f"P{i}")
    with CaptureQueriesContext(connection) as large:
        page = admin_client.get(SCHEDULE)
    assert page.context["entry_count"] > 400
    assert len(large.captured_queries) == len(small.captured_queries)


# --- who gets in -------------------------------------------------------------------------------

OPERATOR_PAGES = [
    SCHEDULE,
    SCHEDULE + "?view=list",
    SCHEDULE + "preview?start=2026-03-03T02:00&rrule=FREQ%3DDAILY",
    "/admin/",
    "/admin/maintenance/plan/",
    "/admin/maintenance/plan/add/",
    "/admin/maintenance/task/queue/",
    "/admin/scheduling/maintenance/",
    "/admin/scheduling/maintenance/add/",
    "/admin/scheduling/maintenanceevent/",
]


@pytest.mark.parametrize("url", OPERATOR_PAGES)
def test_a_non_staff_user_cannot_reach_it(db, client, django_user_model, url):
    user = django_user_model.objects.create_user(username="visitor", password="visitor-pw-1")
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    client.logout()
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_non_staff_user_cannot_act_on_a_plan(db, client, django_user_model, frozen):
    plan, _, _ = _plan("Boiler")
    user = django_user_model.objects.create_user(username="visitor", password="visitor-pw-1")
    client.force_login(user)
    for name in ("execute", "pause", "resume"):
        response = client.post(reverse(f"admin:maintenance_plan_{name}", args=[quote(plan.pk)]))
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert plan.tasks.count() == 0


def test_a_staff_user_without_permissions_is_refused(db, client, django_user_model, frozen):
    plan, _, _ = _plan("Boiler")
    user = django_user_model.objects.create_user(
        username="staff", password="staff-pw-1", is_staff=True
    )
    client.force_login(user)
    assert client.get("/admin/maintenance/task/queue/").status_code == 403
    assert client.get(SCHEDULE).status_code == 403
    response = client.post(reverse("admin:maintenance_plan_execute", args=[quote(plan.pk)]))
    assert response.status_code in (403, 404)
    assert plan.tasks.count() == 0


def test_posts_need_the_csrf_token(db, django_user_model, frozen):
    plan, _, _ = _plan("Boiler")
    user = django_user_model.objects.create_superuser(username="root", password="root-pass-1")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    for url in (
        reverse("admin:maintenance_plan_execute", args=[quote(plan.pk)]),
        "/admin/maintenance/task/queue/",
        "/admin/maintenance/plan/add/",
        reverse("admin:scheduling_maintenance_add"),
    ):
        assert client.post(url, {"action": "complete"}).status_code == 403, url
    assert plan.tasks.count() == 0


def test_it_caps_what_one_page_shows(admin_client, monkeypatch):
    from maintenance import admin_schedule

    monkeypatch.setattr(admin_schedule, "SCHEDULE_MAX_ENTRIES", 40)
    for i in range(10):
        _window(f"W{i}", rrule="FREQ=DAILY")
    page = admin_client.get(SCHEDULE)
    assert page.context["shown"] == 40
    assert page.context["truncated"] == page.context["entry_count"] - 40
    html = page.content.decode()
    assert 'id="schedule-truncated"' in html
    assert "+4 more" in html  # ten windows a day, six shown in a cell


# --- month and week views, time zones, moving ------------------------------------------------


def _titles(page) -> list[tuple[str, str]]:
    return [
        (e.start.strftime("%Y-%m-%d %H:%M"), e.title)
        for d in page.context["days"]
        for e in d["entries"]
    ]


def test_the_week_view_navigates_by_week_and_the_month_view_by_month(admin_client):
    _window("DB patching")
    page = admin_client.get(SCHEDULE, {"view": "week"})
    assert page.context["first"].isoformat() == "2026-03-02"
    assert _titles(page) == [("2026-03-03 02:00", "DB patching")]
    html = page.content.decode()
    assert 'href="?view=week&amp;date=2026-03-09&amp;tz=UTC"' in html  # next
    assert 'href="?view=week&amp;date=2026-02-23&amp;tz=UTC"' in html  # previous
    page = admin_client.get(SCHEDULE, {"view": "week", "date": "2026-03-09"})
    assert _titles(page) == [("2026-03-10 02:00", "DB patching")]

    april = admin_client.get(SCHEDULE, {"date": "2026-04-15"})
    assert april.context["first"].isoformat() == "2026-04-01"
    assert [t for _, t in _titles(april)] == ["DB patching"] * 4
    assert april.context["previous"] == "2026-03-01" and april.context["following"] == "2026-05-01"


def test_it_shows_times_in_the_chosen_zone(admin_client):
    window = _window("DB patching")
    page = admin_client.get(SCHEDULE, {"view": "week", "tz": "America/New_York"})
    # 02:00 UTC on Tuesday 3 March is 21:00 on Monday 2 March in New York (EST, UTC-5).
    assert _titles(page)[0] == ("2026-03-02 21:00", "DB patching")
    html = page.content.decode()
    assert "(America/New_York)" in html
    assert "21:00&ndash;22:00 DB patching" in html  # rendered in the zone too
    assert 'value="2026-03-02T21:00"' in html  # and the move form's inputs
    url = reverse("admin:scheduling_maintenance_change", args=[quote(window.pk)])
    assert f'href="{url}"' in html
    assert 'title="DB patching · 2026-03-02 21:00' in html  # the full title on hover


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"tz": "Mars/Olympus"}, "tz: Unknown time zone Mars/Olympus."),
        ({"date": "2026-13-45"}, "date: Enter a valid date (YYYY-MM-DD)."),
        ({"date": "9999-12-31"}, "date: Enter a valid date (YYYY-MM-DD)."),
        ({"date": "soon"}, "date: Enter a valid date (YYYY-MM-DD)."),
    ],
)
def test_a_bad_zone_or_date_is_a_400_naming_it(admin_client, params, message):
    page = admin_client.get(SCHEDULE, params)
    assert page.status_code == 400
    assert message in page.content.decode()


def test_the_week_view_costs_a_fixed_number_of_queries(admin_client, django_assert_max_num_queries):
    monitor = Monitor.objects.create(tag="checkout", name="Checkout")
    for i in range(15):
        _window(f"W{i}", monitor, rrule="FREQ=DAILY")
        _plan(f"P{i}")
    with django_assert_max_num_queries(12):
        page = admin_client.get(SCHEDULE, {"view": "week", "tz": "Europe/Rome"})
    assert page.context["entry_count"] > 100


MOVE = SCHEDULE + "move"


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_it_moves_a_window_event_through_the_service(admin_client):
    window = _window("DB patching")
    event = window.events.order_by("start_date_time").first()
    back = SCHEDULE + "?view=week&tz=Europe/Rome"
    response = admin_client.post(
        MOVE,
        {
            "kind": "window",
            "id": event.pk,
            "tz": "Europe/Rome",
            "start": "2026-03-03T05:00",
            "end": "2026-03-03T06:30",
            "next": back,
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == back
    assert _messages(response) == ["Moved DB patching to 2026-03-03 05:00 CET."]
    event.refresh_from_db()
    assert event.start_date_time == datetime(2026, 3, 3, 4, 0, tzinfo=UTC)
    assert event.end_date_time == datetime(2026, 3, 3, 5, 30, tzinfo=UTC)
    assert event.is_modified


def test_a_refused_event_move_shows_the_services_message(admin_client):
    window = _window("DB patching")
    event = window.events.order_by("start_date_time").first()
    before = (event.start_date_time, event.end_date_time)
    for data, message in (
        (
            {"start": "2026-03-03T05:00", "end": "2026-03-03T04:00"},
            "end_date_time must be greater than start_date_time",
        ),
        ({"start": "tomorrow", "end": "2026-03-03T04:00"}, "start_date_time: Enter a valid"),
    ):
        response = admin_client.post(
            MOVE, {"kind": "window", "id": event.pk, "tz": "UTC", **data}, follow=True
        )
        (shown,) = _messages(response)
        assert shown.startswith(message), shown
    event.refresh_from_db()
    assert (event.start_date_time, event.end_date_time) == before
    response = admin_client.post(MOVE, {"kind": "window", "id": "999999", "tz": "UTC"}, follow=True)
    assert _messages(response) == ["id: No window event 999999."]
    response = admin_client.post(MOVE, {"kind": "moon", "tz": "UTC"}, follow=True)
    assert _messages(response) == ["kind: Choose window or plan."]
    assert admin_client.get(MOVE).status_code == 405


def test_it_moves_a_plans_next_due_date_and_audits_it(admin_client):
    from core.models import AuditRecord

    plan, _, _ = _plan("Boiler")
    response = admin_client.post(
        MOVE,
        {
            "kind": "plan",
            "id": plan.pk,
            "tz": "UTC",
            "due": "2026-03-05T10:00",
            "next": "https://evil.example/",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == SCHEDULE  # not off-site
    assert _messages(response) == ["Moved Boiler to 2026-03-05 10:00 UTC."]
    plan.refresh_from_db()
    assert plan.next_due_at == datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
    assert plan.next_run_at == plan.next_due_at  # no lead time
    record = AuditRecord.objects.filter(object_pk=plan.pk, action=1).latest("timestamp")
    assert "next_due_at" in record.changes and record.actor_name == "user:root"

    response = admin_client.post(
        MOVE, {"kind": "plan", "id": plan.pk, "tz": "UTC", "due": "2026-03-01T10:00"}, follow=True
    )
    assert _messages(response) == ["next_due_at must be in the future"]
    response = admin_client.post(
        MOVE,
        {"kind": "plan", "id": "plan_nope", "tz": "UTC", "due": "2026-03-05T10:00"},
        follow=True,
    )
    assert _messages(response) == ["Plan with id 'plan_nope' not found"]


def test_moving_needs_the_change_permission(db, client, django_user_model, frozen):
    from django.contrib.auth.models import Permission

    plan, _, _ = _plan("Boiler")
    user = django_user_model.objects.create_user(
        username="viewer", password="pw-123456", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    client.force_login(user)
    assert (
        client.post(
            MOVE, {"kind": "plan", "id": plan.pk, "tz": "UTC", "due": "2026-03-05T10:00"}
        ).status_code
        == 403
    )
    page = client.get(SCHEDULE, {"view": "list"})
    assert 'class="board-move"' not in page.content.decode()
