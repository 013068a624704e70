"""The objects tests build, made one way (factory_boy): small, explicit, through the real services where one exists.

Call them inside a lender's schema (the ``acme``/``beta`` fixtures of tests/conftest.py, or ``tenant_context``):

    case = CaseFactory(principal_due=Decimal("1000.00"), dpd=45)
    cases = CaseFactory.create_batch(3, product="分案-百分比")
    placed = place(world, cases, agency="xagency", now=moment)      # outsourcing.placement.place_cases
    one = PlacementFactory(case=case, partner=world.orgs["xagency"], placed_by=manager(world))
    payment = PaymentFactory(case=case, amount="300.00", paid_on=day, reference="BK-1")  # record_payment

A case is made as an import leaves it: the debt's due date recorded as limitation evidence (民法典 art. 188,
portal.limitation.period_start) and its first balance snapshot. ``imported=False`` leaves both out, for the few
tests that count exactly the events or history rows their own actions write.
"""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone
from django_tenants.utils import tenant_context

from outsourcing import placement as placement_service
from outsourcing.models import Placement
from portal import limitation
from portal.intake.committing import EVENT_SOURCE  # the source_type of evidence an import recorded
from portal.models import BalanceSnapshot, Case, CaseStatus, Debtor, LimitationEvent, LimitationEventKind
from portal.payments import services as payment_services
from portal.payments.models import Payment, PaymentSource

# A valid GB 11643 number (born 1949-12-31), the one tests/world.py gives its first canary.
ID_NUMBER = "11010519491231002X"
IMPORT_SOURCE = "import:factory"  # BalanceSnapshot.source of the snapshot a factory case starts with
DUE = LimitationEventKind.DUE.value
MONEY_FIELDS = ("loan_amount", "principal_due", "interest_due", "penalty_due", "fees_due")


def manager(world, lender="acme"):
    """The lender's collections manager (places and recalls cases)."""
    return world.people[f"{lender}_manager"].user


def finance(world, lender="acme"):
    """The lender's finance person (records and reverses payments, drafts statements)."""
    return world.people[f"{lender}_finance"].user


class DebtorFactory(factory.django.DjangoModelFactory):
    """A borrower (借款人) with an encrypted, valid ID number."""

    class Meta:
        model = Debtor

    name = factory.Sequence(lambda n: f"债务人{n}")
    mobile = "13800138000"
    address = "上海市浦东新区世纪大道100号"
    id_number = ID_NUMBER  # not a column: Debtor.set_id_number encrypts it and keeps the blind index and the mask

    @classmethod
    def _create(cls, model_class, *args, id_number, **kwargs):
        debtor = model_class(*args, **kwargs)
        debtor.set_id_number(id_number)
        debtor.save()
        return debtor


class CaseFactory(factory.django.DjangoModelFactory):
    """A defaulted loan (案件), ``dpd`` days past due today, worked by the lender itself until it is placed."""

    class Meta:
        model = Case

    class Params:
        dpd = 45  # days past due today: 45 is bucket M2
        prefix = "HT-F"  # contract numbers read <prefix>-0000001, <prefix>-0000002, ...

    debtor = factory.SubFactory(DebtorFactory)
    contract_no = factory.LazyAttributeSequence(lambda o, n: f"{o.prefix}-{n:07d}")
    product = "随心贷"
    region = "上海"
    loan_amount = Decimal("20000.00")
    principal_due = Decimal("1000.00")
    interest_due = Decimal("0.00")
    overdue_since = factory.LazyAttribute(lambda o: timezone.localdate() - datetime.timedelta(days=o.dpd))
    status = CaseStatus.INTERNAL

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        for name in MONEY_FIELDS:  # amounts may be written "1000.00"; the case then holds Decimals, as a fetched one would
            if name in kwargs and not isinstance(kwargs[name], Decimal):
                kwargs[name] = Decimal(str(kwargs[name]))
        return kwargs

    imported = True  # not a column: write what an import writes with a new case (False: a case with no evidence at all)

    @classmethod
    def _create(cls, model_class, *args, imported, **kwargs):
        """Like portal.intake.committing: the expiry is computed before the insert and stored with it, then the DUE
        event (民法典 art. 188, from limitation.period_start) and the first balance snapshot are written."""
        if not imported:
            return model_class.objects.create(*args, **kwargs)
        due_on = limitation.period_start(
            overdue_since=kwargs["overdue_since"],
            repayment_method=kwargs.get("repayment_method", ""),
            disbursed_on=kwargs.get("disbursed_on"),
            term_months=kwargs.get("term_months"),
            accelerated_on=kwargs.get("accelerated_on"),
        )
        walked = limitation.walk([(DUE, due_on)])
        case = model_class.objects.create(*args, limitation_expires_on=walked.expiry, limitation_review=walked.review, **kwargs)
        LimitationEvent.objects.create(
            case=case,
            kind=DUE,
            occurred_on=due_on,
            source_type=EVENT_SOURCE,
            evidence=f"Import of factory.csv, row {case.contract_no}",
            effect=dict(walked.steps)[(DUE, due_on)],
        )
        BalanceSnapshot.objects.create(
            case=case,
            as_of=timezone.localdate(),
            principal_due=case.principal_due,
            interest_due=case.interest_due,
            penalty_due=case.penalty_due,
            fees_due=case.fees_due,
            source=IMPORT_SOURCE,
        )
        return case


def place(world, cases, *, agency="xagency", lender="acme", now=None) -> list[Placement]:
    """Place ``cases`` with ``agency`` as the lender's manager would: one place_cases call, all of them or none.

    Runs in the lender's schema, so it may be called from outside it (a page test between two requests)."""
    with tenant_context(world.lenders[lender]):
        return placement_service.place_cases(cases=list(cases), partner=world.orgs[agency], placed_by=manager(world, lender), now=now)


class PlacementFactory(factory.Factory):
    """One case placed (委案) through place_cases: the agreement in force, licence, capacity and rotation all apply."""

    class Meta:
        model = Placement

    case = factory.SubFactory(CaseFactory)
    partner = None  # an agency Organisation with an agreement, e.g. world.orgs["xagency"]
    placed_by = None
    now = None

    @classmethod
    def _create(cls, model_class, *, case, partner, placed_by=None, now=None):
        return placement_service.place_cases(cases=[case], partner=partner, placed_by=placed_by, now=now)[0]

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise TypeError("a placement exists only once place_cases has made it: use PlacementFactory(...) (create)")


class PaymentFactory(factory.Factory):
    """A payment the lender received, recorded through record_payment (balances, limitation, commission, audit)."""

    class Meta:
        model = Payment

    case = factory.SubFactory(CaseFactory)
    amount = Decimal("100.00")
    paid_on = factory.LazyFunction(timezone.localdate)
    reference = factory.Sequence(lambda n: f"BK-F{n:07d}")  # the bank's serial number (流水号)
    source = PaymentSource.MANUAL

    @classmethod
    def _create(cls, model_class, **kwargs):
        payment, _created = payment_services.record_payment(**kwargs)
        return payment

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise TypeError("a payment exists only once record_payment has applied it: use PaymentFactory(...) (create)")


def phone_call(world, *, case, placement, collector, now, agency="xagency", number_kind="mobile", **kwargs):
    """A collector's call to the debtor's number, started through the workbench service (conduct rules applied)."""
    from outsourcing.workbench import services

    return services.start_attempt(
        case=case,
        placement=placement,
        agency=world.orgs[agency],
        collector=collector,
        channel="phone",
        number_kind=number_kind,
        now=now,
        **kwargs,
    )
