"""The lender's case list and case page in a real browser: the filters, the bulk selection handed to the placement
page, and the case page's limitation card (legal-review banner, the art. 189 warning date, each event's effect) and
collection-history panel, at desktop and phone width. Screenshots: test-artifacts/browser/cases-*.png.

One case of this module's own (an instalment loan whose evidence walks past expiry) is created in acme and deleted after.
"""

import datetime
import re

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.browser_support import (  # noqa: F401 (fixtures)
    chromium,
    live_app,
    new_page,
    no_horizontal_overflow,
    off_the_event_loop,
    restore_totp,
    scroll_widths,
    shot,
)
from tests.config.test_browser import PHONE, sign_in

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect
CONTRACT = "ACME-LIMIT-REVIEW-01"


def years_ago(today, years, days=0):
    return today.replace(year=today.year - years) - datetime.timedelta(days=days)


@pytest.fixture(scope="module")
def review_case(world, django_db_blocker):
    """An equal-instalment loan, first instalment missed five years ago, last instalment due four years ago (the
    period runs from there, 民法典 art. 189); a demand three and a half years ago restarted it (art. 195), so it
    expired half a year ago; a demand after that changes nothing, and the debtor's later promise is kept for a
    lawyer's review (SPC limitation rules, art. 19)."""
    from portal import limitation
    from portal.models import Case, Debtor, LimitationEventKind, RepaymentMethod

    today = timezone.localdate()

    def create():
        with tenant_context(world.lenders["acme"]):
            debtor = Debtor(name="时效审查", mobile="13900139000", address="上海市黄浦区中山东一路1号")
            debtor.set_id_number("110101199003077774")
            debtor.save()
            case = Case.objects.create(
                debtor=debtor,
                contract_no=CONTRACT,
                product="分期贷",
                loan_amount="30000.00",
                principal_due="21000.00",
                interest_due="1500.00",
                overdue_since=years_ago(today, 5),
                disbursed_on=years_ago(today, 6),
                term_months=24,
                repayment_method=RepaymentMethod.EQUAL_INSTALMENTS,
            )
            for kind, day, evidence in (
                (LimitationEventKind.DUE, years_ago(today, 4), "Last instalment due"),
                (LimitationEventKind.DEMAND, years_ago(today, 3, 180), "Registered letter, signed for"),
                (LimitationEventKind.DEMAND, today - datetime.timedelta(days=60), "Call, debtor reached"),
                (LimitationEventKind.ACKNOWLEDGMENT, today - datetime.timedelta(days=30), "Promise to pay on the call"),
            ):
                limitation.record_event(case=case, kind=kind, occurred_on=day, evidence=evidence, source_type="test", source_id=evidence)
            return case.pk

    def remove():
        with tenant_context(world.lenders["acme"]):
            case = Case.objects.get(pk=case_id)
            case.limitation_events.all().delete()
            case.delete()
            Debtor.objects.filter(pk=case.debtor_id).delete()

    # Playwright keeps an event loop in the main thread once a browser has started: query from a thread.
    with django_db_blocker.unblock():
        case_id = off_the_event_loop(create)
    yield case_id
    with django_db_blocker.unblock():
        off_the_event_loop(remove)


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_filters_and_the_selection_feed_the_placement_page(world, live_app, new_page, locale):
    suffix = "en" if locale == "en-US" else "zh"
    page = new_page(locale=locale)
    sign_in(page, live_app, world.people["acme_manager"], host="acme")
    page.goto(live_app.url("/cases/", host="acme"))
    rows = page.locator("#case-rows")
    expect(rows).to_contain_text("ACME-CANARY-003")
    shot(page, f"cases-{suffix}-01-list")

    # Filter: the M2 bucket only (ACME-CANARY-001 is 45 days past due).
    filters = page.locator("#case-filters")
    filters.locator('input[name="bucket"][value="M2"]').check()
    filters.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"[?&]bucket=M2"))
    expect(rows).to_contain_text("ACME-CANARY-001")
    expect(rows).not_to_contain_text("ACME-CANARY-003")
    expect(filters.locator('input[name="bucket"][value="M2"]')).to_be_checked()
    shot(page, f"cases-{suffix}-02-list-filtered")

    # A search that matches nothing says so, and offers to clear the filters.
    filters.locator('input[name="q"]').fill("NO-SUCH-CONTRACT")
    filters.locator("button[type=submit]").click()
    expect(page.locator("main .empty")).to_be_visible()
    expect(page.locator("#case-selection")).to_have_count(0)
    shot(page, f"cases-{suffix}-03-list-no-match")
    page.locator("#case-filters a[href$='/cases/']").click()
    expect(page).to_have_url(live_app.url("/cases/", host="acme"))

    # Tick two cases and hand them to the placement page: the agency is chosen there.
    for contract in ("ACME-CANARY-002", "ACME-CANARY-003"):
        rows.locator("tr", has_text=contract).locator('input[name="case"]').check()
    page.locator("#case-selection button[type=submit]").click()
    expect(page.locator("main .card")).to_contain_text("2")
    for contract in ("ACME-CANARY-002", "ACME-CANARY-003"):  # the person sees which cases they are about to place
        expect(page.locator("main .card p.muted").first).to_contain_text(contract)
    contracts = page.locator('main form input[name="contracts"]')
    assert sorted(contracts.input_value().split()) == ["ACME-CANARY-002", "ACME-CANARY-003"]
    expect(page.locator('main form select[name="partner"]')).to_be_visible()
    shot(page, f"cases-{suffix}-04-place-selection")


def test_case_list_on_a_phone(world, live_app, new_page):
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    sign_in(page, live_app, world.people["acme_manager"], host="acme")
    page.goto(live_app.url("/cases/", host="acme"))
    expect(page.locator("#case-rows")).to_contain_text("ACME-CANARY-001")
    shot(page, "cases-en-05-phone-list")
    assert no_horizontal_overflow(page), scroll_widths(page)


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_case_page_limitation_card_and_collection_history(world, live_app, new_page, review_case, viewport):
    name = "desktop" if viewport is None else "phone"
    page = new_page(viewport=viewport)
    sign_in(page, live_app, world.people["acme_manager"], host="acme")
    page.goto(live_app.url(f"/cases/{review_case}/", host="acme"))
    card = page.locator("#limitation")
    expect(card.locator("p > .badge.bad", has_text=re.compile(r"^Legal review$"))).to_be_visible()
    expect(card).to_contain_text("art. 19")
    # Read from the first missed instalment instead (art. 189), the period would have run to two years ago, but the
    # demand three and a half years ago falls inside it too and restarts it to the same day: no earlier date to warn of.
    expect(card.locator("p > .badge.warn", has_text="Warning")).to_have_count(0)
    expect(card.locator(".badge.ok", has_text="sets the date")).to_have_count(1)
    expect(card.locator("tr", has_text="Call, debtor reached").locator(".badge.warn")).to_contain_text("no effect")
    expect(card.locator("tr", has_text="Promise to pay on the call").locator(".badge.bad")).to_contain_text("legal review")
    # Only the lender's own limitation evidence, which the panel does not list: a note, not an empty table.
    expect(page.locator("#collection-history").get_by_text("No agency has worked this case yet.")).to_be_visible()
    expect(page.locator("#collection-history table")).to_be_hidden()
    shot(page, f"cases-en-06-{name}-case-limitation")
    assert no_horizontal_overflow(page), scroll_widths(page)

    # A placed case: its collection history shows the placement.
    page.goto(live_app.url("/cases/", host="acme"))
    page.locator("#case-rows").get_by_role("link", name="ACME-CANARY-001").click()
    history = page.locator("#collection-history")
    expect(history).to_contain_text(world.orgs["xagency"].name)
    expect(history.locator("tr.kind-placement")).to_have_count(1)
    expect(history.get_by_text("No agency has worked this case yet.")).to_be_hidden()
    shot(page, f"cases-en-07-{name}-case-history")
    assert no_horizontal_overflow(page), scroll_widths(page)


def test_contact_rules_page(world, live_app, new_page, restore_totp):
    """The lender admin's contact rules (they are terms set for the partners), with the promise grace days, on a phone."""
    restore_totp("acme_admin")
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    sign_in(page, live_app, world.people["acme_admin"], host="acme")
    page.goto(live_app.url("/workbench/contact-rules/", host="acme"))
    expect(page.locator('main form input[name="promise_grace_days"]')).to_be_visible()
    shot(page, "cases-en-08-phone-contact-rules")
    assert no_horizontal_overflow(page), scroll_widths(page)
