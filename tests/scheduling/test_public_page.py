"""The public maintenance page /status/ and its feed /status/events.ics (no key; off unless
PUBLIC_MAINTENANCE_PAGE)."""

import re

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from scheduling.models import Monitor
from tests.scheduling.conftest import create, events_of, ts
from tests.scheduling.ical import vevents

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture(autouse=True)
def empty_cache():
    caches["pages"].clear()
    yield
    caches["pages"].clear()


@pytest.fixture
def public(settings):
    settings.PUBLIC_MAINTENANCE_PAGE = True


@pytest.fixture
def visitor() -> APIClient:
    return APIClient()


@pytest.fixture
def windows(api_client, monitors, frozen):
    """An ongoing DOWN window on api, an upcoming one on api+db, a cancelled one, one of an
    INACTIVE maintenance, one beyond 30 days, and one naming no monitor."""
    Monitor.objects.filter(tag="api").update(name="Public API", description="runs on k8s-prod-3")
    Monitor.objects.filter(tag="db").update(name="Database")
    ongoing = create(
        api_client,
        title="Router swap",
        description="INTERNAL: ticket OPS-4411, rack B7",
        start_date_time=ts(2026, 1, 5, 11, 30),
        rrule="FREQ=DAILY;COUNT=1",
        duration_seconds=3600,
        monitors=[{"monitor_tag": "api", "impact": "DOWN"}],
    )
    create(
        api_client,
        title="Database upgrade",
        rrule="FREQ=DAILY;COUNT=1",
        monitors=[{"monitor_tag": "api", "impact": "DEGRADED"}, {"monitor_tag": "db"}],
    )
    cancelled = create(api_client, title="Called off", rrule="FREQ=DAILY;COUNT=1")
    event = events_of(api_client, cancelled["id"])[0]
    api_client.patch(
        f"/api/v4/maintenances/{cancelled['id']}/events/{event['id']}",
        {"status": "CANCELLED"},
        format="json",
    )
    create(api_client, title="Switched off", rrule="FREQ=DAILY;COUNT=1", status="INACTIVE")
    create(
        api_client,
        title="Far away",
        start_date_time=ts(2026, 3, 1, 2, 0),
        rrule="FREQ=DAILY;COUNT=1",
    )
    create(api_client, title="Office network", rrule="FREQ=DAILY;COUNT=1")
    return {"ongoing": ongoing}


def sections(html: str) -> dict[str, str]:
    """{monitor heading: section html}."""
    found = {}
    for section in re.findall(r'<section class="monitor".*?</section>', html, re.S):
        heading = re.search(r"<h2[^>]*>\s*(.*?)\s*(?:<span|</h2>)", section, re.S).group(1)
        found[heading] = section
    return found


# --- off by default ----------------------------------------------------------------------------


def test_the_page_and_its_feed_are_404_unless_enabled(visitor, db):
    for url in ("/status/", "/status/events.ics"):
        response = visitor.get(url)
        assert response.status_code == 404
        assert "text/html" in response["Content-Type"]


# --- the page ----------------------------------------------------------------------------------


def test_it_shows_ongoing_and_upcoming_windows_per_monitor_without_a_key(public, visitor, windows):
    response = visitor.get("/status/")

    assert response.status_code == 200
    html = response.content.decode()
    groups = sections(html)
    assert list(groups) == ["Database", "Public API", "General"]
    api = groups["Public API"]
    assert "Under maintenance" in api and "badge-down" in api
    assert api.index("Router swap") < api.index("Database upgrade")
    assert re.search(r"Ongoing</span>\s*Router swap", api)
    assert re.search(r"Upcoming</span>\s*Database upgrade", api)
    assert 'datetime="2026-01-05T11:30:00+00:00"' in api
    assert "Mon 5 Jan 2026, 11:30 UTC" in api  # the fallback without JavaScript
    assert "Impact: <span" in api and "Down" in api and "Degraded" in api
    assert "Under maintenance" not in groups["Database"]
    assert "Office network" in groups["General"]
    for hidden in ("Called off", "Switched off", "Far away"):
        assert hidden not in html


def test_it_shows_no_private_field(public, visitor, windows):
    html = visitor.get("/status/").content.decode()

    for private in ("INTERNAL", "OPS-4411", "k8s-prod-3", "FREQ=", ">api<", ">db<"):
        assert private not in html
    assert f"/maintenances/{windows['ongoing']['id']}" not in html
    assert not re.search(r"\b(maintenance|event)[ _-]?id\b", html, re.I)


def test_it_links_the_public_feed_and_has_no_inline_script(public, visitor, windows):
    html = visitor.get("/status/").content.decode()

    assert 'href="webcal://testserver/status/events.ics"' in html
    assert "http://testserver/status/events.ics" in html
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, re.S)
    assert scripts == [""]  # one script, loaded from static/ (no inline code, for the CSP)
    assert re.search(r'<script src="/static/status/status.js" defer>', html)
    assert '<link rel="stylesheet" href="/static/status/status.css">' in html
    assert " style=" not in html and "onclick" not in html


def test_an_empty_page_says_so(public, visitor, db):
    html = visitor.get("/status/").content.decode()

    assert "No maintenance is under way or planned for the next 30 days." in html


def test_the_page_is_cached_for_30_seconds(public, visitor, api_client, windows, frozen):
    first = visitor.get("/status/")
    assert "max-age=30" in first["Cache-Control"]
    create(api_client, title="Late addition", rrule="FREQ=DAILY;COUNT=1")

    frozen.shift(20)
    assert b"Late addition" not in visitor.get("/status/").content
    frozen.shift(11)
    assert b"Late addition" in visitor.get("/status/").content


def test_the_page_reads_in_a_constant_number_of_queries(
    public, visitor, api_client, monitors, django_assert_max_num_queries
):
    for _ in range(15):
        create(
            api_client,
            rrule="FREQ=DAILY;COUNT=3",
            monitors=[{"monitor_tag": "api"}, {"monitor_tag": "db", "impact": "DOWN"}],
        )
    with django_assert_max_num_queries(3):  # events + maintenances, links + monitors
        response = visitor.get("/status/")
    assert response.content.decode().count('<li class="window') == 90


def test_only_get_and_head(public, visitor, db):
    assert visitor.post("/status/").status_code == 405
    assert visitor.head("/status/").status_code == 200


# --- the public feed ---------------------------------------------------------------------------


def test_the_public_feed_needs_no_key_and_carries_public_fields_only(public, visitor, windows):
    response = visitor.get("/status/events.ics")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=30"
    found = vevents(response.content)
    by_title = {e["summary"]: e for e in found.values()}
    assert set(by_title) == {
        "Router swap",
        "Database upgrade",
        "Called off",
        "Far away",
        "Office network",
    }
    assert by_title["Called off"]["status"] == "CANCELLED"
    assert by_title["Router swap"]["description"] == "Impact: DOWN\nServices: Public API (DOWN)"
    content = response.content.decode()
    for private in ("INTERNAL", "OPS-4411", "k8s-prod-3", ", event ", "Monitors:"):
        assert private not in content


def test_the_public_feed_answers_304_and_a_change_at_once(
    public, visitor, api_client, windows, frozen
):
    first = visitor.get("/status/events.ics")
    assert visitor.get("/status/events.ics", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    frozen.shift(5)
    create(api_client, title="Late addition", rrule="FREQ=DAILY;COUNT=1")
    second = visitor.get("/status/events.ics", HTTP_IF_NONE_MATCH=first["ETag"])

    assert second.status_code == 200  # the cached body is keyed by ETag: never stale
    assert "Late addition" in {e["summary"] for e in vevents(second.content).values()}
    assert second["ETag"] != first["ETag"]


def test_the_public_feed_body_is_built_once_while_nothing_changes(
    public, visitor, windows, django_assert_max_num_queries
):
    visitor.get("/status/events.ics")

    with django_assert_max_num_queries(1):  # the ETag aggregate; the body is cached
        again = visitor.get("/status/events.ics")
    assert again.status_code == 200
    assert len(vevents(again.content)) == 5
