"""Rows and files for the intake tests: valid by default, so each test breaks exactly one thing."""

import csv
import datetime
import io

from portal.intake.columns import NAMES
from portal.lib import idnumber


def id_number(seed: int, region: str = "110105") -> str:
    """A valid GB 11643 number, different for every seed."""
    born = datetime.date(1960, 1, 1) + datetime.timedelta(days=(seed // 1000) % 15000)
    first17 = f"{region}{born:%Y%m%d}{seed % 1000:03d}"
    return first17 + idnumber.check_char(first17)


def row(seed: int = 1, **changes) -> dict:
    values = {
        "contract_no": f"HT{seed:08d}",
        "product": "随心贷",
        "borrower_name": f"张三{seed % 97}",
        "id_number": id_number(seed),
        "mobile": f"138{seed % 10**8:08d}",
        "home_phone": "021-55501234",
        "work_phone": "",
        "employer": "上海某科技有限公司",
        "address": "上海市浦东新区世纪大道100号",
        "contact1_name": "李四",
        "contact1_relation": "配偶",
        "contact1_phone": f"139{seed % 10**8:08d}",
        "loan_amount": "20000.00",
        "disbursed_on": "2023-01-15",
        "annual_rate": "18.25",
        "term_months": "12",
        "principal_due": "15000.00",
        "interest_due": "812.35",
        "penalty_due": "100.00",
        "fees_due": "0.00",
        "overdue_since": "2024-03-15",
        "last_payment_on": "2024-02-15",
        "region": "上海",
    }
    values.update(changes)
    return values


def to_csv(rows, *, headers=NAMES, encoding="utf-8", rename=None) -> bytes:
    """CSV bytes with the given header order; ``rename`` maps canonical names to the file's own headers."""
    rename = rename or {}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([rename.get(name, name) for name in headers])
    for values in rows:
        writer.writerow([values.get(name, "") for name in headers])
    return buffer.getvalue().encode(encoding)


def to_xlsx(rows, *, headers=NAMES, rename=None, cell=None) -> bytes:
    """XLSX bytes; ``cell(name, text) -> value`` may turn text into numbers or dates as Excel would store them."""
    from openpyxl import Workbook

    rename = rename or {}
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([rename.get(name, name) for name in headers])
    for values in rows:
        sheet.append([cell(name, values.get(name, "")) if cell else values.get(name, "") for name in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def remove_imported(*, contract_prefix: str, batch_names=()):
    """Delete what a committed (not rolled back) import made: cases, their borrowers, history, batches and jobs.

    For tests that import through a live server or a real worker, whose writes outlive the test.
    """
    from django.apps import apps

    from portal.intake.models import ImportBatch
    from portal.jobs.models import Job
    from portal.models import BalanceSnapshot, Case, Contact, Debtor, LimitationEvent

    cases = Case.objects.filter(contract_no__startswith=contract_prefix)
    case_ids = list(cases.values_list("id", flat=True))
    debtor_ids = list(cases.values_list("debtor_id", flat=True).distinct())
    contact_ids = list(Contact.objects.filter(debtor_id__in=debtor_ids).values_list("id", flat=True))
    for event_model, ids in (("CaseEvent", case_ids), ("DebtorEvent", debtor_ids), ("ContactEvent", contact_ids)):
        apps.get_model("portal", event_model).objects.filter(pgh_obj_id__in=ids).delete()
    LimitationEvent.objects.filter(case_id__in=case_ids).delete()
    BalanceSnapshot.objects.filter(case_id__in=case_ids).delete()
    cases.delete()
    orphans = Debtor.objects.filter(pk__in=debtor_ids, cases__isnull=True)
    Contact.objects.filter(debtor__in=orphans).delete()
    orphans.delete()
    batches = ImportBatch.objects.filter(original_name__in=batch_names)
    Job.objects.filter(params__batch__in=[str(pk) for pk in batches.values_list("pk", flat=True)]).delete()
    batches.delete()
