"""The admin in Spanish in headless chromium: a planner whose browser asks for Spanish (es-ES)
gets the project's own pages in Spanish (dashboard, a plan's page with its checklist editor
and live preview, the work queue); an English browser switches with the header's buttons."""

import pytest
from django.contrib.admin.utils import quote
from django.utils import timezone

from maintenance import services
from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, scrolls_sideways, weekly_plan

pytestmark = pytest.mark.browser


def _login(page, user):
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


@pytest.fixture(params=["desktop", "phone"])
def spanish_page(request, browser, live_server, planner):
    """A page whose browser asks for Spanish (Accept-Language: es-ES), not yet logged in."""
    viewport = DESKTOP if request.param == "desktop" else PHONE
    context = browser.new_context(base_url=live_server.url, viewport=viewport, locale="es-ES")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.width_name = request.param
    yield page
    context.close()


def test_a_spanish_browser_gets_the_admin_in_spanish(spanish_page, planner, screenshot):
    page = spanish_page
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto("/admin/login/?next=/admin/")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_role("button", name="Español").is_disabled()  # the current language
    screenshot(page, f"login-{page.width_name}")
    _login(page, planner)

    # The dashboard: the project's own figures and links.
    assert page.locator("#open-queue").inner_text() == "Cola de trabajo"
    assert page.locator("#open-my-tasks").inner_text() == "Mis tareas"
    assert page.get_by_text("Cumplimiento del mantenimiento preventivo por mes").is_visible()
    assert "tareas vencidas" in page.locator("#figure-overdue").inner_text()
    # The app list: app and model names (Django makes the plural up; core/i18n.py).
    assert page.get_by_role("link", name="Mantenimiento preventivo").count() >= 1
    assert page.get_by_role("link", name="Planes", exact=True).count() >= 1
    if page.width_name == "phone":
        assert not scrolls_sideways(page)
    screenshot(page, f"dashboard-{page.width_name}")

    # A plan's page: fieldsets, actions, the checklist editor and the preview (scripts).
    plan = weekly_plan("Drain the tank")
    page.goto(f"/admin/maintenance/plan/{quote(plan.pk)}/change/")
    assert page.locator("#ops-action-execute").inner_text() == "Ejecutar ahora"
    assert page.locator("#ops-action-pause").inner_text() == "Pausar"
    assert page.get_by_role("heading", name="Plantilla de tarea").is_visible()
    assert page.get_by_role("heading", name="Disparador por calendario").is_visible()
    assert page.get_by_role("heading", name="Trabajo reciente").is_visible()
    assert page.locator("label[for=id_name]").inner_text() == "Nombre:"
    assert page.locator("label[for=id_task_title]").inner_text() == "Título de la tarea:"
    assert page.locator("#id_priority option:checked").inner_text() == "Media"
    assert (
        page.locator("#id_unit option:checked").inner_text() == "semanas"
    )  # the rule builder's unit
    assert page.locator(".ops-cl-add").inner_text() == "Añadir elemento"
    assert page.locator(".ops-cl-row .ops-cl-kind option").first.inner_text() == "Verificación"
    assert page.locator(".ops-cl-row .ops-cl-up").get_attribute("title") == "Subir"
    page.locator("#ops-preview .ops-description").wait_for()  # the preview asked the server
    # The rule in words, from the recurrence engine's templates (weekly, from tomorrow).
    assert page.locator("#ops-preview .ops-description").inner_text().startswith("Cada semana el ")
    assert "Próximas 10 ocurrencias" in page.locator("#ops-preview h3").inner_text()
    assert page.get_by_role("button", name="Guardar y continuar editando").count() == 1  # Django
    screenshot(page, f"plan-{page.width_name}")

    # The work queue with its filters; the plan's first task is in it.
    services.plan_execute(plan_id=plan.pk, by="user:planner", now=timezone.now())
    page.goto("/admin/maintenance/task/queue/")
    assert "Cola de trabajo: tareas abiertas, primero las vencidas" in page.title()
    assert page.locator("#queue-all").inner_text() == "Todas las tareas abiertas"
    assert page.locator("#queue-count").inner_text() == "1 tarea abierta"
    assert page.get_by_label("Prioridad").count() >= 1
    if page.width_name == "phone":
        assert not scrolls_sideways(page)
    screenshot(page, f"queue-{page.width_name}")
    assert problems == []


@pytest.mark.parametrize("viewport", ["page", "phone_page"])
def test_the_header_buttons_switch_the_language(viewport, request, screenshot):
    page = request.getfixturevalue(viewport)  # an English browser, logged in
    assert page.locator("#open-queue").inner_text() == "Work queue"
    page.click("#language-es")
    page.wait_for_url("**/admin/")
    assert page.locator("#open-queue").inner_text() == "Cola de trabajo"
    assert page.locator("#language-es").is_disabled()
    page.goto("/admin/maintenance/task/queue/")  # the choice stays (a cookie)
    assert page.locator("#queue-all").inner_text() == "Todas las tareas abiertas"
    screenshot(page, "spanish")
    page.click("#language-en")
    page.wait_for_url("**/admin/maintenance/task/queue/")
    assert page.locator("#queue-all").inner_text() == "All open tasks"
