"""Litigation (诉讼催收): matters, their stages, deadlines, documents, costs and filing packets.

A matter (诉讼案件) is one borrower's claim in court, covering one or several of his loans
(MatterLoan). It is handled by the lender's in-house legal team or by an engaged law firm, whose
fee agreement is copied onto the matter when it is escalated (later changes apply to later
matters only, as with outsourcing's agreement versions). A law firm sees a matter, and the cases
in it, only while the matter is assigned to it and open (litigation.access).

Stages are recorded as entries, never edited: the matter's ``stage`` is the latest entry's, and the
deadlines (litigation.deadlines: appeal, enforcement, objection) are computed from the entries'
dates. Each generated filing packet is kept with its hash and the inputs it was built from;
regenerating adds a version, it never overwrites one.
"""

import uuid

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

AMOUNT = {"max_digits": 14, "decimal_places": 2}
RATE = {"max_digits": 7, "decimal_places": 4}  # percent a year, as everywhere in Caseport (18 = 18%)


class LenderType(models.TextChoices):
    """Which interest caps a court applies (domain §4): licensed lenders are not private lending (法释〔2020〕27号)."""

    FINANCIAL_INSTITUTION = "financial_institution", _("Licensed financial institution")
    PRIVATE_LENDING = "private_lending", _("Private lending")


class Cause(models.TextChoices):
    """The cause of action (案由, SPC 民事案件案由规定) and so which 2024 element-style complaint is used."""

    FINANCIAL_LOAN = "financial_loan", _("Financial loan contract dispute")  # 108.1 金融借款合同纠纷
    PRIVATE_LENDING = "private_lending", _("Private lending dispute")  # 108.3 民间借贷纠纷
    CREDIT_CARD = "credit_card", _("Credit card dispute")  # 115.2 信用卡纠纷


class Procedure(models.TextChoices):
    ORDINARY = "ordinary", _("Ordinary procedure")  # 普通程序
    SUMMARY = "summary", _("Summary procedure")  # 简易程序 (court fee halved, 诉讼费用交纳办法 art. 16)
    SMALL_CLAIMS = "small_claims", _("Small claims")  # 小额诉讼 (CPL art. 165; final at first instance)


class Route(models.TextChoices):
    LITIGATION = "litigation", _("Civil suit")  # 诉讼
    PAYMENT_ORDER = "payment_order", _("Payment order")  # 支付令 (督促程序, CPL ch. 17)
    JUDICIAL_CONFIRMATION = "judicial_confirmation", _("Judicial confirmation of mediation")  # 司法确认 (CPL arts. 205–206)


class Stage(models.TextChoices):
    ESCALATED = "escalated", _("Escalated")  # 移交诉讼
    PRE_SUIT_MEDIATION = "pre_suit_mediation", _("Pre-suit mediation")  # 诉前调解
    PAYMENT_ORDER = "payment_order", _("Payment order")  # 支付令
    JUDICIAL_CONFIRMATION = "judicial_confirmation", _("Judicial confirmation")  # 司法确认
    FILED = "filed", _("Filed")  # 立案
    IN_SUIT_MEDIATION = "in_suit_mediation", _("In-suit mediation")  # 诉中调解
    HEARING = "hearing", _("Hearing")  # 开庭
    JUDGMENT = "judgment", _("Judgment or mediation agreement")  # 判决 / 调解书
    ENFORCEMENT = "enforcement", _("Enforcement")  # 执行
    CLOSED = "closed", _("Closed")  # 结案


# The funnel's order (pipeline: escalated → mediated → filed → judged → enforced → recovered).
STAGE_ORDER = [choice for choice, _label in Stage.choices]
OPEN_STAGES = [stage for stage in STAGE_ORDER if stage != Stage.CLOSED]


class Outcome(models.TextChoices):
    """What a stage came to; each stage allows some of these (litigation.stages.OUTCOMES)."""

    AGREED = "agreed", _("Agreed")  # 调解成功
    FAILED = "failed", _("Failed")  # 调解失败
    UNREACHABLE = "unreachable", _("Debtor unreachable")  # 无法联系
    OBJECTED = "objected", _("Debtor objected")  # 支付令异议
    NOT_OBJECTED = "not_objected", _("No objection: order effective")
    CONFIRMED = "confirmed", _("Confirmed by the court")  # 司法确认
    REJECTED = "rejected", _("Rejected by the court")
    WON = "won", _("Judgment for the lender")
    PARTLY_WON = "partly_won", _("Judgment partly for the lender")
    LOST = "lost", _("Judgment against the lender")
    MEDIATION_AGREEMENT = "mediation_agreement", _("Mediation agreement (调解书)")
    WITHDRAWN = "withdrawn", _("Withdrawn")  # 撤诉 (fee halved, art. 15)
    RECOVERED = "recovered", _("Recovered in full")
    PARTLY_RECOVERED = "partly_recovered", _("Partly recovered")
    TERMINATED = "terminated", _("Enforcement terminated: no assets")  # 终结本次执行
    PAID = "paid", _("Paid in full")
    WRITTEN_OFF = "written_off", _("Written off")


class MatterNumber(models.Func):
    """LIT-<year>-<five digits> from the schema's own sequence (migration 0001): unique in the lender, gap-tolerant."""

    template = "'LIT-' || to_char(now(), 'YYYY') || '-' || lpad(nextval('litigation_matter_number')::text, 5, '0')"
    output_field = models.CharField()


@pghistory.track()
class LegalFeeAgreement(models.Model):
    """The fee agreement with an engaged law firm: a fixed fee per case and a success fee on what is recovered."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    firm = models.OneToOneField("tenants.Organisation", on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(_("agreement reference"), max_length=64, blank=True)
    fixed_fee = models.DecimalField(_("fixed fee per case (CNY)"), **AMOUNT)
    # xgettext:no-python-format
    success_fee_percent = models.DecimalField(_("success fee (% of recovered)"), **RATE)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["firm__name"]
        constraints = [
            models.CheckConstraint(condition=Q(fixed_fee__gte=0), name="legal_fee_fixed_not_negative"),
            models.CheckConstraint(
                condition=Q(success_fee_percent__gte=0) & Q(success_fee_percent__lte=100), name="legal_fee_success_0_100"
            ),
        ]

    def __str__(self):
        return f"{self.firm} ({self.reference or self.pk})"


@pghistory.track()
class PlaintiffProfile(models.Model):
    """The lender as plaintiff (原告): what every complaint, power of attorney and certificate prints. One row."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    name = models.CharField(_("name (as registered)"), max_length=200)
    unified_social_credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)  # 统一社会信用代码
    address = models.CharField(_("domicile (principal office)"), max_length=300, blank=True)  # 住所地（主要办事机构所在地）
    legal_representative = models.CharField(_("legal representative"), max_length=100, blank=True)  # 法定代表人
    legal_representative_title = models.CharField(_("legal representative's position"), max_length=100, blank=True)
    legal_representative_id_number = models.CharField(_("legal representative's ID number"), max_length=18, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    lender_type = models.CharField(_("lender type"), max_length=24, choices=LenderType.choices, default=LenderType.FINANCIAL_INSTITUTION)
    organisation_type = models.CharField(_("organisation type"), max_length=100, blank=True)  # 类型, e.g. 有限责任公司
    service_address = models.CharField(_("service address"), max_length=300, blank=True)  # 送达地址
    service_recipient = models.CharField(_("recipient"), max_length=100, blank=True)
    service_phone = models.CharField(_("recipient's phone"), max_length=30, blank=True)
    service_email = models.EmailField(_("e-mail for electronic service"), blank=True)  # 电子送达 (CPL art. 90)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="plaintiff_profile_single_row")]

    def __str__(self):
        return self.name


@pghistory.track()
class Matter(models.Model):
    """One borrower's claim in court (诉讼案件), from escalation to closing."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(_("matter no."), max_length=20, unique=True, db_default=MatterNumber(), editable=False)
    debtor = models.ForeignKey("portal.Debtor", on_delete=models.PROTECT, related_name="matters")
    # The legal team: a law firm (an engaged partner) or, when empty, the lender's in-house lawyers.
    firm = models.ForeignKey(
        "tenants.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("law firm")
    )
    lawyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("lawyer")
    )
    paralegal = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("paralegal")
    )
    # The firm's terms when the matter was escalated (LegalFeeAgreement at that moment); in-house: zero.
    fixed_fee = models.DecimalField(_("fixed fee (CNY)"), default=0, **AMOUNT)
    success_fee_percent = models.DecimalField(_("success fee (%)"), default=0, **RATE)
    stage = models.CharField(_("stage"), max_length=24, choices=Stage.choices, default=Stage.ESCALATED)
    route = models.CharField(_("route"), max_length=24, choices=Route.choices, default=Route.LITIGATION)
    cause = models.CharField(_("cause of action"), max_length=24, choices=Cause.choices, default=Cause.FINANCIAL_LOAN)
    procedure = models.CharField(_("procedure"), max_length=16, choices=Procedure.choices, default=Procedure.SUMMARY)
    court = models.CharField(_("court"), max_length=200, blank=True)
    court_case_number = models.CharField(_("court case number"), max_length=64, blank=True)  # 案号
    # ---- filing elements (2024 element-style complaint, domain §2.3), completed by the paralegal
    claim_cutoff = models.DateField(_("amounts calculated up to"), null=True, blank=True)  # 截至 年 月 日
    claim_until_paid = models.BooleanField(_("claim interest until actual payment"), default=True)  # 是否请求支付至实际清偿之日止
    claim_enforcement_costs = models.DecimalField(_("costs of realising the debt claimed (CNY)"), default=0, **AMOUNT)  # 实现债权的费用
    enforcement_costs_detail = models.CharField(_("costs detail"), max_length=200, blank=True)  # e.g. 律师费
    claim_litigation_costs = models.BooleanField(_("defendant to bear the litigation costs"), default=True)  # 是否主张诉讼费用
    jurisdiction_clause = models.CharField(_("jurisdiction agreement (clause and content)"), max_length=300, blank=True)
    preservation_requested = models.BooleanField(_("apply for property preservation"), default=False)  # 财产保全
    preservation_amount = models.DecimalField(_("amount to preserve (CNY)"), null=True, blank=True, **AMOUNT)
    preservation_assets = models.TextField(_("assets to preserve (accounts, property, vehicles)"), blank=True)
    mediation_willingness = models.CharField(
        _("willing to mediate first"),
        max_length=8,
        choices=[("yes", _("Yes")), ("no", _("No")), ("unsure", _("Not sure yet"))],
        default="yes",
    )  # 是否考虑先行调解
    facts_note = models.TextField(_("other facts to state"), blank=True)  # 其他需要说明的内容
    special_authorisation = models.BooleanField(_("special authorisation for the agent"), default=True)  # 特别授权 (CPL art. 62)
    # ---- escalation and closing
    escalated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    escalated_at = models.DateTimeField(_("escalated"), default=timezone.now)
    escalation_reason = models.CharField(_("reason for escalation"), max_length=300, blank=True)
    # A matter taken from a firm (reassigned, withdrawn) ends the firm's sight of it: the firm is replaced, and
    # a closed matter is shown to no partner (litigation.access: only while it is assigned and open).
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-escalated_at", "id"]
        indexes = [
            models.Index(fields=["firm", "stage"], name="matter_firm_stage"),
            models.Index(fields=["stage"], name="matter_stage"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(claim_enforcement_costs__gte=0), name="matter_costs_not_negative"),
            models.CheckConstraint(
                condition=Q(preservation_amount__isnull=True) | Q(preservation_amount__gte=0), name="matter_preservation_not_negative"
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def is_open(self):
        return self.stage != Stage.CLOSED


class MatterLoan(models.Model):
    """One loan (case) in a matter, with the loan's filing elements that the case does not carry."""

    id = models.BigAutoField(primary_key=True)
    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="loans")
    case = models.ForeignKey("portal.Case", on_delete=models.PROTECT, related_name="matter_loans")
    # A case is in at most one open matter (a closed matter's loans are released: ``active`` False).
    active = models.BooleanField(default=True)
    contract_name = models.CharField(_("contract name"), max_length=200, blank=True)  # 合同名称
    contract_signed_on = models.DateField(_("contract signed on"), null=True, blank=True)
    contract_place = models.CharField(_("place of signing"), max_length=200, blank=True)  # e.g. 线上签订
    penalty_rate = models.DecimalField(_("penalty interest rate (% a year)"), null=True, blank=True, **RATE)  # 罚息利率
    compound = models.BooleanField(_("compound interest on unpaid interest"), default=False)  # 复利
    interest_paid_to = models.DateField(_("interest paid up to"), null=True, blank=True)  # 还息至
    due_date = models.DateField(_("due date (after acceleration)"), null=True, blank=True)  # 加速到期日
    apply_cap = models.BooleanField(_("apply the interest cap"), default=True)
    position = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["matter", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(active=True), name="matter_loan_case_once_open"),
            models.UniqueConstraint(fields=["matter", "case"], name="matter_loan_unique"),
            models.CheckConstraint(condition=Q(penalty_rate__isnull=True) | Q(penalty_rate__gte=0), name="matter_loan_rate_not_negative"),
        ]


class StageEntry(models.Model):
    """A stage reached, with its dates and result. Never edited: a correction is a later entry."""

    id = models.BigAutoField(primary_key=True)
    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="entries")
    stage = models.CharField(_("stage"), max_length=24, choices=Stage.choices)
    entered_on = models.DateField(_("date"))
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices, blank=True)
    amount = models.DecimalField(_("amount (CNY)"), null=True, blank=True, **AMOUNT)  # judgment / mediation / recovered
    court = models.CharField(_("court"), max_length=200, blank=True)
    court_case_number = models.CharField(_("court case number"), max_length=64, blank=True)
    procedure = models.CharField(_("procedure"), max_length=16, choices=Procedure.choices, blank=True)
    served_on = models.DateField(_("served on"), null=True, blank=True)  # 送达日 (appeal, objection windows)
    effective_on = models.DateField(_("effective on"), null=True, blank=True)  # 生效日
    performance_due_on = models.DateField(_("performance deadline"), null=True, blank=True)  # 履行期限届满日 (enforcement window)
    is_ruling = models.BooleanField(_("a ruling (裁定), not a judgment"), default=False)  # appeal window 10 days, not 15
    note = models.CharField(_("note"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["matter", "entered_on", "id"]
        indexes = [models.Index(fields=["stage", "entered_on"], name="stage_entry_stage_date")]
        constraints = [models.CheckConstraint(condition=Q(amount__isnull=True) | Q(amount__gte=0), name="stage_entry_amount_not_negative")]


class DocumentKind(models.TextChoices):
    LOAN_CONTRACT = "loan_contract", _("Loan contract")  # 借款合同
    DISBURSEMENT = "disbursement", _("Disbursement record")  # 放款凭证
    REPAYMENT_HISTORY = "repayment_history", _("Repayment history")  # 还款明细
    COLLECTION_NOTICE = "collection_notice", _("Collection notice")  # 催收通知
    IDENTITY = "identity", _("Identity documents")  # 主体资格材料
    GUARANTEE = "guarantee", _("Guarantee contract")
    COURT_NOTICE = "court_notice", _("Court notice")  # 法院通知书
    JUDGMENT = "judgment", _("Judgment")  # 判决书
    MEDIATION_AGREEMENT = "mediation_agreement", _("Mediation agreement")  # 调解书 / 调解协议
    RULING = "ruling", _("Ruling")  # 裁定书
    RECEIPT = "receipt", _("Fee receipt")  # 缴费凭证
    OTHER = "other", _("Other")


# Evidence (证据) goes into the packet's exhibits, in this order (证据目录: contract, money lent, money repaid, demands).
EXHIBIT_KINDS = [
    DocumentKind.LOAN_CONTRACT,
    DocumentKind.DISBURSEMENT,
    DocumentKind.REPAYMENT_HISTORY,
    DocumentKind.COLLECTION_NOTICE,
    DocumentKind.GUARANTEE,
    DocumentKind.IDENTITY,
    DocumentKind.OTHER,
]


def document_upload_to(instance, filename):
    # The server chooses the stored name; the user's name is kept as metadata only. Sealed at rest (portal.lib.filecrypt).
    return f"litigation/documents/{instance.matter_id}/{uuid.uuid4().hex}"


class MatterDocument(models.Model):
    """A file kept with a matter: evidence for the packet, or what the court sent (notices, judgments)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="documents")
    stage = models.CharField(_("stage"), max_length=24, choices=Stage.choices, blank=True)
    kind = models.CharField(_("kind"), max_length=24, choices=DocumentKind.choices)
    title = models.CharField(_("title"), max_length=200)
    source = models.CharField(_("source"), max_length=200, blank=True)  # 证据来源
    proves = models.CharField(_("what it proves"), max_length=300, blank=True)  # 证明对象
    is_exhibit = models.BooleanField(_("exhibit in the filing packet"), default=True)
    file = models.FileField(upload_to=document_upload_to, max_length=200)
    original_name = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField(default=0)
    pages = models.PositiveSmallIntegerField(default=1)
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)  # withdrawn from the matter; kept for packets that used it

    class Meta:
        ordering = ["matter", "uploaded_at", "id"]

    def __str__(self):
        return self.title


class ChecklistTick(models.Model):
    """A paralegal's checklist item done, for one stage of a matter (litigation.stages.CHECKLISTS)."""

    id = models.BigAutoField(primary_key=True)
    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="ticks")
    stage = models.CharField(max_length=24, choices=Stage.choices)
    key = models.CharField(max_length=40)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    done_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["matter", "stage", "key"], name="checklist_tick_once")]


class DeadlineKind(models.TextChoices):
    LIMITATION = "limitation", _("Limitation period")  # 诉讼时效 (民法典 arts. 188, 195)
    APPEAL = "appeal", _("Appeal window")  # 上诉期 (CPL art. 171)
    ENFORCEMENT = "enforcement_application", _("Enforcement application")  # 申请执行期间 (CPL art. 250)
    OBJECTION = "payment_order_objection", _("Payment order objection")  # 支付令异议期
    FEE_PAYMENT = "fee_payment", _("Court fee payment")  # 预交诉讼费 (交纳办法 art. 22)
    JUDICIAL_CONFIRMATION = "judicial_confirmation", _("Judicial confirmation application")  # 30 days (CPL art. 205)


class Deadline(models.Model):
    """A date a matter must not miss, computed from its stage entries (litigation.deadlines) or its loans' limitation."""

    id = models.BigAutoField(primary_key=True)
    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="deadlines")
    kind = models.CharField(_("deadline"), max_length=32, choices=DeadlineKind.choices)
    due_on = models.DateField(_("due"))
    basis = models.CharField(_("basis"), max_length=300)
    source_entry = models.ForeignKey(StageEntry, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reminded_on = models.DateField(null=True, blank=True)  # the reminder task's last day for this deadline (once a day)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["due_on"], name="deadline_due_on", condition=Q(done_at__isnull=True))]
        constraints = [
            models.UniqueConstraint(fields=["matter", "kind"], condition=Q(source_entry__isnull=True), name="deadline_once_per_kind"),
            models.UniqueConstraint(fields=["matter", "kind", "source_entry"], name="deadline_once_per_entry"),
        ]


class PlanInstalment(models.Model):
    """One instalment of an agreed mediation's repayment plan (调解协议), tracked like a promise to pay."""

    id = models.BigAutoField(primary_key=True)
    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="plan")
    entry = models.ForeignKey(StageEntry, on_delete=models.CASCADE, related_name="instalments")
    due_on = models.DateField(_("due"))
    amount = models.DecimalField(_("amount (CNY)"), **AMOUNT)

    class Meta:
        ordering = ["matter", "due_on", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="plan_instalment_positive")]


class CostKind(models.TextChoices):
    COURT_FEE = "court_fee", _("Court acceptance fee")  # 案件受理费
    PRESERVATION_FEE = "preservation_fee", _("Preservation fee")  # 保全申请费
    ENFORCEMENT_FEE = "enforcement_fee", _("Enforcement fee")  # 申请执行费
    SERVICE_COST = "service_cost", _("Service costs")  # 送达 / 公告费
    LAWYER_FEE = "lawyer_fee", _("Lawyer's fee")  # 律师费
    OTHER = "other", _("Other")


class LegalCost(models.Model):
    """A cost of a matter, recorded once (the fee ledger of the fees issue reads these). A mistake is corrected
    by a negative line with a note, never by editing."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="costs")
    kind = models.CharField(_("kind"), max_length=24, choices=CostKind.choices)
    amount = models.DecimalField(_("amount (CNY)"), **AMOUNT)
    incurred_on = models.DateField(_("date"))
    paid_by_firm = models.BooleanField(_("advanced by the law firm"), default=False)
    recoverable = models.BooleanField(_("claimed from the debtor"), default=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["matter", "incurred_on", "recorded_at"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="legal_cost_not_zero")]


class RecoverySource(models.TextChoices):
    COURT_REFUND = "court_refund", _("Refunded by the court")  # 法院退还预交的诉讼费
    DEBTOR = "debtor", _("Paid by the debtor")  # 被告直接支付
    ENFORCEMENT = "enforcement", _("Out of enforcement proceeds")  # 执行款中扣收


class CostRecovery(models.Model):
    """Court costs got back from the debtor after a decision put them on him (诉讼费用交纳办法 art. 29; the rule is
    litigation.cost_recovery). Recorded once, never edited: a mistake is corrected by a negative line with a note.
    Kept apart from LegalCost, whose lines are what the matter cost (and what a complaint claims); this is money in."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="cost_recoveries")
    amount = models.DecimalField(_("amount (CNY)"), **AMOUNT)
    received_on = models.DateField(_("received on"))
    source = models.CharField(_("received from"), max_length=16, choices=RecoverySource.choices)
    received_by_firm = models.BooleanField(_("received by the law firm"), default=False)  # the firm owes it to the lender
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["matter", "received_on", "recorded_at"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="cost_recovery_not_zero")]
        triggers = [pgtrigger.Protect(name="cost_recovery_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]


@pghistory.track()
class CriminalReferral(models.Model):
    """Suspected fraud reported to the police (报案): its own record on the case, not a civil matter."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("portal.Case", on_delete=models.PROTECT, related_name="criminal_referrals")
    reported_on = models.DateField(_("reported on"))
    authority = models.CharField(_("police station / authority"), max_length=200)
    report_number = models.CharField(_("report receipt no."), max_length=64, blank=True)  # 受案回执号
    grounds = models.TextField(_("grounds for suspicion"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=[("reported", _("Reported")), ("accepted", _("Accepted by police")), ("declined", _("Declined")), ("closed", _("Closed"))],
        default="reported",
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-reported_on", "-recorded_at"]


class PreflightOverride(models.Model):
    """A lawyer's conscious decision to build a packet despite one pre-flight problem, with the reason."""

    id = models.BigAutoField(primary_key=True)
    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="overrides")
    code = models.CharField(max_length=40)  # litigation.preflight problem code
    reason = models.CharField(_("reason"), max_length=300)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["matter", "code"], name="preflight_override_once")]


class PacketStatus(models.TextChoices):
    BUILT = "built", _("Built: awaiting the lawyer's review")
    APPROVED = "approved", _("Approved by the lawyer")
    SUPERSEDED = "superseded", _("Superseded by a later version")


def packet_upload_to(instance, filename):
    return f"litigation/packets/{instance.matter_id}/{instance.version:03d}-{instance.sha256[:16]}.pdf"


class Packet(models.Model):
    """A generated filing packet (立案材料), kept with its hash and the inputs it was built from.

    The same inputs give the same bytes (litigation.packets), so a packet is identified by the hash of its
    inputs: building again from unchanged inputs returns the stored packet (a retried batch duplicates
    nothing), and building from changed inputs adds the next version, superseding the last.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="packets")
    version = models.PositiveIntegerField()
    status = models.CharField(_("status"), max_length=16, choices=PacketStatus.choices, default=PacketStatus.BUILT)
    file = models.FileField(upload_to=packet_upload_to, max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField(default=0)
    pages = models.PositiveSmallIntegerField(default=0)
    inputs = models.JSONField()  # everything the packet printed, as built (litigation.packets.inputs_for)
    inputs_sha256 = models.CharField(max_length=64)
    claim_total = models.DecimalField(_("claim total (CNY)"), **AMOUNT)
    court_fee = models.DecimalField(_("court fee (CNY)"), **AMOUNT)
    problems = models.JSONField(default=list)  # pre-flight problems at build time, each overridden (with reason)
    built_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    built_at = models.DateTimeField(default=timezone.now)
    job_id = models.UUIDField(null=True, blank=True)  # the batch that built it, if any
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["matter", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["matter", "version"], name="packet_version_unique"),
            models.UniqueConstraint(fields=["matter", "inputs_sha256"], name="packet_inputs_once"),
        ]

    def __str__(self):
        return f"{self.matter.number} v{self.version}"


class FeeLineKind(models.TextChoices):
    FIXED = "fixed", _("Fixed fee")  # 基础律师费
    SUCCESS = "success", _("Success fee")  # 风险代理费


class LegalFeeLine(models.Model):
    """What a law firm earned on a matter under its fee agreement (律师费明细), one immutable line each
    (litigation.fees has the rules, litigation.fee_lines writes them).

    A **fixed** line: the matter's fixed fee, once per matter, earned on the first court stage (``stage_entry``); its
    ``case`` is the matter's loan when it has one, else empty (a fee for the whole matter). A **success** line: the
    fee on the money one payment applied to a loan of the matter while the matter was with the firm; a reversed
    payment adds a clawback line (``reversal``: the payment's lines negated, dated the reversal), and a reversal that
    changes a later payment's applied money adds an adjustment line (``correction``), as commission lines do
    (outsourcing.CommissionLine). A line is never edited or deleted: only its statement is set (or cleared while a
    draft), so an approved statement never changes and every statement equals the sum of its lines."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="fee_lines")
    firm = models.ForeignKey("tenants.Organisation", on_delete=models.PROTECT, related_name="+", db_index=False)
    case = models.ForeignKey("portal.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    kind = models.CharField(_("kind"), max_length=8, choices=FeeLineKind.choices)
    earned_on = models.DateField(_("earned on"))
    base = models.DecimalField(_("base"), **AMOUNT)  # fixed: the fee; success: the money applied (negative: clawback)
    rate = models.DecimalField(_("success fee (%)"), null=True, blank=True, **RATE)  # percent, as the agreement (8 = 8%)
    amount = models.DecimalField(_("fee"), **AMOUNT)
    stage_entry = models.OneToOneField(StageEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="fee_line")
    payment = models.ForeignKey("payments.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="legal_fee_lines")
    reversal = models.OneToOneField(
        "payments.PaymentReversal", null=True, blank=True, on_delete=models.PROTECT, related_name="legal_fee_clawback"
    )
    correction = models.OneToOneField(
        "payments.PaymentPostingCorrection", null=True, blank=True, on_delete=models.PROTECT, related_name="legal_fee_adjustment"
    )
    statement = models.ForeignKey("fees.Statement", null=True, blank=True, on_delete=models.PROTECT, related_name="legal_fee_lines")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["earned_on", "created_at", "id"]
        indexes = [
            models.Index(fields=["firm", "earned_on"], condition=Q(statement__isnull=True), name="legal_fee_unstated"),
            models.Index(fields=["firm", "earned_on"], name="legal_fee_firm_earned_on"),
            models.Index(fields=["matter", "kind"], name="legal_fee_matter_kind"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["matter"], condition=Q(kind="fixed"), name="legal_fee_one_fixed_per_matter"),
            # One earned success line per payment (so per matter and payment, and no payment earns two matters a fee);
            # clawbacks are one per reversal and adjustments one per correction (the OneToOnes above).
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(kind="success", reversal__isnull=True, correction__isnull=True),
                name="legal_fee_one_success_per_payment",
            ),
            # The shape of each kind: a fixed line is the fee itself (no payment, no rate); a success line is earned
            # (positive base), a clawback (negative) or an adjustment (either), never two of them.
            models.CheckConstraint(
                condition=Q(
                    kind="fixed",
                    payment__isnull=True,
                    reversal__isnull=True,
                    correction__isnull=True,
                    rate__isnull=True,
                    stage_entry__isnull=False,
                    base__gt=0,
                    amount=models.F("base"),
                )
                | (
                    Q(kind="success", payment__isnull=False, rate__isnull=False, stage_entry__isnull=True, case__isnull=False)
                    & (
                        Q(reversal__isnull=True, correction__isnull=True, base__gt=0)
                        | Q(reversal__isnull=False, correction__isnull=True, base__lt=0)
                        | (Q(reversal__isnull=True, correction__isnull=False) & ~Q(base=0))
                    )
                ),
                name="legal_fee_line_shape",
            ),
            models.CheckConstraint(condition=Q(rate__isnull=True) | (Q(rate__gte=0) & Q(rate__lte=100)), name="legal_fee_rate_percent"),
            # Between 0 and the base, of the base's sign: earned 0 ≤ fee ≤ base, clawback base ≤ fee ≤ 0.
            models.CheckConstraint(
                condition=Q(base__gt=0, amount__gte=0, amount__lte=models.F("base"))
                | Q(base__lt=0, amount__lte=0, amount__gte=models.F("base")),
                name="legal_fee_within_base",
            ),
        ]
        triggers = [
            # A line never changes: what it is for, whose it is, its date and its money. Only its statement is set
            # (or cleared while a draft).
            pgtrigger.Protect(
                name="legal_fee_line_fixed",
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__amount__df=pgtrigger.F("new__amount"))
                | pgtrigger.Q(old__base__df=pgtrigger.F("new__base"))
                | pgtrigger.Q(old__rate__df=pgtrigger.F("new__rate"))
                | pgtrigger.Q(old__kind__df=pgtrigger.F("new__kind"))
                | pgtrigger.Q(old__matter_id__df=pgtrigger.F("new__matter_id"))
                | pgtrigger.Q(old__firm_id__df=pgtrigger.F("new__firm_id"))
                | pgtrigger.Q(old__case_id__df=pgtrigger.F("new__case_id"))
                | pgtrigger.Q(old__earned_on__df=pgtrigger.F("new__earned_on"))
                | pgtrigger.Q(old__stage_entry_id__df=pgtrigger.F("new__stage_entry_id"))
                | pgtrigger.Q(old__payment_id__df=pgtrigger.F("new__payment_id"))
                | pgtrigger.Q(old__reversal_id__df=pgtrigger.F("new__reversal_id"))
                | pgtrigger.Q(old__correction_id__df=pgtrigger.F("new__correction_id")),
            ),
            pgtrigger.Protect(name="legal_fee_line_never_deleted", operation=pgtrigger.Delete),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount} ({self.earned_on})"
