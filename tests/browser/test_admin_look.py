"""The project's own admin pages and widgets in the admin's light and dark themes: every part
they draw takes its colours from Django admin's CSS variables, so it stays readable (text
contrast at least 4.5:1, chart marks at least 3:1 against what is behind them) and dark in
the dark theme, with no CSP violation in chromium's console; desktop and 390 px phone.

(django-unfold was evaluated for the admin's look and not adopted: README "Admin look".)"""

from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote
from django.utils import timezone

from maintenance import services as maintenance_services
from maintenance.checklists import ChecklistItemSpec
from maintenance.models import Task, Technician
from maintenance.specs import CalendarTrigger, CounterTrigger, PlanSpec, TaskTemplate
from scheduling import services as scheduling_services
from scheduling.specs import MaintenanceSpec
from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, scrolls_sideways

pytestmark = pytest.mark.browser

# For each element the selector finds: its colour against the first opaque background behind
# it (WCAG relative luminance), and that background's luminance. SVG marks are measured by
# their stroke or fill.
_MEASURE = """(selector) => {
  const parse = (s) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(s || "");
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const lum = (c) => {
    const f = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const behind = (el) => {
    for (let e = el; e; e = e.parentElement) {
      if (e instanceof SVGElement && e.tagName.toLowerCase() !== "svg") continue;
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    const root = getComputedStyle(document.documentElement).backgroundColor;
    return parse(root) || { r: 255, g: 255, b: 255 };
  };
  return [...document.querySelectorAll(selector)].map((el) => {
    const style = getComputedStyle(el);
    const svg = el instanceof SVGElement;
    const own = parse(svg ? (style.stroke !== "none" ? style.stroke : style.fill) : style.color);
    const back = behind(svg ? el.ownerSVGElement || el : el);
    const [hi, lo] = [lum(own), lum(back)].sort((a, b) => b - a);
    return {
      what: selector + " '" + (el.textContent || "").trim().slice(0, 30) + "'",
      colour: (svg ? "mark " : "text ") + style.color + " / " + style.stroke + " / " + style.fill,
      background: getComputedStyle(el).backgroundColor,
      contrast: Math.round(((hi + 0.05) / (lo + 0.05)) * 100) / 100,
      behind: Math.round(lum(back) * 1000) / 1000,
    };
  });
}"""


def _tomorrow():
    return (
        (timezone.now() + timedelta(days=1))
        .astimezone(UTC)
        .replace(hour=9, minute=0, second=0, microsecond=0)
    )


@pytest.fixture
def objects(planner):
    """One of each thing the project's own pages draw: an overdue task with a typed checklist
    (dashboard, queue, task page), a window event and a plan due tomorrow (schedule), a counter
    plan with readings (chart)."""
    planner.email = "ada@example.com"
    planner.save()
    now = timezone.now()
    ada = Technician.objects.create(name="Ada Fixer", email="ada@example.com")
    checked = maintenance_services.plan_create(
        spec=PlanSpec(
            name="Grease the conveyor",
            priority="urgent",
            assignee_id=ada.pk,
            trigger=CalendarTrigger(
                every=1, unit="day", start_at=(now - timedelta(hours=25)).astimezone(UTC)
            ),
            task=TaskTemplate(
                checklist=(
                    ChecklistItemSpec(item="Oil level", required=True),
                    ChecklistItemSpec(item="Vibration", kind="number", unit="mm/s", min=0, max=4.5),
                )
            ),
        ),
        now=now - timedelta(hours=26),
    )
    maintenance_services.plans_execute_due(now=now - timedelta(hours=25))
    task = Task.objects.get(plan_id=checked.pk)
    scheduling_services.maintenance_create(
        spec=MaintenanceSpec(
            title="Database patching",
            start_date_time=_tomorrow(),
            rrule="FREQ=WEEKLY",
            duration_seconds=3600,
        )
    )
    counter = maintenance_services.plan_create(
        spec=PlanSpec(name="Compressor service", trigger=CounterTrigger(unit="h", interval=100)),
        now=now,
    )
    for hours_ago, value in ((5, 20), (1, 60)):
        maintenance_services.counter_record(
            plan_id=counter.pk,
            value=Decimal(value),
            source="test",
            recorded_at=now - timedelta(hours=hours_ago),
            reset=False,
            now=now,
        )
    return {"task": task, "plan": checked, "counter": counter}


def _pages(objects):
    """(screenshot name or "", path, what to do once loaded, [(selector, kind)]): kind "text"
    needs 4.5:1, "mark" 3:1."""
    type_tags = ("#id_skills", "pumps, electrical")
    return [
        (
            "dashboard",
            "/admin/",
            None,
            [
                (".board-figure", "text"),
                (".board-figure strong", "text"),
                ("rect.board-bar", "mark"),
            ],
        ),
        (
            "queue",
            "/admin/maintenance/task/queue/",
            None,
            [
                (".board-filters label", "text"),
                ("#queue-table tr.overdue td", "text"),
                (".board-overdue", "text"),
                (".board-chip", "text"),
            ],
        ),
        (
            "schedule",
            f"/admin/schedule/?view=month&date={_tomorrow():%Y-%m-%d}",
            None,
            [("a.board-entry.window", "text"), ("a.board-entry.plan", "text")],
        ),
        (
            "",
            "/admin/maintenance/technician/add/",
            type_tags,
            [("li.ops-tag", "text"), ("button.ops-tag-remove", "text")],
        ),
        (
            "",
            f"/admin/maintenance/plan/{quote(objects['plan'].pk)}/change/",
            None,
            [(".ops-preview", "text"), (".ops-cl-row .ops-cl-field", "text")],
        ),
        (
            "",
            f"/admin/maintenance/plan/{quote(objects['counter'].pk)}/change/",
            None,
            [
                ("#counter-chart .ops-chart-line", "mark"),
                ("#counter-chart .ops-chart-dot", "mark"),
                ("#counter-chart .ops-chart-next", "mark"),
                ("#counter-chart .ops-chart-tick", "text"),
            ],
        ),
        (
            "task",
            f"/admin/maintenance/task/{quote(objects['task'].pk)}/change/",
            None,
            [(".ops-tick", "text"), (".ops-required", "text"), (".ops-limits", "text")],
        ),
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_projects_pages_follow_the_admins_light_and_dark_themes(
    browser, live_server, planner, objects, scheme, viewport, screenshot
):
    context = browser.new_context(base_url=live_server.url, viewport=viewport, color_scheme=scheme)
    context.set_default_timeout(15_000)
    page = context.new_page()
    console = []
    # CSP violations and script errors; not chromium's 404 for /favicon.ico, which the admin
    # does not link and the console reports without naming.
    page.on("console", lambda m: "Content Security Policy" in m.text and console.append(m.text))
    page.on("pageerror", lambda error: console.append(str(error)))
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", planner.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")

    unreadable, light_in_dark, missing, sideways = [], [], [], []
    for name, path, action, checks in _pages(objects):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        if action:
            page.fill(*action)
            page.dispatch_event(action[0], "input")
        for selector, kind in checks:
            found = page.evaluate(_MEASURE, selector)
            if not found:
                missing.append(f"{path} {selector}")
            for item in found:
                if item["contrast"] < (4.5 if kind == "text" else 3):
                    unreadable.append(item)
                if scheme == "dark" and item["behind"] > 0.2:
                    light_in_dark.append(item)
        if viewport is PHONE and scrolls_sideways(page):
            sideways.append(path)
        if name:
            screenshot(page, name)
    context.close()

    problems = {"missing": missing, "unreadable": unreadable, "light in dark": light_in_dark}
    assert not any(problems.values()), problems
    assert sideways == [], sideways
    assert console == []
