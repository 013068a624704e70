"""The import journey in a real browser: upload, the progress bar, the problems, the import, the result; the mapping step.

The jobs run in this process (no worker here): the test runs each one when the page shows its progress bar,
and HTMX's polling then reloads the page by itself. Screenshots land in test-artifacts/browser/intake-*.png.
"""

import pytest
from django.db import connections
from django_tenants.utils import tenant_context

from portal.intake.models import ColumnMapping
from portal.jobs import tasks
from tests.browser_support import chromium, live_app, new_page, no_horizontal_overflow, off_the_event_loop, shot  # noqa: F401
from tests.intake_support import id_number, remove_imported, row, to_csv
from tests.world import PASSWORD

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """Jobs are run by the test, not sent to a broker nobody listens to."""
    monkeypatch.setattr(tasks.run_job, "delay", lambda job_id: None)


@pytest.fixture(autouse=True)
def cleanup(world):
    """What the browser imports is committed by the live server: remove it, so no other test sees it."""
    yield

    def remove():
        with tenant_context(world.lenders["acme"]):
            remove_imported(contract_prefix="BROWSER-", batch_names=["逾期客户-2026-06.csv", "core-export.csv"])
            ColumnMapping.objects.filter(name="Core banking export").delete()
        connections["default"].set_schema_to_public()

    off_the_event_loop(remove)


def run_job(world, page):
    from portal.intake.models import ImportBatch
    from portal.jobs.services import execute

    batch_id = page.url.rstrip("/").split("/")[-1]

    def work():
        with tenant_context(world.lenders["acme"]):
            execute(ImportBatch.objects.get(pk=batch_id).job_id)
        connections["default"].set_schema_to_public()

    off_the_event_loop(work)


def sign_in_to_acme(page, app, persona):
    page.goto(app.url("/accounts/login/", host="acme"))
    page.locator('input[name="username"]').fill(persona.email)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('main button[type="submit"]').click()


def test_a_manager_imports_a_file_and_reads_the_problems(world, live_app, new_page, tmp_path):
    page = new_page()
    sign_in_to_acme(page, live_app, world.people["acme_manager"])
    page.goto(live_app.url("/intake/", host="acme"))
    expect(page.locator("h1")).to_have_text("Import cases")
    shot(page, "intake-01-upload")
    path = tmp_path / "逾期客户-2026-06.csv"
    rows = [row(seed, contract_no=f"BROWSER-{seed:03d}", id_number=id_number(seed, region="650103")) for seed in range(1, 9)]
    rows += [
        row(20, contract_no="BROWSER-020", mobile="1380013800"),
        row(21, contract_no="BROWSER-021", borrower_name="=cmd|' /C calc'!A0"),
        row(22, contract_no="BROWSER-001", loan_amount="-20000"),
    ]
    path.write_bytes(to_csv(rows, encoding="utf-8-sig"))
    page.locator('input[type="file"]').set_input_files(str(path))
    page.get_by_role("button", name="Check the file", exact=True).click()
    expect(page.locator("#intake-progress progress")).to_be_visible()
    shot(page, "intake-02-checking")
    run_job(world, page)
    expect(page.get_by_role("button", name="Import 8 valid rows")).to_be_visible()  # the page reloaded itself
    expect(page.locator("main table tbody tr")).to_have_count(4)
    shot(page, "intake-03-preview")
    page.get_by_role("button", name="Import 8 valid rows").click()
    expect(page.locator("#intake-progress")).to_be_visible()
    run_job(world, page)
    expect(page.get_by_text("Cases created")).to_be_visible()
    shot(page, "intake-04-imported")
    page.set_viewport_size({"width": 390, "height": 844})
    assert no_horizontal_overflow(page)
    shot(page, "intake-05-phone-result")


def test_a_manager_maps_an_unknown_layout(world, live_app, new_page, tmp_path):
    page = new_page()
    sign_in_to_acme(page, live_app, world.people["acme_manager"])
    own = {
        "contract_no": "Loan ref",
        "product": "Plan",
        "borrower_name": "Customer",
        "id_number": "Identity",
        "mobile": "Cell",
        "loan_amount": "Granted",
        "principal_due": "Capital left",
        "overdue_since": "Default date",
    }
    path = tmp_path / "core-export.csv"
    path.write_bytes(to_csv([row(1, contract_no="BROWSER-MAP-1", id_number=id_number(1, region="650103"))], headers=list(own), rename=own))
    page.goto(live_app.url("/intake/", host="acme"))
    page.locator('input[type="file"]').set_input_files(str(path))
    page.get_by_role("button", name="Check the file", exact=True).click()
    expect(page.locator("h1")).to_have_text("Which column is which?")
    for name, header in own.items():
        page.locator(f'select[name="{name}"]').select_option(header)
    page.locator('input[name="save_as"]').fill("Core banking export")
    shot(page, "intake-06-mapping")
    page.get_by_role("button", name="Check the file with these columns").click()
    expect(page.locator("#intake-progress")).to_be_visible()
    run_job(world, page)
    expect(page.get_by_role("button", name="Import 1 valid row")).to_be_visible()
