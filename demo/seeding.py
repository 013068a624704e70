"""Demo data (演示数据): two lenders, their partners, a login for every role, realistic cases.

Two halves. Generation is pure: ``generate_cases`` turns a seed into Chinese
consumer-loan cases (names, GB 11643 ID numbers, mobiles, addresses, balances,
placement plans) and touches no database, so the same seed always yields the
same portfolio. Writing is idempotent: ``seed_demo`` looks everything up by
its natural key (organisation slug, e-mail, licence number, contract number,
the debtor's blind index) and creates only what is missing, so it can run on
every ``make demo``. It writes through the services real work uses, so demo
data cannot drift from real data: cases are imported as a lender's file is
(``portal.intake.services.import_now``: checks, encryption, blind index,
limitation evidence, balance snapshots, history), placements and recalls are
made by ``outsourcing.placement`` on back-dated days, assignments by the
workbench, money by the payment and statement services. ``describe_demo``
reads back what a person or a test harness needs to sign in.

The demo's passwords and TOTP keys are public by design: never seed a
production database (the command refuses unless DEBUG is on or it is forced).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import random
import time
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.crypto import RANDOM_STRING_CHARS
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import tenant_context

# The demo sits above every app (.importlinter): it writes through their services, as a person or a lender's file would.
from demo import litigation as demo_litigation
from outsourcing import agreements, placement as placing, statements
from outsourcing.models import BUCKETS, ROUNDS, Agreement, Placement, PlacementStatus, Statement, StatementStatus
from outsourcing.workbench import services as workbench_services
from outsourcing.workbench.models import FieldVisitRequest, VisitReason
from outsourcing.workbench.services import assign_cases
from portal import access
from portal.fees import services as fee_services
from portal.intake import services as intake
from portal.intake.models import BatchSource
from portal.lib import idnumber
from portal.lib.money import to_fen
from portal.lib.months import add_months, previous_month
from portal.models import Case, RepaymentMethod, bucket_for
from portal.payments import services as payment_services
from portal.payments.models import Dispute, Payment, PaymentReport, PaymentReversal, PaymentSource, ReversalReason
from tenants import services
from tenants.models import (
    ROLES_REQUIRING_2FA,
    Engagement,
    EngagementStatus,
    Lender,
    LicenceKind,
    LicenceStatus,
    Organisation,
    OrganisationKind,
    Role,
    User,
)

# One shared password for every demo login; passes AUTH_PASSWORD_VALIDATORS.
DEMO_PASSWORD = "Caseport-demo-2026"
DEMO_DEVICE_NAME = "demo"
EMAIL_DOMAIN = "demo"
DEFAULT_CASES_PER_LENDER = 200
PLACED_SHARE = 0.35  # share of a lender's cases handed to agencies (委外)
RECALLED_SHARE = 0.08  # of those, recalled (撤案) before the term ended


# ------------------------------------------------------------------ the cast
@dataclass(frozen=True)
class PersonSpec:
    mailbox: str  # the part before @
    role: str


@dataclass(frozen=True)
class LenderSpec:
    slug: str
    name: str
    contract_prefix: str  # 合同编号前缀
    seed: str  # fixed per lender, so reruns generate the same portfolio
    people: tuple[PersonSpec, ...]


@dataclass(frozen=True)
class PartnerSpec:
    slug: str
    name: str
    kind: str
    credit_code: str  # 统一社会信用代码
    licence_number: str
    issuing_authority: str
    licence_scope: str
    licence_regions: str
    engaged_with: tuple[str, ...]  # lender slugs
    people: tuple[PersonSpec, ...]


@dataclass(frozen=True)
class Cast:
    platform_mailbox_domain: str
    platform_people: tuple[PersonSpec, ...]
    lenders: tuple[LenderSpec, ...]
    partners: tuple[PartnerSpec, ...]
    password: str = DEMO_PASSWORD

    def email(self, *, mailbox: str, org_slug: str) -> str:
        return f"{mailbox}@{org_slug}.{EMAIL_DOMAIN}"

    def platform_email(self, *, mailbox: str) -> str:
        return f"{mailbox}@{self.platform_mailbox_domain}.{EMAIL_DOMAIN}"

    def agencies_for(self, *, lender_slug: str) -> list[PartnerSpec]:
        return [p for p in self.partners if p.kind == OrganisationKind.AGENCY and lender_slug in p.engaged_with]


def credit_code(*, head: str, body: str) -> str:
    """A unified social credit code (统一社会信用代码, GB 32100-2015) with valid check characters.

    ``head`` is the registration authority, type and 6-digit region (8 chars);
    ``body`` the first 8 digits of the organisation code (GB 11714 adds its check digit).
    """
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    check = 11 - sum(int(c, 36) * w for c, w in zip(body, weights, strict=True)) % 11  # A–Z count 10–35
    org_code = body + {10: "X", 11: "0"}.get(check, str(check))
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    first17 = head + org_code
    total = sum(alphabet.index(c) * pow(3, i, 31) for i, c in enumerate(first17)) % 31
    return first17 + alphabet[(31 - total) % 31]


def demo_cast(*, prefix: str = "") -> Cast:
    """The demo's organisations and people. ``prefix`` renames every slug (tests use it
    so they never collide with the acme/beta of the test world)."""
    acme, beta = f"{prefix}acme", f"{prefix}beta"
    law_firm_code = credit_code(head="31310000", body="42598763")  # 31: 司法行政机关登记的律师事务所
    lender_people = (
        PersonSpec("admin", Role.LENDER_ADMIN),
        PersonSpec("manager", Role.COLLECTIONS_MANAGER),
        PersonSpec("legal", Role.LEGAL_MANAGER),
        PersonSpec("finance", Role.FINANCE),
    )
    agency_people = (
        PersonSpec("admin", Role.AGENCY_ADMIN),
        PersonSpec("collector1", Role.COLLECTOR),
        PersonSpec("collector2", Role.COLLECTOR),
    )
    return Cast(
        platform_mailbox_domain=f"{prefix}caseport",
        platform_people=(PersonSpec("staff", Role.PLATFORM_STAFF),),
        lenders=(
            LenderSpec(slug=acme, name="安信消费金融", contract_prefix="AX", seed="caseport-demo:acme", people=lender_people),
            LenderSpec(slug=beta, name="百信小额贷款", contract_prefix="BX", seed="caseport-demo:beta", people=lender_people),
        ),
        partners=(
            PartnerSpec(
                slug=f"{prefix}xunda",
                name="上海迅达商务咨询有限公司",
                kind=OrganisationKind.AGENCY,
                credit_code=credit_code(head="91310115", body="MA1FL3K7"),
                licence_number="沪金催备〔2025〕0117号",
                issuing_authority="上海市地方金融管理局",
                licence_scope="委外催收服务（电话催收、信函催收）",
                licence_regions="上海市,江苏省,浙江省,广东省",
                engaged_with=(acme, beta),
                people=agency_people,
            ),
            PartnerSpec(
                slug=f"{prefix}yuanhang",
                name="深圳远航信息咨询有限公司",
                kind=OrganisationKind.AGENCY,
                credit_code=credit_code(head="91440300", body="MA5G2Q8N"),
                licence_number="深金催备〔2025〕0342号",
                issuing_authority="深圳市地方金融管理局",
                licence_scope="委外催收服务（电话催收）",
                licence_regions="广东省,湖南省,四川省,福建省",
                engaged_with=(acme,),
                people=agency_people,
            ),
            PartnerSpec(
                slug=f"{prefix}lvzheng",
                name="上海律正律师事务所",
                kind=OrganisationKind.LAW_FIRM,
                credit_code=law_firm_code,
                licence_number=law_firm_code,
                issuing_authority="上海市司法局",  # 执业许可证号 = 统一社会信用代码
                licence_scope="诉讼及非诉讼法律事务",
                licence_regions="上海市",
                engaged_with=(acme,),
                people=(PersonSpec("lawyer", Role.LAWYER), PersonSpec("paralegal", Role.PARALEGAL)),
            ),
        ),
    )


# ------------------------------------------------------- reference data (pure)
@dataclass(frozen=True)
class Region:
    province: str
    city: str  # empty for the municipalities (直辖市), whose province is the city
    district: str
    code: str  # 行政区划代码, the first six digits of a resident's ID number
    streets: tuple[str, ...]

    @property
    def label(self) -> str:
        return self.province + self.city

    @property
    def prefix(self) -> str:
        return self.province + self.city + self.district


REGIONS = (
    Region("上海市", "", "浦东新区", "310115", ("世纪大道", "张杨路", "浦东南路", "锦绣路")),
    Region("上海市", "", "徐汇区", "310104", ("漕溪北路", "肇嘉浜路", "虹桥路", "天钥桥路")),
    Region("北京市", "", "朝阳区", "110105", ("建国路", "朝阳北路", "望京街", "东三环中路")),
    Region("北京市", "", "海淀区", "110108", ("中关村大街", "学院路", "知春路", "西三环北路")),
    Region("天津市", "", "南开区", "120104", ("鞍山西道", "卫津路", "南门外大街")),
    Region("重庆市", "", "渝北区", "500112", ("金开大道", "红锦大道", "龙山大道")),
    Region("广东省", "广州市", "天河区", "440106", ("天河路", "体育西路", "黄埔大道西", "中山大道西")),
    Region("广东省", "深圳市", "南山区", "440305", ("深南大道", "南海大道", "科苑路", "桃园路")),
    Region("广东省", "深圳市", "福田区", "440304", ("福华路", "益田路", "彩田路", "红荔路")),
    Region("浙江省", "杭州市", "西湖区", "330106", ("文三路", "天目山路", "教工路", "古墩路")),
    Region("江苏省", "南京市", "鼓楼区", "320106", ("中山北路", "湖南路", "北京西路")),
    Region("江苏省", "苏州市", "姑苏区", "320508", ("人民路", "干将西路", "十全街")),
    Region("四川省", "成都市", "武侯区", "510107", ("人民南路四段", "科华北路", "武侯祠大街")),
    Region("湖北省", "武汉市", "洪山区", "420111", ("珞喻路", "鲁磨路", "雄楚大道")),
    Region("湖南省", "长沙市", "岳麓区", "430104", ("麓山南路", "枫林三路", "桐梓坡路")),
    Region("河南省", "郑州市", "金水区", "410105", ("花园路", "文化路", "经三路")),
    Region("山东省", "济南市", "历下区", "370102", ("泉城路", "经十路", "解放路")),
    Region("陕西省", "西安市", "雁塔区", "610113", ("小寨东路", "长安南路", "雁塔路")),
    Region("福建省", "厦门市", "思明区", "350203", ("中山路", "厦禾路", "湖滨南路")),
    Region("安徽省", "合肥市", "蜀山区", "340104", ("长江西路", "黄山路", "望江西路")),
)
# Home towns (籍贯) of people who moved to the cities above: an ID number keeps
# the address code of where it was first issued.
HOMETOWN_CODES = ("411602", "341202", "511302", "430502", "360702", "450103", "370102", "420111")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛段雷龙黎史陶贺毛郝顾龚邵万武钱戴严孔向常汤康易乔赖文"
GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆旭宁龙林阳建国志文海峰亮成东博晨轩然振"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀玲英萍红燕婷雪琳慧颖倩洁佳欣悦怡梅莉丹蓉晶琪薇月璐瑶婧"
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "173",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
)
COMPOUNDS = ("阳光花园", "锦绣家园", "金色家园", "翠苑小区", "幸福里", "华府世家", "绿城桂花园", "万科城", "碧桂园", "保利花园")


@dataclass(frozen=True)
class Product:
    name: str
    code: str
    min_amount: int  # yuan, multiples of 100
    max_amount: int
    terms: tuple[int, ...]  # months (期数)
    rate_bp: tuple[int, int]  # annual rate range in basis points
    late_fee: Decimal  # 逾期管理费 per overdue instalment
    method: str  # RepaymentMethod value (还款方式)


PRODUCTS = (
    Product(
        "随心贷", "SXD", 3_000, 50_000, (6, 12, 24), (1500, 2400), Decimal("30.00"), RepaymentMethod.EQUAL_INSTALMENTS.value
    ),  # 等额本息
    Product(
        "薪享贷", "XXD", 10_000, 100_000, (12, 24, 36), (1000, 1800), Decimal("50.00"), RepaymentMethod.EQUAL_PRINCIPAL.value
    ),  # 等额本金
    Product("消费分期", "XFFQ", 3_000, 30_000, (3, 6, 12), (1200, 2400), Decimal("20.00"), RepaymentMethod.EQUAL_INSTALMENTS.value),
    Product("车主贷", "CZD", 30_000, 200_000, (12, 24, 36), (800, 1500), Decimal("0.00"), RepaymentMethod.INTEREST_ONLY.value),  # 先息后本
)
PRODUCT_WEIGHTS = (40, 25, 25, 10)
# Days past due by bucket (账龄), weighted as a lender's outsourced book looks:
# many early, a long M6+ tail.
BUCKET_DPD = (("M1", 1, 30), ("M2", 31, 60), ("M3", 61, 90), ("M4", 91, 120), ("M5", 121, 150), ("M6+", 151, 400))
BUCKET_WEIGHTS = (22, 18, 15, 12, 10, 23)
LATE_FEE_CAP_INSTALMENTS = 10
# Past this many days overdue the demo lenders declare the whole loan due (宣布提前到期); the limitation
# period then runs from that day (民法典 art. 189 read with the loan contract's acceleration clause).
ACCELERATE_AFTER_DAYS = 90


# ------------------------------------------------------------ generation (pure)
@dataclass(frozen=True)
class PlacementPlan:
    """Where a case goes (委案计划): which agency, which collector, whether it was recalled.

    The term is the agreement's (placement.place_cases); the plan says only when the case was placed, always
    after it fell overdue (only overdue cases go to an agency), and for a recall when it was recalled."""

    agency_slug: str
    collector_index: int | None  # into the agency's collectors; None: not yet assigned
    recalled: bool
    started_days_ago: int  # 0: placed today; always less than the case's days past due
    ended_days_after_start: int = 0  # recalled: the recall came this many days after the start, before today


@dataclass(frozen=True)
class DemoCase:
    contract_no: str
    debtor_name: str
    id_number: str
    mobile: str
    address: str
    product: str
    region: str
    loan_amount: Decimal
    principal_due: Decimal
    interest_due: Decimal
    penalty_due: Decimal
    fees_due: Decimal
    disbursed_on: datetime.date
    overdue_since: datetime.date
    dpd: int
    placement: PlacementPlan | None
    annual_rate: Decimal = Decimal("0.00")  # percent, as the template takes it (18.25 means 18.25%)
    term_months: int | None = None
    repayment_method: str = ""  # RepaymentMethod value
    last_payment_on: datetime.date | None = None  # the last instalment paid before the default
    accelerated_on: datetime.date | None = None  # 宣布提前到期

    @property
    def bucket(self) -> str:
        return bucket_for(self.dpd)


@dataclass(frozen=True)
class _Person:
    name: str
    id_number: str
    mobile: str
    address: str
    region: Region


def person_name(*, rng: random.Random, male: bool) -> str:
    chars = GIVEN_MALE if male else GIVEN_FEMALE
    given = rng.choice(chars) if rng.random() < 0.3 else rng.choice(chars) + rng.choice(chars)
    return rng.choice(SURNAMES) + given


def id_number(*, rng: random.Random, region_code: str, male: bool) -> str:
    """A resident ID number (GB 11643): region, birth date 1965–2002, sequence (odd for men), check."""
    born = datetime.date(1965, 1, 1) + datetime.timedelta(
        days=rng.randrange((datetime.date(2002, 12, 31) - datetime.date(1965, 1, 1)).days + 1)
    )
    sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)
    sequence = sequence if sequence else 2
    first17 = f"{region_code}{born:%Y%m%d}{sequence:03d}"
    return first17 + idnumber.check_char(first17)


def mobile_number(*, rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def street_address(*, rng: random.Random, region: Region) -> str:
    floor = rng.randint(1, 32)
    return (
        f"{region.prefix}{rng.choice(region.streets)}{rng.randint(1, 2000)}号"
        f"{rng.choice(COMPOUNDS)}{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{floor}{rng.randint(1, 6):02d}室"
    )


def _new_person(*, rng: random.Random, taken_ids: set[str]) -> _Person:
    male = rng.random() < 0.58
    region = rng.choice(REGIONS)
    while True:
        code = region.code if rng.random() < 0.7 else rng.choice(HOMETOWN_CODES)
        number = id_number(rng=rng, region_code=code, male=male)
        if number not in taken_ids:
            taken_ids.add(number)
            break
    return _Person(person_name(rng=rng, male=male), number, mobile_number(rng=rng), street_address(rng=rng, region=region), region)


@dataclass(frozen=True)
class _Loan:
    loan_amount: Decimal
    principal_due: Decimal
    interest_due: Decimal
    penalty_due: Decimal
    fees_due: Decimal
    paid: int  # 已还期数
    term: int  # 期数 (months)
    rate: Decimal  # annual, a fraction


def _balances(*, rng: random.Random, product: Product, dpd: int) -> _Loan:
    """Loan amount and what is owed: remaining principal (all of it for an interest-first loan), contractual
    interest on the overdue instalments, penalty interest (罚息) at 1.5× the contract rate on
    the overdue principal per day, and the product's late fee per overdue instalment."""
    loan_amount = to_fen(rng.randrange(product.min_amount // 100, product.max_amount // 100 + 1) * 100)
    term = rng.choice(product.terms)
    paid = rng.randrange(term)  # 已还期数; 0 means the first instalment was never paid (首逾)
    remaining = term - paid
    overdue_instalments = min(remaining, (dpd - 1) // 30 + 1)
    rate = Decimal(rng.randint(*product.rate_bp)) / Decimal(10_000)
    interest_first = product.method == RepaymentMethod.INTEREST_ONLY
    principal_due = loan_amount if interest_first else to_fen(loan_amount * remaining / term)  # 先息后本: principal at maturity
    overdue_principal = loan_amount * overdue_instalments / term
    interest_due = to_fen(principal_due * rate / 12 * overdue_instalments)
    penalty_due = to_fen(overdue_principal * rate * Decimal("1.5") / 360 * dpd)
    fees_due = to_fen(product.late_fee * min(overdue_instalments, LATE_FEE_CAP_INSTALMENTS))
    return _Loan(loan_amount, principal_due, interest_due, penalty_due, fees_due, paid, term, rate)


def _placement_plan(*, rng: random.Random, agency_slugs: tuple[str, ...], active_counts: dict[str, int], dpd: int) -> PlacementPlan | None:
    """Place about a third of the cases; every other active placement of an agency goes to one
    of its collectors in turn (分案到人), the rest wait in the agency's unassigned pool.

    A case is placed only once it is overdue (placement refuses a case not overdue on the day of placement), so
    the start is at most ``dpd - 1`` days ago; a case too recently overdue for a start-and-recall before today is
    placed and kept instead of recalled."""
    if not agency_slugs or rng.random() >= PLACED_SHARE:
        return None
    agency = rng.choice(agency_slugs)
    if rng.random() < RECALLED_SHARE:
        started = min(rng.randint(40, 80), dpd - 1)
        ended = min(rng.randint(5, 30), started - 1)
        if ended >= 1:
            return PlacementPlan(agency, None, True, started, ended_days_after_start=ended)
    nth = active_counts[agency] = active_counts.get(agency, 0) + 1
    collector = (nth // 2) % 2 if nth % 2 else None
    return PlacementPlan(agency, collector, False, min(rng.randint(1, 7), dpd - 1))


def generate_cases(*, seed: str, contract_prefix: str, count: int, today: datetime.date, agency_slugs: tuple[str, ...]) -> list[DemoCase]:
    """``count`` cases for one lender, the same for the same seed (case *i* does not depend on ``count``)."""
    rng = random.Random(seed)
    people: list[_Person] = []
    taken_ids: set[str] = set()
    active_counts: dict[str, int] = {}
    cases = []
    for index in range(count):
        # About one borrower in twenty holds a second product with the same lender.
        if people and rng.random() < 0.05:
            person = rng.choice(people)
        else:
            person = _new_person(rng=rng, taken_ids=taken_ids)
            people.append(person)
        product = rng.choices(PRODUCTS, weights=PRODUCT_WEIGHTS)[0]
        # The first six cases cover every bucket, so even a tiny demo shows M1…M6+.
        bucket = BUCKET_DPD[index] if index < len(BUCKET_DPD) else rng.choices(BUCKET_DPD, weights=BUCKET_WEIGHTS)[0]
        dpd = rng.randint(bucket[1], bucket[2])
        overdue_since = today - datetime.timedelta(days=dpd)
        loan = _balances(rng=rng, product=product, dpd=dpd)
        cases.append(
            DemoCase(
                contract_no=f"{contract_prefix}-{product.code}-{index + 1:06d}",
                debtor_name=person.name,
                id_number=person.id_number,
                mobile=person.mobile,
                address=person.address,
                product=product.name,
                region=person.region.label,
                loan_amount=loan.loan_amount,
                principal_due=loan.principal_due,
                interest_due=loan.interest_due,
                penalty_due=loan.penalty_due,
                fees_due=loan.fees_due,
                # The first missed instalment is the (paid + 1)th monthly one.
                disbursed_on=add_months(overdue_since, -(loan.paid + 1)),
                overdue_since=overdue_since,
                dpd=dpd,
                placement=_placement_plan(rng=rng, agency_slugs=agency_slugs, active_counts=active_counts, dpd=dpd),
                annual_rate=(loan.rate * 100).quantize(Decimal("0.01")),
                term_months=loan.term,
                repayment_method=product.method,
                last_payment_on=add_months(overdue_since, -1) if loan.paid else None,
                accelerated_on=overdue_since + datetime.timedelta(days=ACCELERATE_AFTER_DAYS) if dpd > ACCELERATE_AFTER_DAYS else None,
            )
        )
    return cases


def totp_key_for(*, email: str) -> str:
    """A fixed TOTP key (40 hex characters) derived from the e-mail: the demo is reproducible."""
    return hashlib.sha1(email.lower().encode()).hexdigest()[:40]


# ------------------------------------------------------------------- writing
@dataclass
class LenderReport:
    slug: str
    cases: int = 0
    cases_created: int = 0
    placements: int = 0
    placements_created: int = 0
    payments: int = 0
    statements: int = 0
    matters_created: int = 0
    billing: str = ""  # the subscription's status with the demo's Stripe


@dataclass
class SeedReport:
    lenders: list[LenderReport] = field(default_factory=list)
    users_created: int = 0


def demo_password_hash(*, password: str) -> str:
    """The demo password hashed once, with a salt derived from it (hashing is the slow part).

    A fixed salt is harmless here, the password being public; it makes the
    hash stable, so a rerun sees the accounts already have it and writes nothing.
    """
    digest = hashlib.sha256(f"caseport-demo:{password}".encode()).digest()
    salt = "".join(RANDOM_STRING_CHARS[byte % len(RANDOM_STRING_CHARS)] for byte in digest[:22])
    return make_password(password, salt=salt)


def _ensure_person(*, organisation: Organisation, email: str, role: str, password_hash: str, report: SeedReport) -> User:
    """The member with that role; an existing demo account gets the demo password back."""
    existing = User.objects.filter(email=email).first()
    rng = random.Random(email)  # the same name for the same login, run after run
    # No password here: the demo hash is set below, saving a slow hash per person.
    membership = services.add_member(
        organisation=organisation,
        email=email,
        role=role,
        password=None,
        full_name=person_name(rng=rng, male=rng.random() < 0.5),
    )
    user = membership.user
    if existing is None:
        report.users_created += 1
    if user.password != password_hash:
        user.password = password_hash
        user.save(update_fields=["password"])
    if role in ROLES_REQUIRING_2FA:
        _ensure_demo_device(user=user)
    return user


def _ensure_demo_device(*, user: User) -> TOTPDevice:
    key = totp_key_for(email=user.email)
    device = TOTPDevice.objects.filter(user=user, name=DEMO_DEVICE_NAME).first()
    if device is None:
        return TOTPDevice.objects.create(user=user, name=DEMO_DEVICE_NAME, key=key, confirmed=True)
    if device.key != key or not device.confirmed or device.throttling_failure_count:
        device.key, device.confirmed = key, True
        device.throttle_reset(commit=False)
        device.save()
    return device


def _ensure_lender(*, spec: LenderSpec) -> Lender:
    org = Organisation.objects.filter(slug=spec.slug).first()
    if org is None:
        return services.create_lender(slug=spec.slug, name=spec.name)
    lender = Lender.objects.filter(organisation=org, is_template=False).first()
    if lender is None:
        raise ValidationError(f"the slug {spec.slug!r} belongs to an organisation that is not a lender")
    return lender


def _ensure_partner(*, spec: PartnerSpec) -> Organisation:
    org = Organisation.objects.filter(slug=spec.slug).first()
    if org is None:
        return services.create_organisation(slug=spec.slug, name=spec.name, kind=spec.kind, credit_code=spec.credit_code)
    if org.kind != spec.kind:
        raise ValidationError(f"the slug {spec.slug!r} belongs to an organisation of another kind")
    return org


def _ensure_licence(*, org: Organisation, spec: PartnerSpec, today: datetime.date, verifier: User) -> None:
    """A verified licence valid today (资质审核): reuse one, else verify ours, else add ours."""
    kind = LicenceKind.COLLECTION if spec.kind == OrganisationKind.AGENCY else LicenceKind.LAW_FIRM
    in_force = org.licences.filter(kind=kind, valid_from__lte=today, valid_to__gte=today)
    if in_force.filter(status=LicenceStatus.VERIFIED).exists():
        return
    licence = in_force.filter(number=spec.licence_number).first()
    if licence is None:
        number = spec.licence_number
        if org.licences.filter(kind=kind, number=number).exists():  # ours, but lapsed
            number = f"{number}-{today:%Y%m%d}"
        licence = services.add_licence(
            organisation=org,
            kind=kind,
            number=number,
            issuing_authority=spec.issuing_authority,
            scope=spec.licence_scope,
            regions=spec.licence_regions,
            valid_from=today - datetime.timedelta(days=400),
            valid_to=add_months(today, 36),
        )
    services.verify_licence(licence=licence, by=verifier)


def _ensure_engagement(*, lender: Lender, partner: Organisation) -> None:
    engagement = Engagement.objects.filter(lender=lender, partner=partner).first()
    if engagement is None:
        engagement = services.engage_partner(lender=lender, partner=partner, note="演示数据")
    if engagement.status in (EngagementStatus.PENDING, EngagementStatus.SUSPENDED):
        services.set_engagement_status(engagement=engagement, status=EngagementStatus.ACTIVE)
    # An ended engagement stays ended (they are never reopened); its cases stay in-house.


def import_row(record: DemoCase) -> dict:
    """The case as a lender's file hands it over: one row of the canonical import template (portal/intake/columns.py)."""

    def day(value):
        return value.isoformat() if value else ""

    return {
        "contract_no": record.contract_no,
        "product": record.product,
        "borrower_name": record.debtor_name,
        "id_number": record.id_number,
        "mobile": record.mobile,
        "address": record.address,
        "region": record.region,
        "loan_amount": str(record.loan_amount),
        "disbursed_on": day(record.disbursed_on),
        "annual_rate": str(record.annual_rate),
        "term_months": str(record.term_months or ""),
        "repayment_method": record.repayment_method,
        "principal_due": str(record.principal_due),
        "interest_due": str(record.interest_due),
        "penalty_due": str(record.penalty_due),
        "fees_due": str(record.fees_due),
        "overdue_since": day(record.overdue_since),
        "last_payment_on": day(record.last_payment_on),
        "accelerated_on": day(record.accelerated_on),
    }


class DemoDataRefused(ValidationError):
    """The import refused rows the demo generated: the generator and the intake rules disagree."""


def _write_cases(*, records: list[DemoCase], report: LenderReport, lender_slug: str, imported_by: User | None) -> dict[str, Case]:
    """The cases missing from the lender's schema, imported exactly as a lender's file is (intake.import_now): the same
    checks, encryption and blind index, limitation evidence (art. 188/189) with its effects, balance snapshots and
    history. Cases already there (by contract number) are left alone, so a re-run imports nothing."""
    existing = set(Case.objects.filter(contract_no__in=[r.contract_no for r in records]).values_list("contract_no", flat=True))
    missing = [r for r in records if r.contract_no not in existing]
    if missing:
        content = json.dumps([import_row(r) for r in missing], ensure_ascii=False).encode()
        _batch, verdict = intake.import_now(
            content=content,
            original_name=f"demo-{lender_slug}.json",
            commit=True,
            json_rows=True,
            source=BatchSource.COMMAND,
            created_by=imported_by,
        )
        if verdict.errors:
            raise DemoDataRefused("; ".join(f"{missing[e.row - 2].contract_no} {e.column}: {e.message}" for e in verdict.errors[:5]))
        report.cases_created = verdict.created
    return {c.contract_no: c for c in Case.objects.filter(contract_no__in=[r.contract_no for r in records])}


RECALL_REASON = "演示数据：案件调回内催"


def _write_placements(
    *,
    records: list[DemoCase],
    cases: dict[str, Case],
    agencies: dict[str, Organisation],
    collectors: dict[str, list[User]],
    placed_by: User | None,
    agency_admins: dict[str, User],
    now: datetime.datetime,
    report: LenderReport,
) -> None:
    """Placements (委案) of planned cases that have never been placed, with eligible agencies only, through the
    placement service as a collections manager would have made them: history is replayed in date order (each
    placement day's cases per agency in one ``place_cases(now=that day)``, each recall with ``recall_placements(now=...)``),
    so terms, rate cells, rounds, buckets and statuses are the service's. Then each agency's admin hands every
    other active case to a collector (workbench.assign_cases)."""
    planned = [r for r in records if r.placement is not None and r.placement.agency_slug in agencies]
    already = set(
        Placement.objects.filter(case__contract_no__in=[r.contract_no for r in planned]).values_list("case__contract_no", flat=True)
    )
    todo = [r for r in planned if r.contract_no not in already]
    # (when, order, action): placements before recalls at the same instant; recalls come after their placement by ≥ 1 day.
    events: dict[tuple, list[DemoCase]] = {}
    for record in todo:
        plan = record.placement
        events.setdefault((now - datetime.timedelta(days=plan.started_days_ago), 0, plan.agency_slug), []).append(record)
        if plan.recalled:
            recalled_at = now - datetime.timedelta(days=plan.started_days_ago - plan.ended_days_after_start)
            events.setdefault((recalled_at, 1, ""), []).append(record)
    created = 0
    for (when, order, agency_slug), batch in sorted(events.items()):
        case_ids = [cases[r.contract_no].pk for r in batch]
        if order == 0:
            created += len(placing.place_cases(cases=case_ids, partner=agencies[agency_slug], placed_by=placed_by, now=when))
        else:
            in_force = Placement.objects.active(when).filter(case_id__in=case_ids)
            placing.recall_placements(placements=in_force, by=placed_by, reason=RECALL_REASON, now=when)
    for slug, agency in agencies.items():
        team = collectors.get(slug) or []
        by_collector: dict[int, list] = {}
        for record in todo:
            plan = record.placement
            if plan.agency_slug == slug and not plan.recalled and team and plan.collector_index is not None:
                by_collector.setdefault(plan.collector_index % len(team), []).append(cases[record.contract_no].pk)
        for index, case_ids in sorted(by_collector.items()):
            ids = Placement.objects.active(now).filter(partner=agency, case_id__in=case_ids).values_list("pk", flat=True)
            assign_cases(placement_ids=list(ids), collector=team[index], agency=agency, assigned_by=agency_admins.get(slug), now=now)
    report.placements_created = created


# Commission schedule of the demo agreements: the rate rises with the bucket and with each outsourcing round (手别).
DEMO_BUCKET_RATES = {"M1": "0.08", "M2": "0.12", "M3": "0.15", "M4": "0.18", "M5": "0.22", "M6+": "0.28"}
DEMO_ROUND_STEP = Decimal("0.02")
PAID_SHARE = 0.35  # of the placements, how many brought a payment in


def demo_terms() -> dict:
    return {
        "term_days": 90,
        "capacity": 5000,
        "max_hold_days": 30,
        "allowed_actions": ["phone", "sms", "letter", "field_visit"],
        "field_visit_fee": Decimal("150.00"),  # 外访费 per reported visit
        "rates": {(bucket, r): Decimal(DEMO_BUCKET_RATES[bucket]) + DEMO_ROUND_STEP * (r - 1) for bucket in BUCKETS for r in ROUNDS},
        "note": "演示协议",
    }


def _ensure_agreements(*, agencies: dict[str, Organisation], created_by: User | None) -> dict:
    """An agreement (委外协议) with each eligible agency; returns the version in force per agency slug."""
    versions = {}
    for slug, org in agencies.items():
        agreement = Agreement.objects.filter(partner=org).first()
        if agreement is None:
            agreement = agreements.create_agreement(
                partner=org, created_by=created_by, terms=demo_terms(), reference=f"DEMO-{slug.upper()}"
            )
        versions[slug] = agreement.current_version
    return versions


def _write_money(
    *, seed: str, agencies: dict[str, Organisation], finance: User | None, agency_admins: dict[str, User], now: datetime.datetime
) -> None:
    """Payments on about a third of the placements (dated inside the term, some paid straight to the lender), the
    agencies' statements for last month approved and this month's drafted, one agency report waiting for its match,
    one disputed line, and one payment of last month returned by the bank (reversed). Idempotent: payments by their
    reference, the rest only when missing."""
    today = timezone.localdate(now)
    placements = list(
        Placement.objects.select_related("case").filter(partner__in=agencies.values()).order_by("case__contract_no", "starts_at")
    )
    recorded = set(Payment.objects.filter(reference__startswith="DEMO-").values_list("reference", flat=True))
    for placement in placements:
        reference = f"DEMO-{placement.case.contract_no}-1"
        rng = random.Random(f"{seed}-{reference}")  # per placement: a re-run decides the same, whatever it skips
        if rng.random() >= PAID_SHARE or reference in recorded:
            continue
        start = timezone.localdate(placement.starts_at)
        last = min(today, timezone.localdate(placement.ended_at or placement.ends_at) - datetime.timedelta(days=1))
        if last < start:
            continue
        paid_on = start + datetime.timedelta(days=rng.randint(0, (last - start).days))
        balance = placement.balance_at_placement or placement.case.balance
        share = rng.choice([Decimal("0.1"), Decimal("0.2"), Decimal("0.3"), Decimal("0.5")])  # partial: the cases stay open
        amount = max(Decimal("100.00"), to_fen(balance * share / 100).quantize(Decimal("1")) * 100)
        amount = min(amount, to_fen(balance)) if balance > 0 else amount
        payment_services.record_payment(
            case=placement.case,
            amount=amount,
            paid_on=paid_on,
            reference=reference,
            source=PaymentSource.IMPORT,
            recorded_by=finance,
            note="演示还款",
            now=now,
        )
    if not PaymentReversal.objects.exists():
        # One payment of last month came back from the bank: its commission is clawed back on this month's statement.
        returned = (
            Payment.objects.filter(reference__startswith="DEMO-", paid_on__lt=today.replace(day=1), commission_lines__isnull=False)
            .order_by("reference")
            .first()
        )
        if returned is not None:
            payment_services.reverse_payment(
                payment=returned,
                reason=ReversalReason.RETURNED,
                note="银行退票：付款账户余额不足",
                reversed_on=today,
                reversed_by=finance,
                now=now,
            )
    last_month = previous_month(today)
    for org in agencies.values():
        previous = Statement.objects.filter(kind="commission", partner=org, period=last_month).first()
        if previous is None or previous.status == StatementStatus.DRAFT:
            previous = statements.draft_statement(partner=org, period=last_month, created_by=finance, now=now)
            if previous.line_count:
                previous = statements.approve(statement=previous, approved_by=finance, now=now)
        if previous.status == StatementStatus.APPROVED and previous.commission_total > 0:
            # Issued to the agency: finance can pay it through (the demo's) Stripe from the statement's page.
            statements.issue(statement=previous, issued_by=finance, now=now)
        if not Statement.objects.filter(kind="commission", partner=org, period=today.replace(day=1)).exists():
            statements.draft_statement(partner=org, period=today, created_by=finance, now=now)
    if not agencies:
        return
    slug, org = sorted(agencies.items())[0]
    admin = agency_admins.get(slug)
    active = Placement.objects.active(now).filter(partner=org).select_related("case").order_by("case__contract_no").first()
    if active is not None and not PaymentReport.objects.filter(organisation=org).exists():
        payment_services.report_payment(
            case=active.case,
            organisation=org,
            amount="1234.00",
            paid_on=today,
            reference="RCPT-DEMO-0001",
            note="债务人称已转账至贵司对公账户",
            reported_by=admin,
            now=now,
        )
    line_payment = Payment.objects.filter(commission_lines__partner=org, reversal__isnull=True).order_by("reference").first()
    if line_payment is not None and not Dispute.objects.filter(partner=org).exists():
        payment_services.open_dispute(
            payment=line_payment,
            partner=org,
            raised_by_org=org,
            raised_by=admin,
            reason="commission",
            text="该笔还款发生时案件处于M3，应按M3费率计佣。",
            now=now,
        )
    if active is not None and admin is not None and finance is not None and not FieldVisitRequest.objects.exists():
        _demo_field_visit(placement=active, agency=org, agent=admin, approver=finance, now=now)


def _demo_field_visit(*, placement: Placement, agency: Organisation, agent: User, approver: User, now: datetime.datetime) -> None:
    """One field visit (外访) asked for, approved and reported today, so the agency's field-visit fee statement (the
    demo agreement pays ¥150 a visit, outsourcing/field_visit_fees.py) has a line. The demo may be seeded at any hour:
    steps outside the contact window carry the recorded reason the conduct rules ask for."""
    why = "演示数据：外访时间按债务人作息安排"
    visit = workbench_services.request_field_visit(
        case=placement.case,
        placement=placement,
        agency=agency,
        reason=VisitReason.UNREACHABLE,
        note="电话多次无人接听，需上门核实居住情况",
        requested_by=agent,
        now=now - datetime.timedelta(hours=3),
    )
    workbench_services.decide_field_visit(
        visit=visit, approve=True, decided_by=approver, note="同意外访", now=now - datetime.timedelta(hours=2), window_justification=why
    )
    workbench_services.file_visit_report(
        visit=visit,
        findings="借款人仍居住于登记地址，表示下月起分期还款",
        visited_at=now - datetime.timedelta(hours=1),
        photos=[],
        visited_by=agent,
        agency=agency,
        now=now,
        window_justification=why,
    )
    fee_services.draft(kind="field_visit", partner=agency, period=timezone.localdate(now), created_by=approver, now=now)


@transaction.atomic
def seed_demo(*, cast: Cast, cases_per_lender: int = DEFAULT_CASES_PER_LENDER, now: datetime.datetime | None = None) -> SeedReport:
    """Create whatever of the demo is missing; running it again changes nothing."""
    if cases_per_lender < 0:
        raise ValueError("cases_per_lender must not be negative")
    password_validation.validate_password(cast.password)
    now = now or timezone.now()
    today = timezone.localdate(now)
    report = SeedReport()
    platform = services.ensure_public_tenant().organisation
    password_hash = demo_password_hash(password=cast.password)
    services.ensure_template()
    staff = [
        _ensure_person(
            organisation=platform, email=cast.platform_email(mailbox=p.mailbox), role=p.role, password_hash=password_hash, report=report
        )
        for p in cast.platform_people
    ]
    verifier = staff[0]
    lenders = {spec.slug: _ensure_lender(spec=spec) for spec in cast.lenders}
    managers: dict[str, User] = {}
    finance: dict[str, User] = {}
    legal: dict[str, User] = {}
    agency_admins: dict[str, User] = {}
    for spec in cast.lenders:
        for person in spec.people:
            user = _ensure_person(
                organisation=lenders[spec.slug].organisation,
                email=cast.email(mailbox=person.mailbox, org_slug=spec.slug),
                role=person.role,
                password_hash=password_hash,
                report=report,
            )
            if person.role == Role.COLLECTIONS_MANAGER:
                managers.setdefault(spec.slug, user)
            if person.role == Role.FINANCE:
                finance.setdefault(spec.slug, user)
            if person.role == Role.LEGAL_MANAGER:
                legal.setdefault(spec.slug, user)
    partners: dict[str, Organisation] = {}
    collectors: dict[str, list[User]] = {}
    for spec in cast.partners:
        org = partners[spec.slug] = _ensure_partner(spec=spec)
        _ensure_licence(org=org, spec=spec, today=today, verifier=verifier)
        for person in spec.people:
            user = _ensure_person(
                organisation=org,
                email=cast.email(mailbox=person.mailbox, org_slug=spec.slug),
                role=person.role,
                password_hash=password_hash,
                report=report,
            )
            if person.role == Role.COLLECTOR:
                collectors.setdefault(spec.slug, []).append(user)
            if person.role == Role.AGENCY_ADMIN:
                agency_admins.setdefault(spec.slug, user)
        for lender_slug in spec.engaged_with:
            _ensure_engagement(lender=lenders[lender_slug], partner=org)

    for spec in cast.lenders:
        lender = lenders[spec.slug]
        agency_slugs = tuple(p.slug for p in cast.agencies_for(lender_slug=spec.slug))
        # Only an active engagement with a licensed agency may receive cases (access.may_receive_cases).
        eligible = {
            slug: partners[slug]
            for slug in agency_slugs
            if access.may_receive_cases(partners[slug], on=today)
            and Engagement.objects.filter(lender=lender, partner=partners[slug], status=EngagementStatus.ACTIVE).exists()
        }
        records = generate_cases(
            seed=spec.seed, contract_prefix=spec.contract_prefix, count=cases_per_lender, today=today, agency_slugs=agency_slugs
        )
        lender_report = LenderReport(slug=spec.slug)
        with tenant_context(lender):
            cases = _write_cases(records=records, report=lender_report, lender_slug=spec.slug, imported_by=managers.get(spec.slug))
            _ensure_agreements(agencies=eligible, created_by=managers.get(spec.slug))
            _write_placements(
                records=records,
                cases=cases,
                agencies=eligible,
                collectors=collectors,
                placed_by=managers.get(spec.slug),
                agency_admins=agency_admins,
                now=now,
                report=lender_report,
            )
            _write_money(seed=spec.seed, agencies=eligible, finance=finance.get(spec.slug), agency_admins=agency_admins, now=now)
            firm_spec = next((p for p in cast.partners if p.kind == OrganisationKind.LAW_FIRM and spec.slug in p.engaged_with), None)
            firm_people = (
                {
                    person.role: User.objects.get(email=cast.email(mailbox=person.mailbox, org_slug=firm_spec.slug))
                    for person in firm_spec.people
                }
                if firm_spec
                else {}
            )
            lender_report.matters_created = demo_litigation.seed_litigation(
                lender_slug=spec.slug,
                lender_name=spec.name,
                legal_manager=legal.get(spec.slug),
                law_firm=partners[firm_spec.slug] if firm_spec else None,  # the other lender's matters stay in-house
                lawyer=firm_people.get(Role.LAWYER),
                paralegal=firm_people.get(Role.PARALEGAL),
                today=today,
            )
            lender_report.billing = _write_billing(lender=lender, actor=finance.get(spec.slug), now=now)
            lender_report.cases, lender_report.placements = Case.objects.count(), Placement.objects.count()
            lender_report.payments, lender_report.statements = Payment.objects.count(), Statement.objects.count()
        report.lenders.append(lender_report)
    return report


DEMO_CARD = "4242424242424242"  # Stripe's test Visa: accepted by localstripe, never a real card


def _write_billing(*, lender: Lender, actor: User | None, now: datetime.datetime) -> str:
    """The lender's card on file and its subscription on the plan its active cases call for, against the demo's fake
    Stripe (localstripe, started by ``make demo``: STRIPE_API_BASE). Without it (a real Stripe account, or none)
    nothing is charged and the lender is left unsubscribed: the demo never talks to the real Stripe."""
    if not settings.STRIPE_API_BASE:
        return "skipped (no STRIPE_API_BASE)"
    from billing import accounts
    from subscriptions import services as subscriptions
    from subscriptions.models import Subscription

    existing = Subscription.objects.filter(lender=lender).exclude(stripe_subscription_id="").first()
    if existing is not None:
        return existing.status
    accounts.attach_test_card(lender, DEMO_CARD)
    plan = subscriptions.plan_for_count(subscriptions.count_active_cases())
    return subscriptions.subscribe(lender=lender, plan=plan, actor=actor, now=now).status


# ------------------------------------------------------------------- reading
def _login(*, email: str, password: str, role: str) -> dict:
    return {"email": email, "password": password, "role": str(role)}


def _canary(*, case: Case, placement: Placement | None) -> dict:
    return {
        "name": case.debtor.name,
        "contract_no": case.contract_no,
        "id_number": case.debtor.id_number,  # unmasked: this summary is for test harnesses
        "placed_with": placement.partner.slug if placement is not None else None,
        "assigned_to": placement.assigned_to.email if placement is not None and placement.assigned_to_id else None,
    }


def _canaries(*, agencies: list[Organisation], now: datetime.datetime) -> list[dict]:
    """A few known cases per lender: per engaged agency one assigned and (first agency) one
    unassigned active placement, one never-placed case and one recalled case."""
    active = Placement.objects.active(at=now).select_related("case__debtor", "partner", "assigned_to").order_by("case__contract_no")
    picked: list[dict] = []
    for position, agency in enumerate(agencies):
        assigned = active.filter(partner=agency, assigned_to__isnull=False).first()
        if assigned is not None:
            picked.append(_canary(case=assigned.case, placement=assigned))
        unassigned = active.filter(partner=agency, assigned_to__isnull=True).first() if position == 0 else None
        if unassigned is not None:
            picked.append(_canary(case=unassigned.case, placement=unassigned))
    cases = Case.objects.select_related("debtor").order_by("contract_no")
    never_placed = cases.filter(~Exists(Placement.objects.filter(case=OuterRef("pk")))).first()
    if never_placed is not None:
        picked.append(_canary(case=never_placed, placement=None))
    recalled = cases.filter(
        Exists(Placement.objects.filter(case=OuterRef("pk"), status=PlacementStatus.RECALLED)),
        ~Exists(Placement.objects.active(at=now).filter(case=OuterRef("pk"))),
    ).first()
    if recalled is not None:
        picked.append(_canary(case=recalled, placement=None))
    return picked[:5]


def describe_demo(*, cast: Cast, now: datetime.datetime | None = None) -> dict:
    """Who can sign in where, and which cases to look for: the ``--json`` summary."""
    now = now or timezone.now()
    partners = {o.slug: o for o in Organisation.objects.filter(slug__in=[p.slug for p in cast.partners])}
    tenants = []
    for spec in cast.lenders:
        lender = Lender.objects.select_related("organisation").get(organisation__slug=spec.slug)
        agencies = [partners[p.slug] for p in cast.agencies_for(lender_slug=spec.slug) if p.slug in partners]
        with tenant_context(lender):
            canaries = _canaries(agencies=agencies, now=now)
            matters = demo_litigation.demo_matter_ids()
        tenants.append(
            {
                "slug": spec.slug,
                "name": lender.name,
                "domain": lender.get_primary_domain().domain,
                "users": [
                    _login(email=cast.email(mailbox=p.mailbox, org_slug=spec.slug), password=cast.password, role=p.role)
                    for p in spec.people
                ],
                "canaries": canaries,
                "matters": matters,  # each complete enough to build its filing packet (manage.py build_packet)
            }
        )
    partner_entries = []
    for spec in cast.partners:
        org = partners[spec.slug]
        engaged = Engagement.objects.filter(partner=org, status=EngagementStatus.ACTIVE).order_by("lender__organisation__slug")
        partner_entries.append(
            {
                "slug": org.slug,
                "name": org.name,
                "kind": org.kind,
                "users": [
                    _login(email=cast.email(mailbox=p.mailbox, org_slug=spec.slug), password=cast.password, role=p.role)
                    for p in spec.people
                ],
                "engaged_with": list(engaged.values_list("lender__organisation__slug", flat=True)),
            }
        )
    return {
        "platform": {
            "users": [
                _login(email=cast.platform_email(mailbox=p.mailbox), password=cast.password, role=p.role) for p in cast.platform_people
            ]
        },
        "tenants": tenants,
        "partners": partner_entries,
    }


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_logins(*, summary: dict, url: str) -> str:
    """The login table a person reads after ``seed_demo``."""
    rows = [(u["email"], u["password"], u["role"], "Caseport (platform)") for u in summary["platform"]["users"]]
    for tenant in summary["tenants"]:
        rows += [(u["email"], u["password"], u["role"], f"{tenant['name']} ({tenant['domain']})") for u in tenant["users"]]
    for partner in summary["partners"]:
        rows += [(u["email"], u["password"], u["role"], partner["name"]) for u in partner["users"]]
    rows = [(email, password, role + (" [2FA]" if role in ROLES_REQUIRING_2FA else ""), org) for email, password, role, org in rows]
    header = ("email", "password", "role", "organisation")
    widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(3)]
    lines = [f"Open {url} and sign in as any of:", ""]
    for row in [header, *rows]:
        lines.append("  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    lines += [
        "",
        "[2FA] users: get the current code with `DJANGO_SETTINGS_MODULE=config.settings.dev .venv/bin/python manage.py demo_totp EMAIL`.",
    ]
    return "\n".join(lines)


def current_totp(*, email: str, at: float | None = None) -> tuple[str, int]:
    """The current code of the user's demo TOTP device and the seconds it stays valid.

    Only devices the demo created (name ``demo``): this is no way around a real person's 2FA.
    """
    device = TOTPDevice.objects.filter(user__email=email.strip().lower(), name=DEMO_DEVICE_NAME, confirmed=True).first()
    if device is None:
        raise LookupError(f"{email} has no demo two-factor device (seed_demo gives one to platform staff and lender admins)")
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at  # one instant for the code and its lifetime
    seconds_left = device.step - (int(totp.time) - device.t0) % device.step
    return f"{totp.token():0{device.digits}d}", seconds_left
