"""Journey 1 + 2 + 4 of PRODUCT.md in a real browser (Playwright + Debian chromium), end to end:
a collections manager imports a file → allocates the M2 cases 60/40 to two licensed agencies → the
agency admin assigns a case → the collector calls, verifies the debtor and logs a promise to pay →
the lender's finance records the payment → the promise shows as kept and the agency's monthly
statement shows the commission.

It runs in a lender, agencies and people of its own, created for this module and removed after it
(the lender's schema is dropped), so nothing it commits is seen by other tests. The contact window
is the legal default (08:00–21:00 debtor-local); so that the journey does not depend on the hour CI
runs, the lender's policy sets the debtors' time zone to one where it is early afternoon right now.
Screenshots: test-artifacts/browser/journey-*.png.
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone
from django_tenants.utils import tenant_context

from portal.jobs import tasks
from tests.browser_support import chromium, current_code, drop_journey_lender, in_lender, live_app, new_page, off_the_event_loop, shot  # noqa: F401
from tests.intake_support import id_number, row, to_csv
from tests.matrix_outsourcing import terms
from tests.world import PASSWORD

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect
SLUG = "journey"
CASES = 10


def midday_zone(now: datetime.datetime) -> str:
    """An Etc/GMT zone where it is about 14:00 now (Etc/GMT-3 is UTC+3: the sign is POSIX's)."""
    offset = 14 - now.astimezone(datetime.UTC).hour
    offset = (offset + 12) % 24 - 12  # -12 … +11
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    monkeypatch.setattr(tasks.run_job, "delay", lambda job_id: None)


@pytest.fixture(autouse=True)
def daytime(monkeypatch):
    """The journey must not depend on when it runs: the debtor's zone is one where it is about 14:00 (the fixture's
    contact policy), and so is "China time" here; the window in both zones is tested with explicit moments in
    tests/outsourcing/workbench/test_conduct_zones_and_visits.py."""
    from outsourcing.workbench import conduct

    monkeypatch.setattr(conduct, "CHINA_TIME_ZONE", midday_zone(timezone.now()))


@pytest.fixture(scope="module")
def journey(world, django_db_blocker):
    """A lender with a manager and finance, two engaged licensed agencies with agreements, an agency admin and a collector."""
    from outsourcing import agreements
    from outsourcing.workbench.services import set_contact_policy
    from tenants import services
    from tenants.models import EngagementStatus, LicenceKind, Role

    with django_db_blocker.unblock():
        today = timezone.localdate()
        lender = services.create_lender(slug=SLUG, name="旅程消费金融 Journey")
        people = {}
        for key, org, role in (("manager", lender.organisation, Role.COLLECTIONS_MANAGER), ("finance", lender.organisation, Role.FINANCE)):
            people[key] = services.add_member(
                organisation=org, email=f"journey-{key}@personas.test", full_name=key, role=role, password=PASSWORD
            ).user
        agencies = {}
        for key, name in (("ja", "甲程催收 JA"), ("jb", "乙程催收 JB")):
            org = services.create_organisation(slug=f"{SLUG}-{key}", name=name, kind="agency")
            licence = services.add_licence(
                organisation=org,
                kind=LicenceKind.COLLECTION,
                number=f"LIC-{key}",
                issuing_authority="上海市地方金融监督管理局",
                valid_from=today - datetime.timedelta(days=30),
                valid_to=today + datetime.timedelta(days=365),
            )
            services.verify_licence(licence=licence, by=world.people["platform"].user)
            engagement = services.engage_partner(lender=lender, partner=org)
            services.set_engagement_status(engagement=engagement, status=EngagementStatus.ACTIVE)
            agencies[key] = org
        people["ja_admin"] = services.add_member(
            organisation=agencies["ja"],
            email="journey-ja-admin@personas.test",
            full_name="甲程主管",
            role=Role.AGENCY_ADMIN,
            password=PASSWORD,
        ).user
        people["ja_collector"] = services.add_member(
            organisation=agencies["ja"],
            email="journey-ja-collector@personas.test",
            full_name="甲程催收员",
            role=Role.COLLECTOR,
            password=PASSWORD,
        ).user
        # Finance and agency admins must pass two-factor (tenants.models.ROLES_REQUIRING_2FA): their authenticator apps.
        from django_otp.plugins.otp_totp.models import TOTPDevice

        devices = {key: TOTPDevice.objects.create(user=people[key], name="journey", confirmed=True) for key in ("finance", "ja_admin")}
        with tenant_context(lender):
            for org in agencies.values():
                agreements.create_agreement(partner=org, created_by=people["manager"], terms=terms(capacity=100))
            set_contact_policy(
                window_start=datetime.time(8),
                window_end=datetime.time(21),
                daily_cap=3,
                time_zone=midday_zone(timezone.now()),
                updated_by=people["manager"],
                now=timezone.now(),
            )
        connections["default"].set_schema_to_public()
    yield {"lender": lender, "people": people, "agencies": agencies, "devices": devices}
    with django_db_blocker.unblock():
        drop_journey_lender(lender, org_ids=[lender.organisation_id] + [org.pk for org in agencies.values()], users=people.values())


def sign_in(page, app, email, device=None):
    page.goto(app.url("/accounts/login/", host=SLUG))
    page.locator('input[name="username"]').fill(email)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('main button[type="submit"]').click()
    if device is not None:  # the code from the authenticator app, as the role requires
        expect(page).to_have_url(re.compile(r"/accounts/2fa/"))
        page.locator('input[name="token"]').fill(current_code(device))
        page.locator('main button[type="submit"]').click()


def run_jobs(lender):
    from portal.jobs.models import Job, JobStatus
    from portal.jobs.services import execute

    def work():
        with tenant_context(lender):
            for job_id in Job.objects.filter(status=JobStatus.QUEUED).values_list("pk", flat=True):
                execute(job_id)
        connections["default"].set_schema_to_public()

    off_the_event_loop(work)


def test_import_allocate_assign_promise_pay_and_the_statement_shows_the_commission(journey, live_app, new_page, tmp_path):
    from outsourcing.models import Placement
    from outsourcing.workbench.models import PromiseToPay
    from portal.models import Case

    lender, people, agencies = journey["lender"], journey["people"], journey["agencies"]
    today = timezone.localdate()
    overdue = (today - datetime.timedelta(days=45)).isoformat()  # M2

    # 1. The collections manager imports a file of ten M2 cases.
    page = new_page()
    sign_in(page, live_app, people["manager"].email)
    page.goto(live_app.url("/intake/", host=SLUG))
    path = tmp_path / "逾期-M2.csv"
    rows = [
        row(
            seed,
            contract_no=f"JOURNEY-{seed:03d}",
            id_number=id_number(seed, region="310101"),
            overdue_since=overdue,
            principal_due="10000.00",
            interest_due="0",
            penalty_due="0",
            fees_due="0",
        )
        for seed in range(1, CASES + 1)
    ]
    path.write_bytes(to_csv(rows, encoding="utf-8-sig"))
    page.locator('input[type="file"]').set_input_files(str(path))
    page.get_by_role("button", name="Check the file", exact=True).click()
    run_jobs(lender)
    page.get_by_role("button", name=f"Import {CASES} valid rows").click()
    run_jobs(lender)
    expect(page.get_by_text("Cases created")).to_be_visible()
    shot(page, "journey-01-imported")

    # 2. … and allocates the M2 bucket 60/40 to the two agencies.
    page.goto(live_app.url("/outsourcing/allocation/", host=SLUG))
    page.get_by_label("M2", exact=True).check()
    ja, jb = agencies["ja"], agencies["jb"]
    page.locator(f'input[name="include_{ja.pk}"]').check()
    page.locator(f'input[name="share_{ja.pk}"]').fill("60")
    page.locator(f'input[name="include_{jb.pk}"]').check()
    page.locator(f'input[name="share_{jb.pk}"]').fill("40")
    page.get_by_role("button", name="Preview").click()
    shot(page, "journey-02-preview")
    page.get_by_role("button", name=f"Place these {CASES} cases").click()
    run_jobs(lender)
    counts = in_lender(lender, lambda: {org: Placement.objects.active().filter(partner=org).count() for org in (ja, jb)})
    assert counts == {ja: 6, jb: 4}
    shot(page, "journey-03-placed")

    # 3. The agency admin assigns one of its cases to the collector.
    agency_page = new_page()
    sign_in(agency_page, live_app, people["ja_admin"].email, journey["devices"]["ja_admin"])
    agency_page.goto(live_app.url("/workbench/assign/", host=SLUG))
    expect(agency_page.locator("#assign-rows tr")).to_have_count(6)
    contract = agency_page.locator("#assign-rows tr").first.locator("td").nth(1).inner_text().strip()
    agency_page.locator("#assign-rows tr").first.locator('input[type="checkbox"]').check()
    agency_page.locator('select[name="collector"]').select_option(label="甲程催收员")
    agency_page.get_by_role("button", name="Assign selected").click()
    shot(agency_page, "journey-04-assigned")

    # 4. The collector calls, verifies the debtor's identity and logs a promise of 3,000.
    collector = new_page()
    sign_in(collector, live_app, people["ja_collector"].email)
    collector.goto(live_app.url("/workbench/", host=SLUG))
    collector.get_by_role("link", name=contract).first.click()
    collector.get_by_role("button", name="Call").first.click()
    case = in_lender(lender, lambda: Case.objects.select_related("debtor").get(contract_no=contract))
    id_last4 = in_lender(lender, lambda: Case.objects.get(pk=case.pk).debtor.id_number[-4:])
    collector.locator('select[name="method"]').select_option("id_last4")
    collector.locator('input[name="name"]').fill(case.debtor.name)
    collector.locator('input[name="answer"]').fill(id_last4)
    collector.get_by_role("button", name="I verified the debtor's identity").click()
    collector.locator('select[name="outcome"]').select_option("promise_to_pay")
    collector.locator('input[name="promise_amount"]').fill("3000")
    collector.locator('input[name="promise_due_on"]').fill((today + datetime.timedelta(days=5)).isoformat())
    collector.get_by_role("button", name="Log attempt").click()
    expect(collector.locator("#promises")).to_contain_text("Pending")
    shot(collector, "journey-05-promise")

    # 5. Finance records the payment the debtor made to the lender.
    finance = new_page()
    sign_in(finance, live_app, people["finance"].email, journey["devices"]["finance"])
    finance.goto(live_app.url("/payments/new/", host=SLUG))
    finance.locator('input[name="contract_no"]').fill(contract)
    finance.locator('input[name="amount"]').fill("3000.00")
    finance.locator('input[name="paid_on"]').fill(today.isoformat())
    finance.locator('input[name="reference"]').fill("JOURNEY-BANK-0001")
    finance.get_by_role("button", name="Record").click()
    expect(finance.locator("main")).to_contain_text("¥480.00")  # M2, round 1: 16% in this schedule
    shot(finance, "journey-06-payment")
    promise = in_lender(lender, lambda: PromiseToPay.objects.get(case__contract_no=contract))
    assert promise.status == "kept" and promise.paid_amount == Decimal("3000.00")

    # 6. The agency's statement for the month shows the commission.
    finance.goto(live_app.url("/fees/", host=SLUG))
    finance.locator("#id_partner").select_option(str(ja.pk))
    finance.locator("#id_month").fill(f"{today:%Y-%m}")
    finance.get_by_role("button", name="Draft statement").click()
    expect(finance.locator("main")).to_contain_text(contract)
    expect(finance.locator("main")).to_contain_text("¥480.00")
    shot(finance, "journey-07-statement")

    # The agency admin does not see the draft: it is the lender's working paper until sent for review.
    agency_page.goto(live_app.url("/fees/", host=SLUG))
    expect(agency_page.locator("main")).not_to_contain_text("¥480.00")
    shot(agency_page, "journey-08-agency-statement")

    # 7. The agency (reading Chinese) disputes the line; the lender's finance answers and decides.
    agency_zh = new_page(locale="zh-CN")
    sign_in(agency_zh, live_app, people["ja_admin"].email, journey["devices"]["ja_admin"])
    agency_zh.goto(live_app.url("/payments/", host=SLUG))
    expect(agency_zh.locator("main")).to_contain_text("JOURNEY-BANK-0001")
    expect(agency_zh.locator("main")).not_to_contain_text(case.debtor.name)  # money lines, not debtor data
    agency_zh.locator("main table").get_by_role("link").first.click()
    agency_zh.locator('select[name="reason"]').select_option("commission")
    agency_zh.locator('textarea[name="text"]').fill("还款时案件已转入M3，应按M3费率计佣。")
    agency_zh.locator('main form button[type="submit"]').last.click()
    expect(agency_zh.locator("main")).to_contain_text("还款时案件已转入M3")
    shot(agency_zh, "journey-09-agency-dispute-zh")

    finance.goto(live_app.url("/payments/disputes/", host=SLUG))
    finance.locator("main table").get_by_role("link").first.click()
    finance.locator('textarea[name="text"]').first.fill("Placed in M2; the agreement's M2 rate applies for the whole term.")
    finance.get_by_role("button", name="Comment").click()
    finance.locator('select[name="outcome"]').select_option("dismissed")
    finance.locator("#decision-text").fill("Bucket at placement decides the rate (agreement §3).")
    finance.get_by_role("button", name="Close", exact=True).click()
    expect(finance.locator("main")).to_contain_text("Dismissed")
    shot(finance, "journey-10-dispute-decided")
    agency_zh.reload()
    expect(agency_zh.locator("main")).to_contain_text("Bucket at placement decides the rate")

    # 8. Finance checks a payment file with a bad row: the problem is named by row, column and reason.
    pay_file = tmp_path / "还款流水.csv"
    pay_file.write_text(
        "合同编号,还款日期,还款金额,流水号\r\n"
        f"{contract},{today.isoformat()},200.00,JOURNEY-BANK-0002\r\n"
        f"NO-SUCH-CONTRACT,{today.isoformat()},50.00,JOURNEY-BANK-0003\r\n",
        encoding="utf-8-sig",
    )
    finance.goto(live_app.url("/payments/import/", host=SLUG))
    finance.locator('input[type="file"]').set_input_files(str(pay_file))
    finance.get_by_role("button", name="Check the file").click()
    expect(finance.locator("main table")).to_contain_text("No case has contract no. NO-SUCH-CONTRACT.")
    expect(finance.get_by_role("button", name="Record 1 valid payment")).to_be_visible()
    shot(finance, "journey-11-payment-file-checked")
    finance.goto(live_app.url("/payments/reports/?status=all", host=SLUG))
    shot(finance, "journey-12-reports")

    # 9. The bank returns the 3,000: finance reverses the payment. The case's balances come back, the payment
    #    no longer restarts the limitation period, and the agency's statement gives the ¥480.00 back.
    finance.goto(live_app.url("/payments/?q=JOURNEY-BANK-0001", host=SLUG))
    finance.locator("main table").get_by_role("link").first.click()
    finance.locator("#reverse summary").click()
    finance.locator('#reverse select[name="reason"]').select_option("returned")
    finance.locator('#reverse input[name="note"]').fill("Bank returned the transfer: account closed.")
    finance.get_by_role("button", name="Reverse the payment").click()
    expect(finance.locator("[data-reversal]")).to_contain_text("-¥480.00")
    shot(finance, "journey-13-payment-reversed")
    finance.goto(live_app.url(f"/cases/{case.pk}/", host=SLUG))
    expect(finance.locator("#limitation")).to_contain_text("Withdrawn")
    expect(finance.locator("#balances")).to_contain_text("Payment reversed")
    shot(finance, "journey-14-case-limitation")
    finance.goto(live_app.url("/fees/", host=SLUG))
    finance.locator("#id_partner").select_option(str(ja.pk))
    finance.locator("#id_month").fill(f"{today:%Y-%m}")
    finance.get_by_role("button", name="Draft statement").click()
    expect(finance.locator("main")).to_contain_text("-¥480.00")
    shot(finance, "journey-15-statement-clawback")
    promise = in_lender(lender, lambda: PromiseToPay.objects.get(case__contract_no=contract))
    assert promise.status == "pending" and promise.paid_amount == Decimal("0.00")
