"""The cast every test works with (healthchecks' persona habit, for tenancy).

Two lenders (acme, beta); agency X engaged with both, agency Y engaged with
acme only and never placed, agency Z engaged with no one, law firm L engaged
with acme; a platform staff member. Canary cases carry unique markers so a
leak into any response is caught by a substring search.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import tenant_context

from outsourcing.models import Placement, PlacementStatus
from portal.models import Case, Debtor
from tenants import services
from tenants.models import ROLES_REQUIRING_2FA, EngagementStatus, LicenceKind, Role

PASSWORD = "persona-pass-2026"

# Valid GB 11643 numbers (checked by the test suite itself).
IDS = ["11010519491231002X", "440524198001010013", "31010119800101123X", "510104199203154563", "320102198507072310", "420106199011112343"]


@dataclass
class Persona:
    key: str
    email: str
    role: str
    org: str
    user: object = None
    device: object = None


@dataclass
class World:
    lenders: dict = field(default_factory=dict)
    orgs: dict = field(default_factory=dict)
    people: dict = field(default_factory=dict)
    cases: dict = field(default_factory=dict)
    canaries: dict = field(default_factory=dict)  # lender slug -> list of marker strings
    jobs: dict = field(default_factory=dict)
    certificate: object = None

    def host(self, lender_slug):
        return f"{lender_slug}.localhost"


CAST = [
    # key, org, role
    ("platform", "platform", Role.PLATFORM_STAFF),
    ("acme_admin", "acme", Role.LENDER_ADMIN),
    ("acme_manager", "acme", Role.COLLECTIONS_MANAGER),
    ("acme_legal", "acme", Role.LEGAL_MANAGER),
    ("acme_finance", "acme", Role.FINANCE),
    ("acme_lawyer", "acme", Role.LAWYER),
    ("beta_admin", "beta", Role.LENDER_ADMIN),
    ("beta_manager", "beta", Role.COLLECTIONS_MANAGER),
    ("x_admin", "xagency", Role.AGENCY_ADMIN),
    ("x_collector", "xagency", Role.COLLECTOR),
    ("x_collector2", "xagency", Role.COLLECTOR),
    ("y_admin", "yagency", Role.AGENCY_ADMIN),
    ("y_collector", "yagency", Role.COLLECTOR),
    ("z_admin", "zagency", Role.AGENCY_ADMIN),
    ("l_lawyer", "lfirm", Role.LAWYER),
    ("l_paralegal", "lfirm", Role.PARALEGAL),
]


def _case(contract_no, name, id_number, marker, dpd):
    debtor = Debtor(name=name, mobile="13800138000", address=f"上海市浦东新区世纪大道{marker}")
    debtor.set_id_number(id_number)
    debtor.save()
    return Case.objects.create(
        debtor=debtor,
        contract_no=contract_no,
        product="随心贷",
        loan_amount=Decimal("20000.00"),
        principal_due=Decimal("15000.00"),
        interest_due=Decimal("812.35"),
        overdue_since=timezone.localdate() - datetime.timedelta(days=dpd),
    )


def build_world() -> World:
    world = World()
    platform = services.ensure_public_tenant()
    world.orgs["platform"] = platform.organisation
    for slug, name in [("acme", "安信消费金融 Acme"), ("beta", "百信小贷 Beta")]:
        lender = services.create_lender(slug=slug, name=name)
        world.lenders[slug] = lender
        world.orgs[slug] = lender.organisation
    today = timezone.localdate()
    for slug, name, kind in [
        ("xagency", "迅达催收 X", "agency"),
        ("yagency", "远航催收 Y", "agency"),
        ("zagency", "正信催收 Z", "agency"),
        ("lfirm", "律正律师事务所 L", "law_firm"),
    ]:
        org = services.create_organisation(slug=slug, name=name, kind=kind)
        licence = services.add_licence(
            organisation=org,
            kind=LicenceKind.COLLECTION if kind == "agency" else LicenceKind.LAW_FIRM,
            number=f"LIC-{slug}",
            issuing_authority="上海市地方金融监督管理局",
            valid_from=today - datetime.timedelta(days=365),
            valid_to=today + datetime.timedelta(days=365),
        )
        world.orgs[slug] = org
        world.orgs[slug + "_licence"] = licence
    for key, org_slug, role in CAST:
        email = f"{key}@personas.test"
        membership = services.add_member(organisation=world.orgs[org_slug], email=email, full_name=key, role=role, password=PASSWORD)
        persona = Persona(key=key, email=email, role=role, org=org_slug, user=membership.user)
        if (
            role in (Role.PLATFORM_STAFF, Role.LENDER_ADMIN) or role in ROLES_REQUIRING_2FA
        ):  # every persona whose role requires 2FA has a device
            persona.device = TOTPDevice.objects.create(user=membership.user, name="test", confirmed=True)
        world.people[key] = persona
    from tenants.models import Membership, PractitionerCertificate

    world.certificate = PractitionerCertificate.objects.create(
        membership=Membership.objects.get(user=world.people["x_collector"].user),
        number="CERT-X-001",
        issuing_authority="中国银行业协会",
        valid_to=today + datetime.timedelta(days=365),
    )
    for slug in ("xagency", "yagency", "zagency", "lfirm"):
        services.verify_licence(licence=world.orgs[slug + "_licence"], by=world.people["platform"].user)
    for lender_slug, partner_slug in [("acme", "xagency"), ("beta", "xagency"), ("acme", "yagency"), ("acme", "lfirm")]:
        engagement = services.engage_partner(lender=world.lenders[lender_slug], partner=world.orgs[partner_slug])
        services.set_engagement_status(engagement=engagement, status=EngagementStatus.ACTIVE)

    now = timezone.now()
    x, y = world.orgs["xagency"], world.orgs["yagency"]
    with tenant_context(world.lenders["acme"]):
        placed = _case("ACME-CANARY-001", "甲金丝雀", IDS[0], "CANARY-ACME-7F3A", 45)
        Placement.objects.create(
            case=placed, partner=x, assigned_to=world.people["x_collector"].user, ends_at=now + datetime.timedelta(days=30)
        )
        unassigned = _case("ACME-CANARY-002", "乙金丝雀", IDS[1], "CANARY-ACME-8B21", 95)
        Placement.objects.create(case=unassigned, partner=x, ends_at=now + datetime.timedelta(days=30))
        unplaced = _case("ACME-CANARY-003", "丙金丝雀", IDS[2], "CANARY-ACME-9C44", 200)
        recalled = _case("ACME-CANARY-004", "丁金丝雀", IDS[3], "CANARY-ACME-0D57", 20)
        Placement.objects.create(
            case=recalled,
            partner=y,
            status=PlacementStatus.RECALLED,
            starts_at=now - datetime.timedelta(days=20),
            ends_at=now + datetime.timedelta(days=10),
            ended_at=now - datetime.timedelta(days=1),
        )
        world.cases.update({"acme_placed": placed, "acme_unassigned": unassigned, "acme_unplaced": unplaced, "acme_recalled": recalled})
    with tenant_context(world.lenders["beta"]):
        beta_case = _case("BETA-CANARY-001", "戊金丝雀", IDS[4], "CANARY-BETA-1E68", 60)
        Placement.objects.create(
            case=beta_case, partner=x, assigned_to=world.people["x_collector"].user, ends_at=now + datetime.timedelta(days=30)
        )
        world.cases["beta_placed"] = beta_case
    with tenant_context(world.lenders["acme"]):
        from django.core.files.base import ContentFile

        from portal.jobs.models import Job, JobStatus

        job = Job.objects.create(
            kind="audit_export",
            status=JobStatus.DONE,
            progress=100,
            result_name="audit.csv",
            created_by_id=world.people["acme_admin"].user.pk,
            organisation_id=world.orgs["acme"].pk,
        )
        job.result.save("audit.csv", ContentFile(b"at,actor\nCANARY-ACME-JOB,acme_admin\n"), save=True)
        world.jobs = {"acme": job}
    world.canaries = {
        "acme": ["ACME-CANARY", "甲金丝雀", "乙金丝雀", "丙金丝雀", "丁金丝雀", "CANARY-ACME", IDS[0], IDS[1], IDS[2], IDS[3]],
        "beta": ["BETA-CANARY", "CANARY-BETA", IDS[4], "戊金丝雀"],
    }
    return world
