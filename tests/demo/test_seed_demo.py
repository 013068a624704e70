"""The demo seed: realistic, valid, deterministic, idempotent, and placed only where allowed.

The test world already owns acme/beta, so every test here seeds a renamed
cast (slugs prefixed "sd-") inside its own rolled-back transaction.
"""

import datetime
import io
import json
import re
from collections import Counter
from decimal import Decimal

import pytest
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import tenant_context

from demo import seeding as demo
from outsourcing import placement as placing
from outsourcing.models import Placement, PlacementStatus
from portal import access
from portal.lib import crypto, idnumber
from portal.models import Case, CaseStatus, Debtor, bucket_for
from tenants import services
from tenants.models import (
    ROLES_REQUIRING_2FA,
    Engagement,
    EngagementStatus,
    Lender,
    Licence,
    Membership,
    Organisation,
    OrganisationKind,
    Role,
    User,
)

PREFIX = "sd-"
BESIDE_WORLD = ("--beside", "acme", "--beside", "beta")  # the test world's lenders, which the demo did not create
TODAY = datetime.date(2026, 3, 15)
REGION_CODES = {region.code for region in demo.REGIONS} | set(demo.HOMETOWN_CODES)
MOBILE = re.compile(r"^1[3-9]\d{9}$")


@pytest.fixture
def cast():
    return demo.demo_cast(prefix=PREFIX)


def seed(cast, cases=40):
    return demo.seed_demo(cast=cast, cases_per_lender=cases)


def lender(slug):
    return Lender.objects.get(organisation__slug=slug)


def acme_cases(count=400):
    return demo.generate_cases(
        seed="caseport-demo:acme", contract_prefix="AX", count=count, today=TODAY, agency_slugs=("xunda", "yuanhang")
    )


def snapshot(cast):
    """Everything the seed writes, counted."""
    slugs = [spec.slug for spec in cast.lenders] + [spec.slug for spec in cast.partners]
    emails = [u["email"] for u in all_logins(demo.describe_demo(cast=cast))]
    counts = {
        "organisations": Organisation.objects.filter(slug__in=slugs).count(),
        "lenders": Lender.objects.filter(organisation__slug__in=slugs).count(),
        "users": User.objects.filter(email__in=emails).count(),
        "memberships": Membership.objects.filter(user__email__in=emails).count(),
        "devices": TOTPDevice.objects.filter(user__email__in=emails).count(),
        "licences": Licence.objects.filter(organisation__slug__in=slugs).count(),
        "engagements": Engagement.objects.filter(partner__slug__in=slugs).count(),
    }
    for spec in cast.lenders:
        with tenant_context(lender(spec.slug)):
            counts[spec.slug] = (
                Debtor.objects.count(),
                Case.objects.count(),
                Placement.objects.count(),
                tuple(sorted(Counter(Case.objects.values_list("status", flat=True)).items())),
            )
    return counts


def all_logins(summary):
    logins = list(summary["platform"]["users"])
    for entry in summary["tenants"] + summary["partners"]:
        logins += entry["users"]
    return logins


# ------------------------------------------------------------- generation (no database)
def test_generated_id_numbers_pass_gb11643_with_real_region_codes_and_birth_years():
    cases = acme_cases()
    for case in cases:
        assert idnumber.validate(case.id_number) is None, case.id_number
        assert case.id_number[:6] in REGION_CODES
        assert 1965 <= int(case.id_number[6:10]) <= 2002
    # Borrowers are distinct people, a few with a second loan.
    assert len({c.id_number for c in cases}) > 0.9 * len(cases)


def test_generated_debtors_look_chinese_and_live_where_their_case_is():
    for case in acme_cases(200):
        assert 2 <= len(case.debtor_name) <= 3 and case.debtor_name[0] in demo.SURNAMES
        assert MOBILE.match(case.mobile), case.mobile
        assert case.address.startswith(case.region)
        assert case.product in {p.name for p in demo.PRODUCTS}


def test_generated_money_is_decimal_to_the_fen_and_consistent():
    for case in acme_cases():
        amounts = (case.loan_amount, case.principal_due, case.interest_due, case.penalty_due, case.fees_due)
        for amount in amounts:
            assert isinstance(amount, Decimal) and amount.as_tuple().exponent == -2
            assert amount >= 0
        assert Decimal("3000.00") <= case.loan_amount <= Decimal("200000.00")
        assert Decimal("0.00") < case.principal_due <= case.loan_amount
        assert case.disbursed_on < case.overdue_since == TODAY - datetime.timedelta(days=case.dpd)
        assert 1 <= case.dpd <= 400


def test_generation_is_deterministic_and_a_bigger_demo_extends_the_same_portfolio():
    assert acme_cases(80) == acme_cases(80)
    assert acme_cases(120)[:80] == acme_cases(80)
    assert {c.bucket for c in acme_cases(6)} == {"M1", "M2", "M3", "M4", "M5", "M6+"}


def test_generated_placements_start_after_the_case_fell_overdue_and_recalls_precede_today():
    """Only an overdue case goes to an agency (placement refuses it on a day it is not overdue)."""
    plans = [(case, case.placement) for case in acme_cases() if case.placement is not None]
    assert plans and any(plan.recalled for _case, plan in plans)
    for case, plan in plans:
        assert 0 <= plan.started_days_ago < case.dpd
        if plan.recalled:
            assert 1 <= plan.ended_days_after_start < plan.started_days_ago


def test_generated_loans_carry_what_the_limitation_period_runs_from():
    """Art. 189: an instalment loan's period runs from its last instalment, or from the acceleration the lender declared."""
    for case in acme_cases():
        assert case.repayment_method in {"equal_instalments", "equal_principal", "interest_only"} and case.term_months
        assert case.disbursed_on < case.overdue_since <= demo.add_months(case.disbursed_on, case.term_months)
        assert (case.accelerated_on is not None) == (case.dpd > demo.ACCELERATE_AFTER_DAYS)
        if case.accelerated_on:
            assert case.overdue_since < case.accelerated_on < TODAY
        if case.last_payment_on:
            assert case.disbursed_on <= case.last_payment_on < case.overdue_since


def test_generated_credit_codes_carry_valid_check_characters():
    # Published examples of unified social credit codes (GB 32100-2015).
    assert demo.credit_code(head="91350100", body="M000100Y") == "91350100M000100Y43"
    assert demo.credit_code(head="91330100", body="71610585") == "91330100716105852F"


def test_demo_password_passes_the_password_validators():
    password_validation.validate_password(demo.DEMO_PASSWORD, User(email="admin@acme.demo", full_name="王芳"))


# ------------------------------------------------------------------------ seeding
@pytest.mark.django_db
def test_seed_creates_the_cast_with_verified_licences_and_active_engagements(cast):
    seed(cast)
    acme, beta = (spec.slug for spec in cast.lenders)
    xunda, yuanhang, lvzheng = (Organisation.objects.get(slug=spec.slug) for spec in cast.partners)
    assert lender(acme).name == "安信消费金融" and lender(beta).name == "百信小额贷款"
    assert (xunda.kind, yuanhang.kind, lvzheng.kind) == (OrganisationKind.AGENCY, OrganisationKind.AGENCY, OrganisationKind.LAW_FIRM)
    for partner in (xunda, yuanhang, lvzheng):
        assert access.may_receive_cases(partner)
    active = set(
        Engagement.objects.filter(status=EngagementStatus.ACTIVE, partner__slug__startswith=PREFIX).values_list(
            "lender__organisation__slug", "partner__slug"
        )
    )
    assert active == {(acme, xunda.slug), (beta, xunda.slug), (acme, yuanhang.slug), (acme, lvzheng.slug)}
    roles = set(
        Membership.objects.filter(user__email__endswith=".demo", organisation__slug__startswith=PREFIX).values_list("role", flat=True)
    )
    assert roles == {
        Role.LENDER_ADMIN,
        Role.COLLECTIONS_MANAGER,
        Role.LEGAL_MANAGER,
        Role.FINANCE,
        Role.AGENCY_ADMIN,
        Role.COLLECTOR,
        Role.LAWYER,
        Role.PARALEGAL,
    }
    staff = Membership.objects.get(user__email=f"staff@{PREFIX}caseport.demo")
    assert staff.role == Role.PLATFORM_STAFF and staff.organisation.kind == OrganisationKind.PLATFORM


@pytest.mark.django_db
def test_seeded_cases_are_valid_and_span_every_bucket(cast):
    seed(cast, cases=60)
    for spec in cast.lenders:
        with tenant_context(lender(spec.slug)):
            cases = list(Case.objects.select_related("debtor"))
            assert len(cases) == 60
            assert {case.bucket for case in cases} == {"M1", "M2", "M3", "M4", "M5", "M6+"}
            for case in cases:
                assert idnumber.validate(case.debtor.id_number) is None
                assert case.debtor.id_number_masked == idnumber.mask(case.debtor.id_number)
                for amount in (case.loan_amount, case.principal_due, case.interest_due, case.penalty_due, case.fees_due):
                    assert isinstance(amount, Decimal) and amount.as_tuple().exponent == -2 and amount >= 0
                assert case.principal_due <= case.loan_amount
                assert case.disbursed_on < case.overdue_since


@pytest.mark.django_db
def test_seeding_twice_duplicates_nothing(cast):
    first = seed(cast)
    before = snapshot(cast)
    second = seed(cast)
    assert snapshot(cast) == before
    assert second.users_created == 0
    assert [(r.cases_created, r.placements_created) for r in second.lenders] == [(0, 0), (0, 0)]
    assert [r.cases for r in first.lenders] == [40, 40]


@pytest.mark.django_db
def test_a_bigger_rerun_adds_only_the_missing_cases(cast):
    seed(cast, cases=20)
    report = seed(cast, cases=30)
    assert [(r.cases, r.cases_created) for r in report.lenders] == [(30, 10), (30, 10)]


@pytest.mark.django_db
def test_placements_go_only_to_engaged_licensed_agencies(cast):
    seed(cast, cases=120)
    now = timezone.now()
    collectors = {
        spec.slug: {cast.email(mailbox=p.mailbox, org_slug=spec.slug) for p in spec.people if p.role == Role.COLLECTOR}
        for spec in cast.partners
    }
    for spec in cast.lenders:
        this = lender(spec.slug)
        with tenant_context(this):
            placements = list(Placement.objects.select_related("partner", "assigned_to", "case"))
            assert placements
            for placement in placements:
                assert placement.partner.kind == OrganisationKind.AGENCY
                assert access.may_receive_cases(placement.partner)
                assert Engagement.objects.filter(lender=this, partner=placement.partner, status=EngagementStatus.ACTIVE).exists()
                if placement.assigned_to is not None:
                    assert placement.assigned_to.email in collectors[placement.partner.slug]
                if placement.status == PlacementStatus.RECALLED:
                    # Recalled to be worked in-house, or to go to court (escalation recalls first: demo/litigation.py).
                    in_litigation = placement.case.matter_loans.filter(active=True).exists()
                    assert placement.ended_at < now
                    assert placement.case.status == (CaseStatus.LITIGATION if in_litigation else CaseStatus.INTERNAL)
            for placement in placements:
                # Placed by the placement service: a term of whole local days under the agreement in force, only once
                # the case was overdue, in the bucket it was in that day, first round (手别 1).
                start_day = timezone.localdate(placement.starts_at)
                assert placement.starts_at == placing.local_midnight(start_day)
                assert placement.term_ends_at == placing.local_midnight(
                    start_day + datetime.timedelta(days=placement.agreement_version.term_days)
                )
                assert start_day > placement.case.overdue_since
                assert placement.bucket == bucket_for((start_day - placement.case.overdue_since).days) != bucket_for(0)
                assert placement.agreement_version.rate_for(placement.bucket, placement.round) is not None and placement.round == 1
            active = [p for p in placements if p.status == PlacementStatus.ACTIVE]
            assert all(p.starts_at < now < p.ends_at for p in active)
            assert {p.case_id for p in active} == set(Case.objects.filter(status=CaseStatus.PLACED).values_list("id", flat=True))
            assert any(p.status == PlacementStatus.RECALLED for p in placements)
            for agency, count in Counter(p.partner.slug for p in active).items():
                assigned = sum(1 for p in active if p.partner.slug == agency and p.assigned_to_id)
                assert abs(2 * assigned - count) <= 1  # about half are assigned to a collector
        engaged_agencies = {p.slug for p in cast.agencies_for(lender_slug=spec.slug)}
        assert {p.partner.slug for p in placements} == engaged_agencies


@pytest.mark.django_db
def test_collectors_see_only_cases_assigned_to_them(cast):
    seed(cast, cases=60)
    acme, beta = (lender(spec.slug) for spec in cast.lenders)
    collector = User.objects.get(email=f"collector1@{PREFIX}xunda.demo")
    with tenant_context(acme):
        visible = set(access.visible_cases(access.principal_for(collector, acme)).values_list("id", flat=True))
        assigned = set(Placement.objects.active().filter(assigned_to=collector).values_list("case_id", flat=True))
        assert visible == assigned and visible
    yuanhang_admin = User.objects.get(email=f"admin@{PREFIX}yuanhang.demo")
    assert access.principal_for(yuanhang_admin, beta) is None  # not engaged with beta


@pytest.mark.django_db
def test_two_factor_roles_get_a_fixed_device_and_demo_totp_prints_its_code(cast):
    seed(cast)
    summary = demo.describe_demo(cast=cast)
    for login in all_logins(summary):
        user = User.objects.get(email=login["email"])
        assert user.check_password(login["password"])
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if login["role"] in ROLES_REQUIRING_2FA:
            assert device.key == demo.totp_key_for(email=login["email"]) and len(device.key) == 40
        else:
            assert device is None
    admin = f"admin@{PREFIX}acme.demo"
    out = io.StringIO()
    call_command("demo_totp", admin, stdout=out, stderr=io.StringIO())
    code = out.getvalue().strip()
    assert re.fullmatch(r"\d{6}", code)
    assert TOTPDevice.objects.get(user__email=admin).verify_token(code)
    with pytest.raises(CommandError):
        call_command("demo_totp", f"manager@{PREFIX}acme.demo", stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.django_db
def test_json_summary_is_one_object_with_logins_and_canaries():
    out = io.StringIO()
    call_command("seed_demo", "--json", "--force", "--cases", "60", "--prefix", PREFIX, *BESIDE_WORLD, stdout=out)
    summary = json.loads(out.getvalue())  # nothing but the one object
    assert set(summary) == {"platform", "tenants", "partners"}
    assert summary["platform"]["users"] == [
        {"email": f"staff@{PREFIX}caseport.demo", "password": demo.DEMO_PASSWORD, "role": "platform_staff"}
    ]
    tenants = {t["slug"]: t for t in summary["tenants"]}
    assert set(tenants) == {f"{PREFIX}acme", f"{PREFIX}beta"}
    acme = tenants[f"{PREFIX}acme"]
    assert acme["name"] == "安信消费金融" and acme["domain"] == f"{PREFIX}acme.localhost"
    assert {u["email"] for u in acme["users"]} == {f"{box}@{PREFIX}acme.demo" for box in ("admin", "manager", "legal", "finance")}
    partners = {p["slug"]: p for p in summary["partners"]}
    assert partners[f"{PREFIX}xunda"]["engaged_with"] == [f"{PREFIX}acme", f"{PREFIX}beta"]
    assert partners[f"{PREFIX}yuanhang"]["engaged_with"] == [f"{PREFIX}acme"]
    assert partners[f"{PREFIX}lvzheng"]["kind"] == "law_firm" and partners[f"{PREFIX}lvzheng"]["engaged_with"] == [f"{PREFIX}acme"]
    for tenant in summary["tenants"]:
        canaries = tenant["canaries"]
        assert 3 <= len(canaries) <= 5
        engaged = {slug for slug, p in partners.items() if tenant["slug"] in p["engaged_with"] and p["kind"] == "agency"}
        assert {c["placed_with"] for c in canaries} == engaged | {None}
        with tenant_context(lender(tenant["slug"])):
            for canary in canaries:
                assert set(canary) >= {"name", "contract_no", "id_number", "placed_with"}
                assert idnumber.validate(canary["id_number"]) is None
                case = Case.objects.select_related("debtor").get(contract_no=canary["contract_no"])
                assert case.debtor.name == canary["name"]
                assert case.debtor.id_number_index == crypto.blind_index(canary["id_number"])
                active = Placement.objects.active().filter(case=case).select_related("partner").first()
                assert (active.partner.slug if active else None) == canary["placed_with"]


@pytest.mark.django_db
def test_text_output_lists_every_login_and_where_to_get_a_code(cast):
    out = io.StringIO()
    call_command("seed_demo", "--force", "--cases", "10", "--prefix", PREFIX, *BESIDE_WORLD, stdout=out)
    text = out.getvalue()
    for login in all_logins(demo.describe_demo(cast=cast)):
        assert login["email"] in text
    assert demo.DEMO_PASSWORD in text and "http://localhost:8000/" in text
    assert "DJANGO_SETTINGS_MODULE=config.settings.dev .venv/bin/python manage.py demo_totp EMAIL" in text  # manage.py alone is production


@pytest.mark.django_db
def test_command_refuses_to_seed_with_debug_off_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo", "--cases", "1", "--prefix", PREFIX, stdout=io.StringIO())
    assert not Organisation.objects.filter(slug__startswith=PREFIX).exists()


@pytest.mark.django_db
def test_a_slug_taken_by_another_kind_of_organisation_is_reported_not_overwritten(cast):
    services.create_organisation(slug=f"{PREFIX}acme", name="某催收公司", kind=OrganisationKind.AGENCY)
    with pytest.raises(ValidationError):
        seed(cast, cases=1)
    with pytest.raises(CommandError, match="not a lender"):
        call_command("seed_demo", "--force", "--cases", "1", "--prefix", PREFIX, *BESIDE_WORLD, stdout=io.StringIO())


@pytest.mark.django_db
def test_the_demo_has_a_returned_payment_whose_commission_is_clawed_back_this_month(cast):
    from outsourcing.models import CommissionLine, Statement, StatementStatus
    from portal.payments.models import PaymentReversal

    seed(cast, cases=120)
    seed(cast, cases=120)  # a re-run reverses nothing twice
    found = 0
    for spec in cast.lenders:
        with tenant_context(lender(spec.slug)):
            reversals = list(PaymentReversal.objects.select_related("payment"))
            assert len(reversals) <= 1
            for reversal in reversals:
                found += 1
                clawback = CommissionLine.objects.get(reversal=reversal)
                earned = CommissionLine.objects.get(payment=reversal.payment, reversal__isnull=True)
                assert (clawback.recovered, clawback.commission) == (-earned.recovered, -earned.commission)
                # Last month's, approved and issued to the agency: ready for finance to pay (fees journey).
                assert earned.statement.status == StatementStatus.ISSUED and earned.statement.document_sha256
                current = Statement.objects.get(
                    kind="commission", partner_id=clawback.partner_id, period=timezone.localdate().replace(day=1)
                )
                assert clawback.statement_id == current.pk and current.status == StatementStatus.DRAFT
                assert current.commission_total == sum(line.commission for line in current.lines.all())
    assert found >= 1


@pytest.mark.django_db
def test_the_demo_has_a_field_visit_on_this_months_fee_statement_and_court_costs_recovered(cast):
    """A reported visit earns the demo agreement's ¥150 on the agency's field-visit draft; the judged matter's court
    fee came back (诉讼费用交纳办法 art. 29), so its cost and its recovery cancel on the ledger."""
    from litigation.costs import recovery_position
    from litigation.models import CostRecovery
    from outsourcing.workbench.models import FieldVisitCharge

    seed(cast, cases=120)
    seed(cast, cases=120)  # a re-run charges nothing twice
    for spec in cast.lenders:
        with tenant_context(lender(spec.slug)):
            [charge] = FieldVisitCharge.objects.select_related("statement")
            assert charge.amount == Decimal("150.00") and charge.statement.kind == "field_visit"
            assert charge.statement.amount_total == Decimal("150.00") and charge.statement.status == "draft"
            [recovery] = CostRecovery.objects.select_related("matter")
            position = recovery_position(recovery.matter)
            assert position["advanced"] == position["recovered"] == recovery.amount > 0 and position["decided"]


def last_instalment(case):
    """民法典 art. 189: "当事人约定同一债务分期履行的，诉讼时效期间自最后一期履行期限届满之日起计算"."""
    from portal.lib.months import add_months

    return add_months(case.disbursed_on, case.term_months)


@pytest.mark.django_db
def test_demo_cases_carry_their_limitation_evidence_and_first_balances(cast):
    """Every demo loan is repaid in instalments, so the period runs from the last instalment's due date (art. 189),
    or from the day the lender declared the whole loan due when it did so earlier; three years (art. 188)."""
    from portal.limitation import LIMITATION_YEARS, add_years
    from portal.models import BalanceSnapshot, LimitationEvent

    seed(cast, cases=40)
    with tenant_context(lender(cast.lenders[0].slug)):
        cases = list(Case.objects.all())
        for case in cases:
            assert case.repayment_method and case.term_months
            start = min(case.accelerated_on, last_instalment(case)) if case.accelerated_on else last_instalment(case)
            assert LimitationEvent.objects.filter(case=case, kind="due", occurred_on=start, withdrawn_at__isnull=True).exists()
            counted = LimitationEvent.objects.filter(case=case, withdrawn_at__isnull=True, effect="counted")
            assert case.limitation_expires_on == add_years(max(e.occurred_on for e in counted), LIMITATION_YEARS)
            assert BalanceSnapshot.objects.filter(case=case, source__startswith="import:").exists()
        # Both readings of art. 189 appear: loans the lender accelerated (M4 and later), and loans still running on their schedule.
        assert any(c.accelerated_on for c in cases) and any(
            c.accelerated_on is None and last_instalment(c) > c.overdue_since for c in cases
        )


IMPORT_HEADERS = (
    "合同编号",
    "产品",
    "借款人姓名",
    "身份证号",
    "手机号",
    "地址",
    "地区",
    "借款金额",
    "放款日期",
    "年利率",
    "期限",
    "还款方式",
    "应还本金",
    "应还利息",
    "罚息",
    "费用",
    "逾期起始日",
    "最近还款日",
    "加速到期日",
)


@pytest.mark.django_db
def test_a_demo_case_carries_exactly_what_importing_its_row_gives(cast):
    """The demo's cases are imported, not built beside the import: the same row in a lender's own CSV file
    (Chinese headers) gives the same case, limitation events with their effects, expiry, snapshot and history."""
    from portal.intake import services as intake
    from portal.models import BalanceSnapshot, LimitationEvent

    seed(cast, cases=40)
    spec = cast.lenders[0]
    records = {
        r.contract_no: r
        for r in demo.generate_cases(
            seed=spec.seed,
            contract_prefix=spec.contract_prefix,
            count=40,
            today=timezone.localdate(),
            agency_slugs=tuple(p.slug for p in cast.agencies_for(lender_slug=spec.slug)),
        )
    }
    with tenant_context(lender(spec.slug)):
        unplaced = Case.objects.exclude(placements__isnull=False).filter(matter_loans__isnull=True).order_by("contract_no")
        chosen = {}  # one never-placed, never-escalated case (no payments) per repayment method and acceleration
        for case in unplaced:
            chosen.setdefault((case.repayment_method, case.accelerated_on is None), case)
        assert len(chosen) >= 3
        lines = [",".join(IMPORT_HEADERS)]
        for case in chosen.values():
            r = records[case.contract_no]
            cells = (
                f"{r.contract_no}-R",
                r.product,
                r.debtor_name,
                r.id_number,
                r.mobile,
                r.address,
                r.region,
                r.loan_amount,
                r.disbursed_on,
                r.annual_rate,
                r.term_months,
                r.repayment_method,
                r.principal_due,
                r.interest_due,
                r.penalty_due,
                r.fees_due,
                r.overdue_since,
                r.last_payment_on or "",
                r.accelerated_on or "",
            )
            lines.append(",".join(str(cell) for cell in cells))
        _batch, verdict = intake.import_now(content="\n".join(lines).encode(), original_name="lender.csv", commit=True)
        assert verdict.errors == [] and verdict.created == len(chosen)

        def facts(case):
            fields = (
                "product",
                "region",
                "loan_amount",
                "disbursed_on",
                "annual_rate",
                "term_months",
                "repayment_method",
                "principal_due",
                "interest_due",
                "penalty_due",
                "fees_due",
                "overdue_since",
                "last_payment_on",
                "accelerated_on",
                "status",
                "limitation_expires_on",
                "limitation_review",
                "debtor_id",
            )
            events = sorted(
                (e.kind, e.occurred_on, e.effect, e.source_type, e.withdrawn_at) for e in LimitationEvent.objects.filter(case=case)
            )
            snapshots = [
                (s.as_of, s.principal_due, s.interest_due, s.penalty_due, s.fees_due, s.source.split(":")[0])
                for s in BalanceSnapshot.objects.filter(case=case).order_by("as_of", "pk")
            ]
            history = [
                (event.pgh_label, "import" in (event.pgh_context.metadata if event.pgh_context else {}))
                for event in Case.pgh_event_model.objects.filter(pgh_obj_id=case.pk).select_related("pgh_context")
            ]
            return {name: getattr(case, name) for name in fields}, events, snapshots, history

        for case in chosen.values():
            imported = Case.objects.get(contract_no=f"{case.contract_no}-R")
            assert facts(case) == facts(imported)
            assert (("insert", True) in facts(case)[3]) and facts(case)[1]  # filed under the import's history context; evidence kept
            assert case.debtor.id_number == imported.debtor.id_number  # one borrower, found by the blind index


@pytest.mark.django_db
def test_the_command_refuses_when_a_lender_the_demo_did_not_create_exists(cast, world):
    """The demo's logins are public: seeding them next to a real lender's debtors would open its data to anyone."""
    with pytest.raises(CommandError, match="did not create") as refused:
        call_command("seed_demo", "--force", "--cases", "1", "--prefix", PREFIX, stdout=io.StringIO())
    assert "acme" in str(refused.value) and "beta" in str(refused.value)  # the test world's lenders are real to the demo
    assert not Organisation.objects.filter(slug__startswith=PREFIX).exists()


def test_a_lender_with_a_demo_slug_but_another_name_is_not_taken_for_the_demos(cast):
    from demo.management.commands.seed_demo import foreign_lenders

    own = [(spec.slug, spec.name) for spec in cast.lenders]
    assert foreign_lenders(cast=cast, existing=own) == []
    assert foreign_lenders(cast=cast, existing=own + [(f"{PREFIX}acme", "某真实银行")]) == [f"{PREFIX}acme"]


@pytest.mark.django_db
def test_seeding_again_over_the_demos_own_lenders_is_allowed(cast):
    seed(cast, cases=1)
    call_command("seed_demo", "--force", "--cases", "1", "--prefix", PREFIX, *BESIDE_WORLD, stdout=io.StringIO())


@pytest.mark.django_db
def test_each_lender_has_demo_matters_that_pass_pre_flight_and_one_builds_its_packet(cast):
    """seed_demo --json lists each lender's matters; every one is complete enough to build (issue 9 item 6):
    acme's with the engaged law firm, beta's in-house; the first builds a packet through the real service."""
    from litigation import packets, preflight
    from litigation.models import Matter, Stage

    seed(cast, cases=80)
    summary = demo.describe_demo(cast=cast)
    for tenant in summary["tenants"]:
        assert tenant["matters"], tenant["slug"]
        with tenant_context(lender(tenant["slug"])):
            matters = [Matter.objects.get(pk=matter_id) for matter_id in tenant["matters"]]
            assert {m.stage for m in matters} >= {Stage.ESCALATED, Stage.FILED}
            in_house = tenant["slug"].endswith("beta")
            assert all((m.firm_id is None) == in_house for m in matters)
            for matter in matters:
                assert preflight.blocking(matter) == [], (matter.number, [p.code for p in preflight.blocking(matter)])
            if not in_house:
                packet = packets.build_packet(matters[0])
                assert packets.packet_bytes(packet).startswith(b"%PDF") and packet.pages > 10
    seed(cast, cases=80)  # again: no new matters
    for tenant in demo.describe_demo(cast=cast)["tenants"]:
        with tenant_context(lender(tenant["slug"])):
            assert Matter.objects.count() == len(tenant["matters"])
