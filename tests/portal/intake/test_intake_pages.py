"""Intake pages: upload → check (a job, with progress) → preview → import (a job) → result; mapping; templates; tokens."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from portal.audit.models import AuditEvent
from portal.intake.models import BatchStatus, ColumnMapping, ImportBatch, IntegrationToken
from portal.jobs.services import execute
from portal.models import Case
from tests.intake_support import row, to_csv, to_xlsx

pytestmark = pytest.mark.django_db


def upload(client, content, name="cases.csv", **extra):
    return client.post("/intake/", {"file": SimpleUploadedFile(name, content, content_type="text/csv"), **extra})


def run_job_of(world, batch_id):
    with tenant_context(world.lenders["acme"]):
        batch = ImportBatch.objects.get(pk=batch_id)
        execute(batch.job_id)
        batch.refresh_from_db()
        return batch


def batch_id_of(response):
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"].strip("/").split("/")[1]


def test_a_manager_uploads_watches_the_check_reads_the_problems_and_imports(world, client_for, django_capture_on_commit_callbacks):
    client = client_for("acme_manager", host="acme")
    home = client.get("/intake/").content.decode()
    assert "/intake/template.xlsx" in home and "/intake/template.csv" in home and "contact1_relation" in home
    rows = [row(1), row(2, borrower_name='=HYPERLINK("http://evil")'), row(3), row(4, contract_no="HT00000001")]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(client, to_csv(rows, encoding="gb18030"))
    batch_id = batch_id_of(response)
    assert len(callbacks) == 1  # the check runs in a worker, enqueued once the upload is committed
    page = client.get(f"/intake/{batch_id}/").content.decode()
    assert f'hx-get="/intake/{batch_id}/progress/"' in page and "<progress" in page
    batch = run_job_of(world, batch_id)
    assert batch.status == BatchStatus.VALIDATED and batch.encoding == "gb18030"
    progress = client.get(f"/intake/{batch_id}/progress/")
    assert progress.status_code == 204 and progress["HX-Refresh"] == "true"  # the page reloads itself to show the verdict
    page = client.get(f"/intake/{batch_id}/").content.decode()
    assert "Import 2 valid rows" in page and "The 2 rows with problems will be skipped" in page
    assert "Starts with “=”, which spreadsheets run as a formula" in page
    assert "Contract no. HT00000001 already appears on row 2" in page
    with tenant_context(world.lenders["acme"]):
        assert not Case.objects.filter(contract_no="HT00000001").exists()  # nothing before the button

    errors = client.get(f"/intake/{batch_id}/errors.csv")
    assert errors["Content-Disposition"].startswith("attachment")
    report = list(csv.reader(io.StringIO(errors.content.decode("utf-8-sig"))))
    assert report[0] == ["Row", "Column", "Column in your file", "Problem"]
    assert report[1][:2] == ["3", "borrower_name"] and report[2][:2] == ["5", "contract_no"]
    with tenant_context(world.lenders["acme"]):
        assert AuditEvent.objects.filter(action="download", object_id=batch_id).exists()

    with django_capture_on_commit_callbacks(execute=False):
        assert client.post(f"/intake/{batch_id}/commit/").status_code == 302
    assert "Importing the valid rows" in client.get(f"/intake/{batch_id}/").content.decode()
    assert client.post(f"/intake/{batch_id}/commit/").status_code == 302  # a second click starts nothing
    batch = run_job_of(world, batch_id)
    assert batch.status == BatchStatus.COMMITTED and (batch.created, batch.updated) == (2, 0)
    page = client.get(f"/intake/{batch_id}/").content.decode()
    assert "Cases created" in page and "Importing the same file again changes nothing" in page
    with tenant_context(world.lenders["acme"]):
        assert set(Case.objects.filter(contract_no__startswith="HT0000000").values_list("contract_no", flat=True)) == {
            "HT00000001",
            "HT00000003",
        }
        assert AuditEvent.objects.filter(action="create", object_id=batch_id, actor_email=world.people["acme_manager"].email).exists()
    listing = client.get("/intake/").content.decode()
    assert "cases.csv" in listing and "Imported" in listing


def test_another_layout_is_mapped_once_saved_and_recognised_next_time(world, client_for, django_capture_on_commit_callbacks):
    client = client_for("acme_manager", host="acme")
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
    headers = list(own)
    content = to_csv([row(1), row(2)], headers=headers, rename=own)
    response = upload(client, content, name="core-export.csv")
    batch_id = batch_id_of(response)
    assert response["Location"] == f"/intake/{batch_id}/mapping/"
    form = client.get(f"/intake/{batch_id}/mapping/").content.decode()
    assert "Loan ref" in form and "Which column is which?" in form
    choice = {name: own[name] for name in headers}
    clash = client.post(f"/intake/{batch_id}/mapping/", {**choice, "mobile": "Customer"})
    assert "is already used for" in clash.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/intake/{batch_id}/mapping/", {**choice, "save_as": "Core banking"})
    assert response["Location"] == f"/intake/{batch_id}/"
    batch = run_job_of(world, batch_id)
    assert batch.status == BatchStatus.VALIDATED and batch.valid == 2 and batch.mapping_name == "Core banking"
    with tenant_context(world.lenders["acme"]):
        assert ColumnMapping.objects.get(name="Core banking").mapping == choice
    with django_capture_on_commit_callbacks(execute=False):
        response = upload(client, to_csv([row(3)], headers=headers, rename=own), name="core-export-2.csv")
    second = batch_id_of(response)
    assert response["Location"] == f"/intake/{second}/"  # no mapping step this time
    assert run_job_of(world, second).valid == 1
    assert "Core banking" in client.get("/intake/").content.decode()


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("cases.pdf", b"%PDF-1.4", "Upload a .csv or .xlsx file."),
        ("cases.csv", to_xlsx([row(1)]), "The file&#x27;s content does not match its name"),
        ("cases.xlsx", b"contract_no\nHT1\n", "The file&#x27;s content does not match its name"),
        ("cases.csv", b"", "The submitted file is empty."),
        ("cases.csv", "合同编号,姓名\n".encode("utf-16"), "The file is not UTF-8 or GB18030 text"),
        ("cases.csv", to_csv([]), "The file has column names but no rows."),
    ],
)
def test_unusable_files_are_refused_on_the_form_and_nothing_is_kept(world, client_for, name, content, message):
    client = client_for("acme_manager", host="acme")
    with tenant_context(world.lenders["acme"]):
        before = ImportBatch.objects.count()
    response = upload(client, content, name=name)
    assert response.status_code == 200 and message in response.content.decode()
    with tenant_context(world.lenders["acme"]):
        assert ImportBatch.objects.count() == before


def test_a_problem_found_only_while_reading_the_whole_file_fails_the_import_with_the_reason(
    world, client_for, django_capture_on_commit_callbacks
):
    client = client_for("acme_manager", host="acme")
    content = to_csv([row(1)]) + b'HT2,"unfinished\n' + b"x," * 70000
    with django_capture_on_commit_callbacks(execute=False):
        batch_id = batch_id_of(upload(client, content))
    assert run_job_of(world, batch_id).status == BatchStatus.FAILED
    page = client.get(f"/intake/{batch_id}/").content.decode()
    assert "The CSV file cannot be read from row 3 on; look for a stray quote mark." in page and "Nothing was imported" in page


def test_the_templates_open_in_excel_with_the_canonical_columns(world, client_for):
    from openpyxl import load_workbook

    from portal.intake.columns import NAMES

    client = client_for("acme_manager", host="acme")
    csv_template = client.get("/intake/template.csv")
    assert csv_template["Content-Disposition"].startswith("attachment") and csv_template.content.startswith(b"\xef\xbb\xbf")
    assert csv_template.content.decode("utf-8-sig").strip() == ",".join(NAMES)
    workbook = load_workbook(io.BytesIO(client.get("/intake/template.xlsx").content))
    sheet = workbook.worksheets[0]
    assert [cell.value for cell in sheet[1]] == list(NAMES) and sheet["D2"].number_format == "@"
    notes = workbook.worksheets[1]
    assert [cell.value for cell in notes[1]][:2] == ["Column", "Meaning"]
    assert any("24 means 24%" in str(cell.value) for cell in notes["E"])


@pytest.mark.parametrize("persona", ["acme_finance", "acme_legal", "x_admin", "x_collector"])
def test_only_lender_staff_who_import_may_use_the_import_pages(world, client_for, persona):
    client = client_for(persona, host="acme")
    batch = world.intake["batch"]
    for path in ("/intake/", f"/intake/{batch.pk}/", f"/intake/{batch.pk}/errors.csv", "/intake/template.csv"):
        response = client.get(path)
        assert response.status_code in (403, 404), path
        assert "ACME-CANARY" not in response.content.decode("utf-8", "replace")


def test_a_lender_admin_issues_a_token_sees_the_key_once_and_can_revoke_it(world, client_for):
    admin = client_for("acme_admin", host="acme")
    response = admin.post("/intake/tokens/", {"name": "核心系统 nightly", "scopes": ["cases"]})
    page = response.content.decode()
    assert response.status_code == 200 and "cpk_" in page and "shown this once" in page
    key = page.split('<code class="secret">')[1].split("</code>")[0]
    again = admin.get("/intake/tokens/").content.decode()
    assert key not in again and key[:12] in again
    with tenant_context(world.lenders["acme"]):
        token = IntegrationToken.objects.get(name="核心系统 nightly")
        assert token.key_hash != key and key not in token.key_hash
        assert token.scopes == ["cases"]  # only what it was given
    assert admin.post(f"/intake/tokens/{token.pk}/revoke/").status_code == 302
    with tenant_context(world.lenders["acme"]):
        token.refresh_from_db()
        assert token.revoked_at is not None
    assert client_for("acme_manager", host="acme").get("/intake/tokens/").status_code == 403
