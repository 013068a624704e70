"""Issue 10's journey in a real browser (Playwright + Debian chromium), against a real localstripe and a real Celery
worker: the agency accepts last month's commission statement → the lender's finance approves it, issues it and pays
it with the card on file → Stripe (localstripe) confirms the PaymentIntent and delivers its signed event to the
public host's webhook → the worker records it once and marks the statement paid → the settlement is on the fee
ledger once, and the net-recovery dashboard shows nothing more owed to the agency.

It runs in a lender, an agency and people of its own, created for this module and removed after it (the lender's
schema is dropped), so nothing it commits — ledger entries are never deleted — is seen by other tests.
Screenshots: test-artifacts/browser/fees-journey-*.png.
"""

import datetime
import os
import re
import subprocess
import sys
import time
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connections
from django.test.utils import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from config import celery_app
from tests.browser_support import chromium, current_code, drop_journey_lender, in_lender, live_app, new_page, shot  # noqa: F401
from tests.matrix_outsourcing import terms
from tests.portal.test_jobs_worker import database_url
from tests.world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.worker]

expect = pytest.importorskip("playwright.sync_api").expect
SLUG = "feejourney"
LOCALSTRIPE_PORT = int(os.environ.get("FEES_JOURNEY_LOCALSTRIPE_PORT", "8541"))
WEBHOOK_SECRET = "whsec_fees_journey"
GOOD_CARD = "4242424242424242"
RATE = Decimal("0.10")  # the agreement's commission rate in every bucket and round
PAID = Decimal("4000.00")  # the debtor's payment last month → a commission of 400.00
WAIT = 90  # seconds: only guards against a hung worker or a lost webhook


def last_month(today: datetime.date) -> datetime.date:
    return (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


@pytest.fixture(scope="module")
def stripe_and_worker(live_app, django_db_blocker):
    """localstripe on 127.0.0.1 delivering its signed events to this live server's public host, and a real Celery
    worker (its own queue, this test database, the same localstripe) processing them."""
    from billing.testing import register_webhook, start_localstripe, stop_localstripe

    process, base_url = start_localstripe(LOCALSTRIPE_PORT)
    register_webhook(base_url, live_app.url("/stripe/webhook/"), WEBHOOK_SECRET)
    queue = f"test-fees-journey-{uuid.uuid4().hex[:8]}"
    default_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    with django_db_blocker.unblock():
        url = database_url()
    stripe_env = {"STRIPE_API_BASE": base_url, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_SECRET_KEY": "sk_test_caseport"}
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="config.settings.test", CELERY_QUEUE=queue, **stripe_env)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-Q", queue, "-l", "WARNING"]
        + ["--without-heartbeat", "--without-mingle", "--without-gossip"],
        env=env,
        cwd=settings.BASE_DIR,
    )
    try:
        with override_settings(**stripe_env):
            yield base_url
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        celery_app.conf.task_default_queue = default_queue
        stop_localstripe(process)


@pytest.fixture(scope="module")
def feejourney(world, stripe_and_worker, django_db_blocker):
    """A lender with a collections manager and finance (a card on file with Stripe); an engaged, licensed agency with
    a 10% agreement and its admin; one case placed with the agency last month and paid 4,000.00 inside the placement;
    last month's commission statement drafted and sent to the agency for review."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from billing import accounts
    from outsourcing import agreements, placement as placement_service
    from outsourcing.models import BUCKETS, ROUNDS
    from portal.fees import services as statements
    from tenants import services
    from tenants.models import EngagementStatus, LicenceKind, Role
    from tests.factories import CaseFactory, PaymentFactory

    with django_db_blocker.unblock():
        today = timezone.localdate()
        month = last_month(today)
        lender = services.create_lender(slug=SLUG, name="结算消费金融 FeeJourney")
        people = {}
        for key, role in (("manager", Role.COLLECTIONS_MANAGER), ("finance", Role.FINANCE)):
            people[key] = services.add_member(
                organisation=lender.organisation, email=f"feejourney-{key}@personas.test", full_name=key, role=role, password=PASSWORD
            ).user
        agency = services.create_organisation(slug=f"{SLUG}-agency", name="丙程催收 FJ", kind="agency")
        licence = services.add_licence(
            organisation=agency,
            kind=LicenceKind.COLLECTION,
            number="LIC-FJ",
            issuing_authority="上海市地方金融监督管理局",
            valid_from=today - datetime.timedelta(days=365),
            valid_to=today + datetime.timedelta(days=365),
        )
        services.verify_licence(licence=licence, by=world.people["platform"].user)
        engagement = services.engage_partner(lender=lender, partner=agency)
        services.set_engagement_status(engagement=engagement, status=EngagementStatus.ACTIVE)
        people["agency_admin"] = services.add_member(
            organisation=agency, email="feejourney-agency@personas.test", full_name="丙程主管", role=Role.AGENCY_ADMIN, password=PASSWORD
        ).user
        devices = {key: TOTPDevice.objects.create(user=people[key], name="journey", confirmed=True) for key in ("finance", "agency_admin")}
        accounts.attach_test_card(lender, GOOD_CARD)
        with tenant_context(lender):
            flat = {(bucket, r): RATE for bucket in BUCKETS for r in ROUNDS}
            agreements.create_agreement(partner=agency, created_by=people["manager"], terms=terms(rates=flat, capacity=100))
            case = CaseFactory(prefix="FJ", dpd=150, principal_due=Decimal("20000.00"))
            placed_at = datetime.datetime.combine(month.replace(day=2), datetime.time(9), tzinfo=timezone.get_current_timezone())
            placement_service.place_cases(cases=[case], partner=agency, placed_by=people["manager"], now=placed_at)
            PaymentFactory(case=case, amount=PAID, paid_on=month.replace(day=10), reference="FJ-BANK-0001", recorded_by=people["finance"])
            statement = statements.draft(kind="commission", partner=agency, period=month, created_by=people["finance"])
            statements.send_for_review(statement=statement, sent_by=people["finance"])
        connections["default"].set_schema_to_public()
    yield {"lender": lender, "people": people, "agency": agency, "devices": devices, "statement": statement, "case": case}
    with django_db_blocker.unblock():
        drop_journey_lender(lender, org_ids=[lender.organisation_id, agency.pk], users=people.values())


def sign_in(page, app, email, device):
    page.goto(app.url("/accounts/login/", host=SLUG))
    page.locator('input[name="username"]').fill(email)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('main button[type="submit"]').click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/"))
    page.locator('input[name="token"]').fill(current_code(device))
    page.locator('main button[type="submit"]').click()
    expect(page).not_to_have_url(re.compile(r"/accounts/"))


def test_the_agency_accepts_finance_approves_and_pays_and_the_webhook_marks_the_statement_paid(feejourney, live_app, new_page):
    from billing.models import Charge, ChargeStatus, StripeEvent
    from portal.fees.models import Statement
    from portal.ledger.models import EntryKind, LedgerTransaction

    people, devices, statement = feejourney["people"], feejourney["devices"], feejourney["statement"]
    lender = feejourney["lender"]
    detail = live_app.url(f"/fees/{statement.pk}/", host=SLUG)
    commission = (PAID * RATE).quantize(Decimal("0.01"))
    assert statement.amount_total == commission == Decimal("400.00")

    # 1. The agency reads the statement sent for review and accepts it.
    agency = new_page()
    sign_in(agency, live_app, people["agency_admin"].email, devices["agency_admin"])
    agency.goto(detail)
    expect(agency.locator("[data-amount-total]")).to_have_text("¥400.00")
    agency.get_by_role("button", name="Accept the statement").click()
    expect(agency.locator("main")).to_contain_text("You accepted this statement")
    shot(agency, "fees-journey-01-agency-accepts")

    # 2. Finance approves and issues it; the pay button names the amount and the card on file.
    finance = new_page()
    sign_in(finance, live_app, people["finance"].email, devices["finance"])
    finance.goto(detail)
    finance.get_by_role("button", name="Approve").click()
    finance.get_by_role("button", name="Issue to the partner").click()
    expect(finance.locator("main")).to_contain_text("Visa")
    expect(finance.locator("main")).to_contain_text("4242")
    shot(finance, "fees-journey-02-issued")

    # 3. Finance pays. Stripe confirms the PaymentIntent at once, but the statement turns paid only when the
    #    webhook's event has been processed by the worker.
    finance.get_by_role("button", name="Pay ¥400.00").click()
    expect(finance.locator(".messages")).to_contain_text("Payment sent to the card processor")
    deadline = time.monotonic() + WAIT
    while in_lender(lender, lambda: Statement.objects.get(pk=statement.pk).status) != "paid":
        assert time.monotonic() < deadline, "the webhook did not mark the statement paid"
        time.sleep(0.3)
    finance.goto(detail)
    expect(finance.locator("h1")).to_contain_text("Paid")
    expect(finance.locator("main")).not_to_contain_text("Pay ¥400.00")
    shot(finance, "fees-journey-03-paid")

    # One charge, succeeded, for 400.00; every event Stripe sent about its PaymentIntent recorded and processed.
    charge = in_lender(lender, lambda: Charge.objects.get(reference=str(statement.pk)))
    assert (charge.status, charge.amount) == (ChargeStatus.SUCCEEDED, commission)
    events = in_lender(
        lender, lambda: list(StripeEvent.objects.filter(object_id=charge.payment_intent_id).values_list("type", "processed_at"))
    )
    assert "payment_intent.succeeded" in {kind for kind, _ in events} and all(processed for _, processed in events)

    # 4. The settlement is on the ledger once: Dr payable to the agency / Cr cash, 400.00.
    def settlement():
        entries = list(LedgerTransaction.objects.filter(kind=EntryKind.SETTLEMENT, source_id=str(statement.pk)))
        return [sorted((leg.account, leg.amount) for leg in entry.legs.all()) for entry in entries]

    assert in_lender(lender, settlement) == [[("cash", Decimal("-400.00")), ("partner_payable", Decimal("400.00"))]]

    # 5. The net-recovery dashboard: 4,000.00 recovered, 400.00 cost, nothing more owed to the agency.
    finance.goto(live_app.url("/ledger/", host=SLUG))
    main = finance.locator("main")
    expect(main).to_contain_text("¥4,000.00")
    expect(main).to_contain_text("¥3,600.00")
    expect(finance.locator("[data-owed]")).to_have_text("¥0.00")
    shot(finance, "fees-journey-04-net-recovery")
