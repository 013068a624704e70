"""Real-browser journeys: Debian's Chromium, driven by Playwright, against a live Caseport.

What a person notices: signing in on the public site and stepping into a
lender's workspace without a second sign-in; an admin's two-factor step; the
language switch; the pages on a phone. Screenshots of each step land in
test-artifacts/browser/. The server and browser come from tests/browser_support.py.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.browser_support import (  # noqa: F401 (fixtures)
    chromium,
    current_code,
    live_app,
    new_page,
    no_horizontal_overflow,
    restore_totp,
    scroll_widths,
    shot,
)
from tests.world import PASSWORD

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

PHONE = {"width": 390, "height": 844}
# Decided once, at collection — before Django loads its catalogues — so a catalogue
# compiled while the tests run cannot make the answer and the rendering disagree.
HAS_CHINESE_CATALOGUE = (Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo").exists()
CJK = re.compile(r"[\u4e00-\u9fff]")


def sign_in(page, app, persona, host=None, second_factor=True):
    """Open the sign-in page on a host and submit a persona's email and password, then, where the persona's role
    requires two-factor (it has a device), the code its authenticator app shows."""
    page.goto(app.url("/accounts/login/", host=host))
    page.locator('input[name="username"]').fill(persona.email)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('main button[type="submit"]').click()
    if second_factor and persona.device is not None:
        expect(page).to_have_url(re.compile(r"/accounts/2fa/"))
        page.locator('input[name="token"]').fill(current_code(persona.device))
        page.locator('main button[type="submit"]').click()  # "Confirm code", in the page's language


def enter_workspace(page, app, slug):
    """Enter a lender's workspace: a one-time ticket, handed over by a form posted to the lender's host."""
    page.locator(f'button[data-enter="{slug}"]').click()
    page.locator(f'button[data-handoff="{slug}"]').click()
    expect(page).to_have_url(app.url("/", host=slug))


def test_agency_admin_signs_in_once_and_works_across_lenders(world, live_app, new_page, restore_totp):
    page = new_page()
    x_admin = world.people["x_admin"]
    restore_totp("x_admin")
    sign_in(page, live_app, x_admin)

    # The public home: both lenders' workspaces, and one work list across them.
    expect(page).to_have_url(live_app.url("/"))
    expect(page.locator("h1")).to_have_text("Your workspaces")
    for slug in ("acme", "beta"):
        expect(page.locator("main table").first).to_contain_text(world.lenders[slug].name)
        expect(page.locator(f'button[data-enter="{slug}"]')).to_be_visible()
    worklist = page.locator(".card", has=page.get_by_role("heading", name="Combined work list"))
    expect(worklist).to_contain_text("ACME-CANARY-001")
    expect(worklist).to_contain_text("BETA-CANARY-001")
    expect(worklist).not_to_contain_text("ACME-CANARY-003")  # never placed
    shot(page, "01-agency-admin-workspaces")

    # Enter acme: the hand-off ticket signs them in on acme's host, no second sign-in.
    enter_workspace(page, live_app, "acme")
    expect(page.locator(".workspace-name")).to_have_text(world.lenders["acme"].name)
    expect(page.locator("h1")).to_contain_text("overview")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.locator('input[name="password"]')).to_have_count(0)
    shot(page, "02-agency-admin-acme-dashboard")

    # Cases: the two placed with agency X, not the one never placed.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cases", exact=True).click()
    expect(page).to_have_url(live_app.url("/cases/", host="acme"))
    rows = page.locator("#case-rows")
    expect(rows).to_contain_text("ACME-CANARY-001")
    expect(rows).to_contain_text("ACME-CANARY-002")
    expect(rows).not_to_contain_text("ACME-CANARY-003")
    expect(rows).not_to_contain_text("BETA-CANARY")
    shot(page, "03-agency-admin-acme-cases")

    # A case: the ID number is masked.
    rows.get_by_role("link", name="ACME-CANARY-001").click()
    expect(page).to_have_url(re.compile(re.escape(live_app.url("/cases/", host="acme")) + r"[0-9a-f-]{36}/$"))
    expect(page.locator("h1")).to_contain_text("ACME-CANARY-001")
    id_number = page.locator("#id-number")
    expect(id_number).to_contain_text("*")
    expect(id_number).not_to_have_text(world.canaries["acme"][6])  # the full number of the placed case
    expect(page.locator("body")).not_to_contain_text(world.canaries["acme"][6])
    shot(page, "04-agency-admin-acme-case-detail")


def test_lender_admin_passes_two_factor_and_sees_the_sign_in_in_the_audit_log(world, live_app, new_page, restore_totp):
    page = new_page()
    admin = world.people["acme_admin"]
    restore_totp("acme_admin")
    sign_in(page, live_app, admin, host="acme", second_factor=False)

    # Signed in, but not through: the code from the authenticator app is asked for.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/"))
    expect(page.locator("h1")).to_have_text("Enter your code")
    shot(page, "05-lender-admin-two-factor")
    page.locator('input[name="token"]').fill(current_code(admin.device))
    page.get_by_role("button", name="Confirm code").click()

    expect(page).to_have_url(live_app.url("/", host="acme"))
    expect(page.locator("h1")).to_contain_text("overview")
    page.get_by_role("navigation", name="Main").locator("summary", has_text="Settings").click()  # the nav's groups open on click
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log")).to_be_visible()
    shot(page, "06-lender-admin-dashboard")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    expect(page).to_have_url(live_app.url("/audit/", host="acme"))
    sign_ins = page.locator("main table tbody tr", has_text="Signed in").filter(has_text=admin.email)
    expect(sign_ins.first).to_be_visible()
    expect(page.locator("main table tbody tr", has_text="Two-factor verified").filter(has_text=admin.email).first).to_be_visible()
    shot(page, "07-lender-admin-audit-log")

    # Filtering by the event keeps only sign-ins.
    page.locator("select#action").select_option("login")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]action=login"))
    expect(page.locator("main table tbody tr").first).to_contain_text("Signed in")
    expect(page.locator("main table tbody")).not_to_contain_text("Two-factor verified")
    shot(page, "08-lender-admin-audit-log-sign-ins")


def switch_language(page, label):
    page.locator('form[data-language-switch] select[name="language"]').select_option(label=label)
    page.locator("form[data-language-switch] button[type=submit]").click()


def test_default_language_is_simplified_chinese_for_a_chinese_browser(world, live_app, new_page):
    page = new_page(locale="zh-CN")
    page.goto(live_app.url("/accounts/login/"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator('select[name="language"] option:checked')).to_have_text("简体中文")
    if HAS_CHINESE_CATALOGUE:
        expect(page.locator("main h1")).to_have_text(CJK)
        expect(page.locator("main h1")).not_to_have_text("Sign in to Caseport")
        expect(page.locator("main button[type=submit]")).to_have_text(CJK)
    shot(page, "09-login-default-chinese")


def test_language_switch_changes_the_page_language(world, live_app, new_page, restore_totp):
    restore_totp("x_admin")
    page = new_page(locale="zh-CN")
    sign_in(page, live_app, world.people["x_admin"])
    expect(page).to_have_url(live_app.url("/"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    switch_language(page, "English")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(live_app.url("/"))  # back on the same page
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.locator("h1")).to_have_text("Your workspaces")
    expect(page.locator('select[name="language"] option:checked')).to_have_text("English")
    shot(page, "10-workspaces-english")

    # The choice sticks (a cookie) on the next page, though the browser asks for Chinese.
    page.goto(live_app.url("/accounts/login/"))
    expect(page).to_have_url(live_app.url("/"))  # already signed in: sent home
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    switch_language(page, "简体中文")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator('select[name="language"] option:checked')).to_have_text("简体中文")
    if HAS_CHINESE_CATALOGUE:
        expect(page.locator('.userbox form[action$="/logout/"] button')).to_contain_text("退出")
        expect(page.locator("h1")).to_have_text(CJK)
        expect(page.locator("h1")).not_to_have_text("Your workspaces")
    shot(page, "11-workspaces-chinese")


def test_phone_layout_has_no_horizontal_scrolling(world, live_app, new_page, restore_totp):
    restore_totp("x_admin")
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    sign_in(page, live_app, world.people["x_admin"])
    expect(page.locator("h1")).to_have_text("Your workspaces")
    shot(page, "12-phone-workspaces")
    assert no_horizontal_overflow(page), scroll_widths(page)

    enter_workspace(page, live_app, "acme")
    expect(page.locator("h1")).to_contain_text("overview")
    shot(page, "13-phone-acme-dashboard")
    assert no_horizontal_overflow(page), scroll_widths(page)

    page.goto(live_app.url("/cases/", host="acme"))
    expect(page.locator("#case-rows")).to_contain_text("ACME-CANARY-001")
    shot(page, "14-phone-acme-cases")
    assert no_horizontal_overflow(page), scroll_widths(page)

    page.locator("#case-rows").get_by_role("link", name="ACME-CANARY-001").click()
    expect(page.locator("#id-number")).to_contain_text("*")
    shot(page, "15-phone-acme-case-detail")
    assert no_horizontal_overflow(page), scroll_widths(page)


def test_navigation_menus_close_like_menus(world, live_app, new_page):
    """The grouped navigation (<details>, usable without script) closes when another group opens, on a click
    elsewhere and on Escape (static/js/nav.js)."""
    page = new_page()
    sign_in(page, live_app, world.people["acme_manager"], host="acme")
    expect(page).to_have_url(live_app.url("/", host="acme"))
    groups = page.locator("details.nav-group")
    assert groups.count() >= 2
    first, second = groups.nth(0), groups.nth(1)
    first.locator("summary").click()
    expect(first).to_have_attribute("open", "")
    second.locator("summary").click()
    expect(second).to_have_attribute("open", "")
    expect(first).not_to_have_attribute("open", "")
    page.locator("main h1").click()
    expect(second).not_to_have_attribute("open", "")
    first.locator("summary").click()
    expect(first).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(first).not_to_have_attribute("open", "")
