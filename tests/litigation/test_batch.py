"""Batch generation of filing packets (批量立案): one job, a ZIP of one PDF per matter plus the summary sheet, no
duplicate when the job runs again, and the page that starts it only for who may build packets.

The amounts of the summary are worked by hand for tests.litigation.support.complete_matter: principal 15,000.00 at
18% a year, 360-day basis, interest paid up to today − 150 days, due (accelerated) today − 90, cut-off today − 1:

* contractual interest 15,000 × 18% ÷ 360 × 60 days = 450.00;
* penalty interest (罚息) 15,000 × 27% ÷ 360 × 89 days = 1,001.25;
  together 1,451.25, under the 24% ceiling (15,000 × 24% ÷ 360 × 149 days = 1,490.00; 法发〔2017〕22号 item 2);
* claim total 15,000.00 + 450.00 + 1,001.25 = 16,451.25;
* acceptance fee (诉讼费用交纳办法 art. 13(一)): 50 + (16,451.25 − 10,000) × 2.5% = 211.28125; halved for the
  summary procedure (art. 16): 105.640625 → 105.64 payable.
"""

import csv
import datetime
import hashlib
import io
import zipfile
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse
from django_tenants.utils import tenant_context

from litigation import batch
from litigation.models import DocumentKind, Packet
from portal.jobs.models import Job, JobStatus
from portal.jobs.services import execute
from tests.litigation.support import STANDARD_EXHIBITS, complete_matter, escalated_matter

CLAIM_TOTAL = Decimal("16451.25")
PAYABLE_FEE = Decimal("105.64")


# ----------------------------------------------------------------- pure helpers (no database)


def test_the_job_key_is_the_same_for_the_same_matters_person_and_day_whatever_the_order():
    day = datetime.date(2026, 12, 4)
    key = batch.batch_key(["b", "a", "a"], 7, day)
    assert key == batch.batch_key(["a", "b"], 7, day)
    assert key != batch.batch_key(["a", "b"], 8, day)
    assert key != batch.batch_key(["a", "b"], 7, day + datetime.timedelta(days=1))
    assert key != batch.batch_key(["a"], 7, day)
    assert len(key) <= 200  # Job.key


def test_packet_names_are_matter_number_and_debtor_and_unpack_safely():
    assert batch.packet_filename("LIT-2026-00012", "赵六") == "LIT-2026-00012-赵六.pdf"
    # Separators and reserved characters become "_", and a name never starts or ends with a dot or "_".
    assert batch.packet_filename("LIT-2026-00013", "../王/五:*") == "LIT-2026-00013-王_五.pdf"
    assert batch.packet_filename("LIT-2026-00014", "") == "LIT-2026-00014.pdf"


def rows():
    return [
        batch.SummaryRow("1", "LIT-2026-00001", "赵一", "浦东法院", True, Decimal("16451.25"), Decimal("105.64"), 12, "a" * 64, "p1"),
        batch.SummaryRow("2", "LIT-2026-00002", "=钱二", "浦东法院", False, None, None, problems=["No disbursement proof"]),
        batch.SummaryRow("3", "LIT-2026-00003", "孙三", "黄浦法院", True, Decimal("2000"), Decimal("25"), 9, "b" * 64, "p3"),
    ]


def test_the_summary_has_a_line_per_matter_and_totals_of_the_packets_built():
    table = batch.summary_rows(rows())
    assert len(table) == 1 + 3 + 1
    assert table[2][3] == "Blocked" and table[2][8] == "No disbursement proof" and table[2][4] == ""
    # Totals by hand: 16,451.25 + 2,000.00; 105.64 + 25.00; 12 + 9 pages. The blocked matter adds nothing.
    assert table[-1][4:7] == [Decimal("18451.25"), Decimal("130.64"), 21]


def test_the_summary_csv_neutralises_formulas_and_the_xlsx_is_reproducible():
    text = batch.summary_csv(rows()).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[2][1] == "'=钱二"  # a debtor "name" a spreadsheet would run as a formula (CWE-1236)
    first = batch.summary_xlsx(rows(), date_time=(2026, 12, 4, 0, 0, 0))
    assert first == batch.summary_xlsx(rows(), date_time=(2026, 12, 4, 0, 0, 0))
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(first)).active
    assert sheet["A2"].value == "LIT-2026-00001" and sheet["E2"].value == 16451.25 and sheet["B3"].value == "'=钱二"


def test_the_zip_is_written_in_name_order_with_fixed_times_and_the_same_bytes_each_time():
    fetched = []

    def entry(name, data):
        def content():
            fetched.append(name)
            return data

        return name, content

    def build():
        buffer = io.BytesIO()
        batch.write_zip(
            buffer,
            [entry("summary.csv", b"s"), entry("LIT-2-b.pdf", b"%PDF-2"), entry("LIT-1-a.pdf", b"%PDF-1")],
            date_time=(2026, 12, 4, 0, 0, 0),
        )
        return buffer.getvalue()

    first = build()
    assert first == build()
    assert fetched[:3] == ["LIT-1-a.pdf", "LIT-2-b.pdf", "summary.csv"]  # each fetched when written, in name order
    archive = zipfile.ZipFile(io.BytesIO(first))
    assert archive.namelist() == ["LIT-1-a.pdf", "LIT-2-b.pdf", "summary.csv"]
    assert {info.date_time for info in archive.infolist()} == {(2026, 12, 4, 0, 0, 0)}
    assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_DEFLATED}


# ----------------------------------------------------------------- the job, in process


@pytest.fixture(autouse=True)
def media(tmp_path):
    """This module's own storage folder (django-tenants' storage re-reads its root when this setting changes)."""
    folder = tmp_path / "media"
    folder.mkdir()
    with override_settings(MEDIA_ROOT=folder, MULTITENANT_RELATIVE_MEDIA_ROOT="%s"):
        yield folder


def three_matters(world):
    """Two packet-ready matters and one without its disbursement record (pre-flight blocks it)."""
    ready = [
        complete_matter(world, debtor_name="赵一", contract_no="BATCH-0001"),
        complete_matter(world, debtor_name="钱二", contract_no="BATCH-0002"),
    ]
    no_disbursement = [exhibit for exhibit in STANDARD_EXHIBITS if exhibit[0] != DocumentKind.DISBURSEMENT]
    blocked = complete_matter(world, debtor_name="孙三", contract_no="BATCH-0003", exhibits=no_disbursement)
    return ready, blocked


def start(world, matters, persona="acme_legal"):
    person = world.people[persona]
    return batch.start_batch(matter_ids=[m.pk for m in matters], user=person.user, organisation=world.orgs[person.org], language="en")


def zip_of(job):
    job.refresh_from_db()
    with job.result.open("rb") as handle:
        return handle.read()


def summary_of(archive):
    return list(csv.reader(io.StringIO(archive.read("summary.csv").decode("utf-8-sig"))))


def test_a_batch_builds_each_ready_matter_and_lists_the_blocked_one_with_its_problem(acme):
    ready, blocked = three_matters(acme)
    job = start(acme, [*ready, blocked])
    done = execute(job.pk)
    assert done.status == JobStatus.DONE and done.progress == 100, done.error
    assert done.result_data | {} == {
        "matters": 3,
        "built": 2,
        "blocked": 1,
        "not_found": 0,
        "claim_total": str(CLAIM_TOTAL * 2),
        "court_fee": str(PAYABLE_FEE * 2),
    }
    assert done.result_name.endswith(".zip")

    content = zip_of(done)
    archive = zipfile.ZipFile(io.BytesIO(content))
    pdfs = sorted(f"{m.number}-{m.debtor.name}.pdf" for m in ready)
    assert archive.namelist() == [*pdfs, "summary.csv", "summary.xlsx"]
    from litigation.packets import packet_bytes

    for matter in ready:
        packet = Packet.objects.get(matter=matter)
        assert packet.job_id == job.pk
        assert archive.read(f"{matter.number}-{matter.debtor.name}.pdf") == packet_bytes(packet)
    assert not Packet.objects.filter(matter=blocked).exists()

    lines = summary_of(archive)
    assert lines[0][:4] == ["Matter no.", "Debtor", "Court", "Status"]
    by_number = {line[0]: line for line in lines[1:-1]}
    assert set(by_number) == {m.number for m in [*ready, blocked]}
    for matter in ready:
        line = by_number[matter.number]
        packet = Packet.objects.get(matter=matter)
        assert line[1:5] == [matter.debtor.name, "上海市浦东新区人民法院", "Built", str(CLAIM_TOTAL)]
        assert line[5] == str(PAYABLE_FEE) and line[6] == str(packet.pages) and line[7] == packet.sha256
    refused = by_number[blocked.number]
    assert refused[3] == "Blocked" and refused[6] == "" and refused[7] == ""
    assert "disbursement" in refused[8]
    # The blocked matter's claim is still shown (the problem is evidence, not the amount).
    assert refused[4] == str(CLAIM_TOTAL) and refused[5] == str(PAYABLE_FEE)
    assert lines[-1][4:6] == [str(CLAIM_TOTAL * 2), str(PAYABLE_FEE * 2)]

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(archive.read("summary.xlsx"))).active
    assert sheet.max_row == 5 and {sheet.cell(row=r, column=1).value for r in range(2, 5)} == set(by_number)


def test_running_the_batch_again_builds_no_second_packet_and_packs_the_same_zip(acme):
    """A redelivered message (the worker died after some packets) runs the handler again: nothing is duplicated."""
    ready, blocked = three_matters(acme)
    job = start(acme, [*ready, blocked])
    execute(job.pk)
    first = zip_of(job)
    packets = set(Packet.objects.filter(matter__in=[*ready, blocked]).values_list("pk", flat=True))
    assert len(packets) == 2

    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, progress=40)
    again = execute(job.pk)
    assert again.status == JobStatus.DONE and again.attempts == 2
    assert set(Packet.objects.filter(matter__in=[*ready, blocked]).values_list("pk", flat=True)) == packets
    assert hashlib.sha256(zip_of(job)).hexdigest() == hashlib.sha256(first).hexdigest()


def test_a_matter_of_another_schema_or_deleted_is_left_out_by_the_job(acme):
    [matter] = [complete_matter(acme, debtor_name="周七", contract_no="BATCH-0007")]
    job = start(acme, [matter])
    Job.objects.filter(pk=job.pk).update(
        params=job.params | {"matter_ids": [str(matter.pk), "2f1b5a52-0000-4000-8000-000000000000", "junk"]}
    )
    done = execute(job.pk)
    assert done.result_data["matters"] == 1 and done.result_data["built"] == 1 and done.result_data["not_found"] == 2


# ----------------------------------------------------------------- the page


def new_url():
    return reverse("litigation-batch:packet-batch-new")


def batch_jobs(world):
    """The batch jobs in acme's schema (a request leaves the connection on the public schema)."""
    with tenant_context(world.lenders["acme"]):
        return list(Job.objects.filter(kind=batch.KIND))


def test_the_page_lists_the_open_matters_the_person_sees(acme, client_for):
    mine = complete_matter(acme, debtor_name="吴八", contract_no="BATCH-0008")  # assigned to law firm L
    inhouse = escalated_matter(acme)
    page = client_for("acme_legal", host="acme").get(new_url())
    assert page.status_code == 200
    text = page.content.decode()
    assert mine.number in text and inhouse.number in text and "Not checked" in text
    firm = client_for("l_paralegal", host="acme").get(new_url())
    assert firm.status_code == 200
    assert mine.number in firm.content.decode() and inhouse.number not in firm.content.decode()


def test_the_pre_flight_of_a_page_is_checked_on_request(acme, client_for):
    no_contract = [exhibit for exhibit in STANDARD_EXHIBITS if exhibit[0] != DocumentKind.LOAN_CONTRACT]
    complete_matter(acme, debtor_name="郑九", contract_no="BATCH-0009", exhibits=no_contract)
    page = client_for("acme_legal", host="acme").get(new_url(), {"check": "1"})
    assert "1 blocking problem" in page.content.decode()


def test_no_matching_matter_says_what_to_do(acme, client_for):
    page = client_for("acme_legal", host="acme").get(new_url(), {"court": "无此法院"})
    assert page.status_code == 200 and "No open matter matches these filters." in page.content.decode()


def test_posting_twice_starts_one_job_and_opens_its_page(acme, client_for):
    ready = [complete_matter(acme, debtor_name="冯十", contract_no="BATCH-0010")]
    client = client_for("acme_legal", host="acme")
    first = client.post(new_url(), {"matter": [str(m.pk) for m in ready]})
    second = client.post(new_url(), {"matter": [str(m.pk) for m in ready]})
    assert first.status_code == 302, first.content.decode()[-3000:]
    [job] = batch_jobs(acme)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == reverse("job-detail", kwargs={"job_id": job.pk})
    assert job.params["matter_ids"] == [str(ready[0].pk)] and job.params["requested_by"] == acme.people["acme_legal"].user.pk
    assert client.get(first["Location"]).status_code == 200  # the person who started it follows its progress


def test_all_matching_takes_every_matter_of_the_filters(acme, client_for):
    court = "上海金融法院"  # a court no other matter of the world is filed with
    firm_matter = complete_matter(acme, debtor_name="陈一", contract_no="BATCH-0011")
    other_court = complete_matter(acme, debtor_name="陈二", contract_no="BATCH-0014")
    inhouse = escalated_matter(acme)  # in-house: not in the firm filter
    for matter in (firm_matter, inhouse):
        matter.court = court
        matter.save()
    filters = {"firm": str(acme.orgs["lfirm"].pk), "court": court}
    response = client_for("acme_legal", host="acme").post(new_url(), {"all_matching": "1", **filters})
    assert response.status_code == 302
    [job] = batch_jobs(acme)
    assert job.params["matter_ids"] == [str(firm_matter.pk)] and str(other_court.pk) not in job.params["matter_ids"]


def test_a_matter_the_person_does_not_see_is_dropped_and_said_so(acme, client_for):
    inhouse = escalated_matter(acme)
    response = client_for("l_paralegal", host="acme").post(new_url(), {"matter": [str(inhouse.pk)]})
    assert response.status_code == 400 and "Choose at least one matter" in response.content.decode()
    assert batch_jobs(acme) == []


def test_a_failed_batch_started_again_is_resumed_not_duplicated(acme, client_for):
    ready = [complete_matter(acme, debtor_name="褚二", contract_no="BATCH-0012")]
    client = client_for("acme_legal", host="acme")
    client.post(new_url(), {"matter": [str(ready[0].pk)]})
    [job] = batch_jobs(acme)
    with tenant_context(acme.lenders["acme"]):
        Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error="worker lost")
    client.post(new_url(), {"matter": [str(ready[0].pk)]})
    [again] = batch_jobs(acme)
    assert again.pk == job.pk and again.status == JobStatus.QUEUED and again.error == ""


@pytest.mark.parametrize("persona", ["x_collector", "acme_manager", "acme_finance"])
def test_who_may_not_build_packets_is_refused(acme, client_for, persona):
    matter = complete_matter(acme, debtor_name="卫三", contract_no="BATCH-0013")
    client = client_for(persona, host="acme")
    assert client.get(new_url()).status_code == 403
    assert client.post(new_url(), {"matter": [str(matter.pk)]}).status_code == 403
    assert batch_jobs(acme) == []


def test_the_summary_sheet_carries_no_clock_time_so_the_same_rows_give_the_same_bytes():
    """openpyxl stamps its parts with the clock (writestr) and the worksheet with its temporary file's mtime (write);
    every part of the summary must carry the batch's fixed date instead."""
    from litigation.batch import summary_xlsx

    content = summary_xlsx([], date_time=(2026, 12, 4, 0, 0, 0))
    stamps = {info.filename: info.date_time for info in zipfile.ZipFile(io.BytesIO(content)).infolist()}
    assert "xl/worksheets/sheet1.xml" in stamps
    assert set(stamps.values()) == {(2026, 12, 4, 0, 0, 0)}
