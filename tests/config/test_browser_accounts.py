"""Accounts in a real browser: an invitation accepted with a password chosen by the invitee and two-factor
enrolment for a role that needs it; a password reset by mail; the forced change at first sign-in; the account
page offering two-factor; the hand-off into a workspace. Screenshots: test-artifacts/browser/accounts-*.png.

The live server runs in this process, so the mail it sends (locmem backend) is read from django.core.mail.outbox.
People this module creates are removed (memberships) and disabled (accounts) after it.
"""

import base64
import re
import time
import uuid

import pytest
from django.core import mail
from django_otp.oath import TOTP

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
from tests.world import PASSWORD

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect
NEW_PASSWORD = "Kestrel-harbour-4417"
URL = re.compile(r"https?://\S+")


@pytest.fixture
def created_emails():
    """Emails of accounts a test creates; their memberships are removed and the accounts disabled afterwards."""
    emails = []
    yield emails

    def clean():
        from tenants.models import Membership, User

        Membership.objects.filter(user__email__in=emails).delete()
        User.objects.filter(email__in=emails).update(is_active=False)

    off_the_event_loop(clean)


def unique_email(label):
    return f"{label}-{uuid.uuid4().hex[:8]}@personas.test"


def mailed_link(to):
    """The one link in the last message sent to an address."""
    messages = [m for m in mail.outbox if to in m.to]
    assert messages, f"no mail to {to}"
    return URL.search(messages[-1].body).group(0)


def code_for_secret(secret):
    """What an authenticator app shows for a typed-in key (RFC 6238 defaults: 30 s, 6 digits)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    totp = TOTP(key)
    totp.time = time.time()
    return f"{totp.token():06d}"


def add_member(email, role, must_change_password=False):
    from tenants import services
    from tenants.models import Organisation

    def make():
        organisation = Organisation.objects.get(slug="acme")
        return services.add_member(
            organisation=organisation,
            email=email,
            full_name="测试 Tester",
            role=role,
            password=PASSWORD,
            must_change_password=must_change_password,
        ).user

    return off_the_event_loop(make)


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_invitation_is_accepted_with_own_password_and_two_factor_enrolment(world, live_app, new_page, restore_totp, created_emails, locale):
    suffix = "en" if locale == "en-US" else "zh"
    restore_totp("acme_admin")
    email = unique_email(f"invited-{suffix}")
    created_emails.append(email)

    # The lender admin invites a finance person (a role that needs two-factor) from the team page.
    admin_page = new_page(locale=locale)
    sign_in(admin_page, live_app, world.people["acme_admin"], host="acme")
    admin_page.goto(live_app.url("/team/", host="acme"))
    form = admin_page.locator("main form", has=admin_page.locator('input[name="email"]'))
    expect(form.locator('input[name="password"]')).to_have_count(0)  # no password is ever chosen for someone
    shot(admin_page, f"accounts-{suffix}-01-team-invite-form")
    form.locator('input[name="email"]').fill(email)
    form.locator('input[name="full_name"]').fill("钱财务 Qian")
    form.locator('select[name="role"]').select_option("finance")
    form.locator('button[type="submit"]').click()
    expect(admin_page.locator("ul.messages")).to_contain_text(email)
    expect(admin_page.locator("main")).to_contain_text(email)  # among the invitations not yet accepted
    shot(admin_page, f"accounts-{suffix}-02-team-invitation-pending")

    # The invitee opens the mailed link in their own browser.
    link = mailed_link(email)
    assert link.startswith(live_app.url("/accounts/invitation/")), link
    page = new_page(locale=locale)
    page.goto(link)
    expect(page.locator("main h1")).to_contain_text(world.orgs["acme"].name)
    expect(page.locator('input[name="full_name"]')).to_have_value("钱财务 Qian")
    expect(page.locator("html")).to_have_attribute("lang", "en" if locale == "en-US" else "zh-hans")
    shot(page, f"accounts-{suffix}-03-invitation-accept")
    page.locator('input[name="new_password1"]').fill(NEW_PASSWORD)
    page.locator('input[name="new_password2"]').fill(NEW_PASSWORD)
    page.locator("main button[type=submit]").click()

    # The role requires a second factor: enrolment follows, with a key that can be typed in.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/setup/"))
    expect(page.locator(".qr svg")).to_be_visible()
    shot(page, f"accounts-{suffix}-04-two-factor-enrolment")
    secret = page.locator("code.secret").inner_text().strip()
    page.locator('input[name="token"]').fill(code_for_secret(secret))
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(live_app.url("/"))
    expect(page.get_by_role("button", name=re.compile("Sign out|退出"))).to_be_visible()
    expect(page.locator('button[data-enter="acme"]')).to_be_visible()
    shot(page, f"accounts-{suffix}-05-home-after-invitation")


def test_password_reset_by_mail(world, live_app, new_page, created_emails):
    email = unique_email("reset")
    created_emails.append(email)
    add_member(email, "collections_manager")

    page = new_page()
    page.goto(live_app.url("/accounts/login/"))
    page.get_by_role("link", name=re.compile("Forgot", re.I)).click()
    expect(page).to_have_url(live_app.url("/accounts/password/reset/"))
    shot(page, "accounts-en-06-reset-request")
    page.locator('input[name="email"]').fill(email)
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(live_app.url("/accounts/password/reset/sent/"))
    shot(page, "accounts-en-07-reset-sent")

    page.goto(mailed_link(email))
    expect(page.locator('input[name="new_password1"]')).to_be_visible()
    shot(page, "accounts-en-08-reset-choose")
    page.locator('input[name="new_password1"]').fill(NEW_PASSWORD)
    page.locator('input[name="new_password2"]').fill(NEW_PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(live_app.url("/accounts/password/reset/complete/"))
    shot(page, "accounts-en-09-reset-complete")

    # The new password signs in; the old one no longer does.
    page.goto(live_app.url("/accounts/login/"))
    page.locator('input[name="username"]').fill(email)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.locator('input[name="password"]')).to_be_visible()
    page.locator('input[name="username"]').fill(email)
    page.locator('input[name="password"]').fill(NEW_PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(live_app.url("/"))
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_forced_password_change_at_first_sign_in_then_account_page(world, live_app, new_page, created_emails):
    email = unique_email("forced")
    created_emails.append(email)
    add_member(email, "collections_manager", must_change_password=True)

    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page.goto(live_app.url("/accounts/login/"))
    page.locator('input[name="username"]').fill(email)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/accounts/password/change/"))
    shot(page, "accounts-en-10-phone-forced-change")
    assert no_horizontal_overflow(page), scroll_widths(page)
    page.locator('input[name="old_password"]').fill(PASSWORD)
    page.locator('input[name="new_password1"]').fill(NEW_PASSWORD)
    page.locator('input[name="new_password2"]').fill(NEW_PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(live_app.url("/accounts/password/change/done/"))
    shot(page, "accounts-en-11-phone-change-done")

    # No longer held on the change page; the account page offers two-factor to a role that does not require it.
    page.goto(live_app.url("/accounts/"))
    expect(page).to_have_url(live_app.url("/accounts/"))
    expect(page.get_by_role("link", name="Turn on two-factor authentication")).to_be_visible()
    shot(page, "accounts-en-12-phone-account")
    assert no_horizontal_overflow(page), scroll_widths(page)


def test_workspace_hand_off_page(world, live_app, new_page, restore_totp):
    restore_totp("x_admin")
    page = new_page()
    sign_in(page, live_app, world.people["x_admin"])
    page.locator('button[data-enter="acme"]').click()
    expect(page.locator('button[data-handoff="acme"]')).to_be_visible()
    shot(page, "accounts-en-13-handoff")
    page.locator('button[data-handoff="acme"]').click()
    expect(page).to_have_url(live_app.url("/", host="acme"))


def test_integration_tokens_issue_and_rotate(world, live_app, new_page, restore_totp):
    """The tokens page: a token limited to what its system needs (scopes), its expiry, and rotation with an overlap."""
    restore_totp("acme_admin")
    page = new_page()
    sign_in(page, live_app, world.people["acme_admin"], host="acme")
    page.goto(live_app.url("/intake/tokens/", host="acme"))
    shot(page, "accounts-en-14-tokens")
    # The header a system must send is shown whole (the placeholder is text, not a stray HTML tag).
    expect(page.locator("main").get_by_text("Authorization: Token <key>", exact=False)).to_be_visible()
    name = f"browser nightly export {uuid.uuid4().hex[:6]}"
    form = page.locator("main form", has=page.locator('input[name="name"]'))
    form.locator('input[name="name"]').fill(name)
    form.locator('button[type="submit"]').click()
    expect(page.locator("#new-key code.secret")).to_be_visible()
    row = page.locator("main table tbody tr", has_text=name)
    expect(row.locator(".badge.ok")).to_be_visible()
    row.get_by_role("button", name="Rotate").click()
    expect(page.locator("#new-key")).to_contain_text(name)  # the new key replaces this token's, which keeps working a while
    expect(page.locator("main table tbody tr", has_text=name).locator(".badge.warn")).to_be_visible()
    shot(page, "accounts-en-15-tokens-rotated")
    page.locator("main table tbody tr", has_text=name).get_by_role("button", name="Revoke").first.click()  # the new key: not left usable
    expect(page.locator("main table tbody tr", has_text=name).locator(".badge.ok")).to_have_count(0)
