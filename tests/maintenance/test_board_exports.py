"""Exports from the admin: tasks and executions (django-import-export, filtered as the list
is) and compliance, as CSV and XLSX."""

import csv
import io

import openpyxl
import pytest

from tests.maintenance.conftest import BASE, at

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def executed(api_client, make_plan, clock):
    pump = make_plan(name="Pump")
    fan = make_plan(name="Fan", priority="low")
    for plan in (pump, fan):
        api_client.post(f"{BASE}/plans/{plan['id']}/execute")
    clock.move_to(at("2026-03-03 00:00"))
    return {"pump": pump, "fan": fan}


def _export(client, model: str, fmt: int, query: str = "") -> bytes:
    url = f"/admin/maintenance/{model}/export/{query}"
    page = client.get(url)
    assert page.status_code == 200
    # The form lists the formats: 0 = CSV, 1 = XLSX; then the resource's fields.
    response = client.post(url, {"format": fmt, "resource": 0, **_all_fields(page)})
    assert response.status_code == 200, response.content[:300]
    return response.content


def _all_fields(page) -> dict:
    form = page.context["form"]
    skipped = ("format", "resource", "export_items")
    return {name: "on" for name in form.fields if name not in skipped}


def test_it_exports_the_filtered_task_list_as_csv_and_xlsx(admin_client, executed):
    rows = list(csv.DictReader(io.StringIO(_export(admin_client, "task", 0).decode("utf-8-sig"))))
    assert sorted(r["plan_name"] for r in rows) == ["Fan", "Pump"]
    assert all(r["plan_id"].startswith("plan_") for r in rows)  # the id a spreadsheet joins on
    low = _export(admin_client, "task", 0, "?priority__exact=low").decode("utf-8-sig")
    assert [r["plan_name"] for r in csv.DictReader(io.StringIO(low))] == ["Fan"]

    sheet = openpyxl.load_workbook(io.BytesIO(_export(admin_client, "task", 1))).active
    header = [cell.value for cell in sheet[1]]
    assert "code" in header and "plan_name" in header
    assert sheet.max_row == 3


def test_it_exports_execution_history(admin_client, executed):
    body = _export(admin_client, "execution", 0).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {r["plan_name"] for r in rows} == {"Fan", "Pump"}
    assert all(r["plan_id"].startswith("plan_") for r in rows)
    assert all(r["task_code"].startswith("MAN-") for r in rows)


def test_it_exports_compliance_as_csv_and_xlsx(admin_client, executed):
    response = admin_client.get(
        "/admin/exports/compliance.csv", {"start_date": "2026-03-01", "end_date": "2026-03-31"}
    )
    assert response.status_code == 200
    assert 'filename="compliance-2026-03-01-2026-03-31.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["plan_name"] for r in rows][-1] == "All plans"
    assert {r["plan_name"] for r in rows[:-1]} == {"Fan", "Pump"}
    assert rows[-1]["overdue_count"] == "2"  # both past their deadline, open

    response = admin_client.get("/admin/exports/compliance.xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet.max_row == 4


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start_date": "2026-13-01"}, "start_date/end_date: Enter a valid date."),
        ({"start_date": "2026-03-02", "end_date": "2026-03-01"}, "start_date: Must not be after"),
        ({"start_date": "2000-01-01", "end_date": "2026-03-01"}, "end_date: At most"),
    ],
)
def test_a_bad_compliance_period_is_a_400_naming_the_field(admin_client, query, message):
    response = admin_client.get("/admin/exports/compliance.csv", query)
    assert response.status_code == 400
    assert message in response.content.decode()
