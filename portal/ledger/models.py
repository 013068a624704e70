"""The fee ledger (费用台账): every yuan recovered and every yuan spent on a case, double-entry and append-only.

A ``LedgerTransaction`` is one economic event (a payment recorded, a commission earned, a court fee
advanced, a statement settled), pointing to its source; its ``LedgerLeg`` rows carry the money, signed
(debit positive, credit negative), and always sum to zero — checked by the database when the transaction
commits (a deferred constraint trigger), not by the code that wrote it. Nothing is ever updated or deleted
(pgtrigger.Protect): a correction is a new transaction that reverses the old one (``reverses``), so the
history reads like a book-keeper's journal (reliability-and-security.md §4).

Each leg carries the dimensions the reports cut by — case, counterparty (the agency or law firm), matter,
product, cohort month (the month of the placement or escalation the money belongs to) and the month it
happened — so that net recovery per case, partner, product, cohort and portfolio is one indexed query.
``LedgerTotal`` keeps the sums per (account, counterparty, kind of counterparty, product, cohort, month),
maintained by a statement-level trigger as legs are inserted (never by application code), which is what
the dashboard reads instead of summing a million legs.
"""

import uuid

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 16, "decimal_places": 2}


class Account(models.TextChoices):
    """The chart of accounts (会计科目). Debit-normal: cash and every cost; credit-normal: recoveries,
    court costs recovered and what is owed to partners."""

    CASH = "cash", _("Cash at bank")  # 银行存款
    RECOVERIES = "recoveries", _("Recoveries")  # 回收款
    AGENCY_COMMISSION = "agency_commission", _("Agency commission")  # 委外佣金
    LEGAL_FEE_FIXED = "legal_fee_fixed", _("Legal fee (fixed)")  # 律师费（固定部分）
    LEGAL_FEE_SUCCESS = "legal_fee_success", _("Legal fee (success)")  # 律师费（风险代理部分）
    COURT_FEES = "court_fees", _("Court fees advanced")  # 诉讼费（受理费、执行费，垫付）
    PRESERVATION_FEES = "preservation_fees", _("Preservation fees")  # 保全申请费
    SERVICE_COSTS = "service_costs", _("Service costs")  # 送达费、公告费
    FIELD_VISIT_COSTS = "field_visit_costs", _("Field-visit costs")  # 外访费用
    OTHER_LEGAL_COSTS = "other_legal_costs", _("Other legal costs")  # 其他诉讼费用
    COURT_COSTS_RECOVERED = "court_costs_recovered", _("Court costs recovered")  # 判决由被告负担、已收回的诉讼费
    PARTNER_PAYABLE = "partner_payable", _("Payable to partners")  # 应付合作机构款
    # The part of a payment beyond the balance (溢缴款, 待分配): received, owed back to the debtor or to be applied,
    # not recovered; a reversal elsewhere may later apply it (PaymentPostingCorrection → a payment_correction entry).
    UNAPPLIED = "unapplied", _("Unapplied (overpaid)")  # 待分配/溢缴款


# The accounts whose debit balance is a cost of collection; court costs recovered (credit) reduce it.
COST_ACCOUNTS = (
    Account.AGENCY_COMMISSION,
    Account.LEGAL_FEE_FIXED,
    Account.LEGAL_FEE_SUCCESS,
    Account.COURT_FEES,
    Account.PRESERVATION_FEES,
    Account.SERVICE_COSTS,
    Account.FIELD_VISIT_COSTS,
    Account.OTHER_LEGAL_COSTS,
    Account.COURT_COSTS_RECOVERED,
)


class EntryKind(models.TextChoices):
    PAYMENT = "payment", _("Payment recorded")  # 回款入账
    PAYMENT_REVERSAL = "payment_reversal", _("Payment reversed")  # 回款冲正
    PAYMENT_CORRECTION = "payment_correction", _("Payment re-applied")  # 重新冲抵（冲正后溢缴款变动）
    COMMISSION = "commission", _("Agency commission")  # 佣金计提
    LEGAL_COST = "legal_cost", _("Legal cost")  # 诉讼费用
    LEGAL_FEE = "legal_fee", _("Law firm fee")  # 律师费
    COSTS_RECOVERED = "costs_recovered", _("Court costs recovered")  # 诉讼费用收回
    FIELD_VISIT = "field_visit", _("Field-visit fee")  # 外访费
    SETTLEMENT = "settlement", _("Statement paid")  # 结算付款
    SETTLEMENT_REFUND = "settlement_refund", _("Statement payment refunded")  # 结算退款
    REVERSAL = "reversal", _("Reversing entry")  # 冲销分录


class CounterpartyKind(models.TextChoices):
    NONE = "", _("None")
    AGENCY = "agency", _("Agency")
    LAW_FIRM = "law_firm", _("Law firm")


# The balance check, run at COMMIT (deferred constraint triggers): by then the session's search_path may name
# another tenant (a request or task that switched schema before committing), so the leg table is named in the
# schema of the row that fired the trigger (TG_TABLE_SCHEMA), never through the search_path.
BALANCE_DECLARE = [("n", "bigint"), ("total", "numeric")]
BALANCE_CHECK = """
        EXECUTE format('SELECT count(*), coalesce(sum(amount), 0) FROM %I.ledger_ledgerleg WHERE transaction_id = $1',
                       TG_TABLE_SCHEMA)
           INTO n, total USING {transaction_id};
        IF n < 2 THEN
            RAISE EXCEPTION 'ledger transaction % has fewer than two legs', {transaction_id} USING ERRCODE = '23514';
        END IF;
        IF total <> 0 THEN
            RAISE EXCEPTION 'ledger transaction % does not balance (legs sum to %)', {transaction_id}, total
                USING ERRCODE = '23514';
        END IF;
        RETURN NULL;
"""


class LedgerTransaction(models.Model):
    """One event, posted once: (kind, source_type, source_id) is unique, so a retried posting finds the first."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=24, choices=EntryKind.choices)
    # What the entry is for: "<app_label>.<model>" and the primary key, as text (the core never imports the apps).
    source_type = models.CharField(max_length=64)
    source_id = models.CharField(max_length=64)
    occurred_on = models.DateField(_("date"))
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # The database transaction that posted it (txid_current(), set by the database): legs join it in that one only.
    posted_in = models.BigIntegerField(db_default=models.Func(function="txid_current"), editable=False)

    class Meta:
        ordering = ["occurred_on", "created_at"]
        constraints = [models.UniqueConstraint(fields=["kind", "source_type", "source_id"], name="ledger_posted_once")]
        indexes = [models.Index(fields=["source_type", "source_id"], name="ledger_txn_source")]
        triggers = [
            pgtrigger.Protect(name="ledger_transaction_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            # A transaction must have legs, and they must sum to zero: checked at COMMIT, after every leg is in.
            pgtrigger.Trigger(
                name="ledger_transaction_balances",
                operation=pgtrigger.Insert,
                when=pgtrigger.After,
                timing=pgtrigger.Deferred,
                declare=BALANCE_DECLARE,
                func=BALANCE_CHECK.format(transaction_id="NEW.id"),
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.source_type}:{self.source_id} ({self.occurred_on})"


class LedgerLeg(models.Model):
    """One side of a transaction: an account, a signed amount (debit +, credit −) and its dimensions."""

    id = models.BigAutoField(primary_key=True)
    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="legs")
    account = models.CharField(_("account"), max_length=24, choices=Account.choices)
    amount = models.DecimalField(_("amount (CNY)"), **MONEY)
    case = models.ForeignKey("portal.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    counterparty = models.ForeignKey("tenants.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    counterparty_kind = models.CharField(max_length=12, choices=CounterpartyKind.choices, blank=True, default="")
    matter_id = models.UUIDField(null=True, blank=True)  # litigation.Matter (the core does not import litigation)
    product = models.CharField(_("product"), max_length=100, blank=True, default="")
    cohort_month = models.DateField(_("placement month"), null=True, blank=True)  # first day of the month
    month = models.DateField(_("month"))  # first day of the transaction's month (occurred_on), for trends

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["case", "account"], name="ledger_leg_case"),
            models.Index(fields=["matter_id"], name="ledger_leg_matter", condition=Q(matter_id__isnull=False)),
            models.Index(fields=["transaction"], name="ledger_leg_transaction"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_leg_not_zero"),
            models.CheckConstraint(condition=Q(month__day=1), name="ledger_leg_month_first_day"),
            models.CheckConstraint(condition=Q(cohort_month__isnull=True) | Q(cohort_month__day=1), name="ledger_leg_cohort_first_day"),
        ]
        triggers = [
            pgtrigger.Protect(name="ledger_leg_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            # A leg added later to a transaction committed before would escape the balance check (it runs once, at
            # the COMMIT that posted the transaction): a leg joins its transaction only in the database transaction
            # that posted it (posted_in), refused at once otherwise. Cheaper than re-checking the balance per leg at
            # COMMIT (bench_net_recovery measured that at about 2 ms a leg on a busy machine).
            pgtrigger.Trigger(
                name="ledger_leg_joins_its_own_posting",
                operation=pgtrigger.Insert,
                when=pgtrigger.Before,
                declare=[("posted", "bigint")],
                func="""
                    EXECUTE format('SELECT posted_in FROM %I.ledger_ledgertransaction WHERE id = $1', TG_TABLE_SCHEMA)
                       INTO posted USING NEW.transaction_id;
                    IF posted IS DISTINCT FROM txid_current() THEN
                        RAISE EXCEPTION 'ledger transaction % was posted before: a correction is a new, reversing entry',
                            NEW.transaction_id USING ERRCODE = '23514';
                    END IF;
                    RETURN NEW;
                """,
            ),
            # The running totals, one upsert per dimension tuple per INSERT statement, from its transition table.
            # ORDER BY: concurrent postings lock the total rows in one order (no deadlock between them). The totals
            # table is named in the leg table's schema (TG_TABLE_SCHEMA), not through the search_path; ON CONFLICT
            # names the NULLS NOT DISTINCT unique constraint, so a NULL counterparty or cohort is one row, not many.
            pgtrigger.Trigger(
                name="ledger_leg_totals",
                operation=pgtrigger.Insert,
                when=pgtrigger.After,
                level=pgtrigger.Statement,
                referencing=pgtrigger.Referencing(new="new_legs"),
                func="""
                    EXECUTE format($sql$
                        INSERT INTO %I.ledger_ledgertotal
                            (account, counterparty_id, counterparty_kind, product, cohort_month, month, amount, legs)
                        SELECT account, counterparty_id, counterparty_kind, product, cohort_month, month, sum(amount), count(*)
                          FROM new_legs
                         GROUP BY account, counterparty_id, counterparty_kind, product, cohort_month, month
                         ORDER BY account, counterparty_id, counterparty_kind, product, cohort_month, month
                        ON CONFLICT ON CONSTRAINT ledger_total_dimensions
                        DO UPDATE SET amount = ledger_ledgertotal.amount + EXCLUDED.amount,
                                      legs = ledger_ledgertotal.legs + EXCLUDED.legs
                    $sql$, TG_TABLE_SCHEMA);
                    RETURN NULL;
                """,
            ),
        ]

    def __str__(self):
        return f"{self.account} {self.amount}"


class LedgerTotal(models.Model):
    """Sum of the legs per dimension tuple, kept by the ``ledger_leg_totals`` trigger; read-only to the code."""

    id = models.BigAutoField(primary_key=True)
    account = models.CharField(max_length=24, choices=Account.choices)
    counterparty = models.ForeignKey("tenants.Organisation", null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+")
    counterparty_kind = models.CharField(max_length=12, choices=CounterpartyKind.choices, blank=True, default="")
    product = models.CharField(max_length=100, blank=True, default="")
    cohort_month = models.DateField(null=True, blank=True)
    month = models.DateField()
    amount = models.DecimalField(**MONEY)
    legs = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "counterparty", "counterparty_kind", "product", "cohort_month", "month"],
                name="ledger_total_dimensions",
                nulls_distinct=False,
            )
        ]
        triggers = [
            # Only the totals trigger writes here (it runs nested); a statement from the
            # application, an UPDATE or DELETE included, is refused, so the totals cannot drift from the legs.
            pgtrigger.Trigger(
                name="ledger_total_trigger_only",
                operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
                when=pgtrigger.Before,
                # Decided in the WHEN clause (depth 0: a statement of the application; 1: the totals trigger), so the
                # legitimate nested writes never enter PL/pgSQL (bench_net_recovery: 0.3 ms saved per total row).
                condition=pgtrigger.Condition("pg_trigger_depth() < 1"),
                func="""
                    RAISE EXCEPTION 'ledger totals are maintained by the ledger_leg_totals trigger only' USING ERRCODE = '42501';
                """,
            ),
        ]
