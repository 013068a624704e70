"""`manage.py import_cases --tenant SLUG FILE [--commit] [--json]`: the same check and commit, for the command line."""

import io
import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django_tenants.utils import tenant_context

from portal.intake.models import BatchSource, ColumnMapping, ImportBatch
from portal.models import Case
from tests.intake_support import row, to_csv, to_xlsx
from tests.portal.test_jobs_worker import database_url

pytestmark = pytest.mark.django_db


def import_cases(path, *options):
    out = io.StringIO()
    call_command("import_cases", str(path), "--tenant", "acme", *options, stdout=out)
    return out.getvalue()


def test_json_verdict_has_exactly_the_promised_shape_with_sheet_row_numbers(world, tmp_path):
    path = tmp_path / "cases.csv"
    path.write_bytes(to_csv([row(1), row(2, id_number="110105194912310021", loan_amount="abc"), row(3)]))
    printed = import_cases(path, "--json")
    assert json.loads(printed) == {
        "rows": 3,
        "valid": 2,
        "created": 0,
        "updated": 0,
        "rejected": [
            {
                "row": 3,
                "column": "id_number",
                "message": "The ID number's check character does not match (GB 11643); look for a typing error.",
            },
            {"row": 3, "column": "loan_amount", "message": "Not an amount: use digits and a decimal point, e.g. 12500.00."},
        ],
    }
    assert list(json.loads(printed)) == ["rows", "valid", "created", "updated", "rejected"]
    with tenant_context(world.lenders["acme"]):
        assert not Case.objects.filter(contract_no="HT00000001").exists()
        assert ImportBatch.objects.filter(source=BatchSource.COMMAND, original_name="cases.csv").exists()


def test_commit_imports_and_a_second_run_changes_nothing(world, tmp_path):
    path = tmp_path / "cases.xlsx"
    path.write_bytes(to_xlsx([row(1), row(2)]))
    assert json.loads(import_cases(path, "--commit", "--json"))["created"] == 2
    assert json.loads(import_cases(path, "--commit", "--json")) == {"rows": 2, "valid": 2, "created": 0, "updated": 0, "rejected": []}
    with tenant_context(world.lenders["acme"]):
        assert Case.objects.filter(contract_no__in=["HT00000001", "HT00000002"]).count() == 2
    text = import_cases(path, "--commit")
    assert "2 rows, 2 valid" in text and "0 created, 0 updated, 2 unchanged" in text


def test_a_saved_mapping_can_be_named(world, tmp_path):
    own = {"contract_no": "Loan ref", "borrower_name": "Customer"}
    with tenant_context(world.lenders["acme"]):
        ColumnMapping.objects.create(name="core", mapping=own)
    path = tmp_path / "export.csv"
    path.write_bytes(to_csv([row(1)], rename=own))
    assert json.loads(import_cases(path, "--json", "--mapping", "core"))["valid"] == 1
    with pytest.raises(CommandError, match="There is no saved column mapping called “other”."):
        import_cases(path, "--mapping", "other")


def test_file_level_problems_are_errors(world, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(CommandError, match="The file is empty."):
        import_cases(empty, "--json")
    with pytest.raises(CommandError, match="no lender with the short name 'nobody'"):
        call_command("import_cases", str(empty), "--tenant", "nobody")
    with pytest.raises(CommandError, match="no such file"):
        import_cases(tmp_path / "missing.csv")


def test_the_command_exits_non_zero_with_the_reason_on_a_file_it_cannot_read(world, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("contract_no,borrower_name\nHT1,café\n".encode("latin-1"))
    env = dict(os.environ, DATABASE_URL=database_url(), DJANGO_SETTINGS_MODULE="config.settings.test", LANGUAGE_CODE="en")
    done = subprocess.run(
        [sys.executable, "manage.py", "import_cases", "--tenant", "acme", str(path), "--json"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert "UTF-8" in done.stderr and "GB18030" in done.stderr
