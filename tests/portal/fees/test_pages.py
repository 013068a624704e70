"""The statement screens end to end: the partner disputes a line with its reason, the lender decides it on the page,
the totals on the page always equal the sum of the lines shown; the PDF says what the statement says."""

import re
import subprocess
from decimal import Decimal

import pytest
from django.db import connection

from outsourcing.models import CommissionLine
from portal.fees import documents, services
from portal.fees.models import DisputeStatus, LineDispute, Statement
from portal.lib.money import format_cny
from tests.factories import finance
from tests.portal.fees.support import M4, day, in_review, issued, pay, placed

pytestmark = pytest.mark.django_db
D = Decimal


def shown_amounts(page: str, marker: str) -> list[Decimal]:
    """The amounts of a column on the page, read back from the "¥1,234.56" text."""
    return [D(value.replace(",", "")) for value in re.findall(rf"{marker}>¥(-?[\d,]+\.\d\d)<", page)]


def test_the_partner_disputes_a_line_and_the_lender_upholds_it_on_the_page(acme, client_for):
    world = acme
    a, b = placed(world, 2, prefix="PG")
    keep = pay(a, "1500.00", day(M4, 3), "PG-1")
    wrong = pay(b, "420.00", day(M4, 4), "PG-2")
    statement = in_review(world)
    partner = client_for("x_admin", host="acme")
    page = partner.get(f"/fees/{statement.pk}/").content.decode()
    assert "Dispute this line" in page and str(wrong.pk) in page
    response = partner.post(f"/fees/{statement.pk}/dispute/", {"line_id": str(wrong.pk), "reason": "该笔为借款人直接还款"}, follow=True)
    assert "Line disputed; the lender will decide." in response.content.decode()
    refused = partner.post(f"/fees/{statement.pk}/dispute/", {"line_id": str(keep.pk), "reason": ""}, follow=True).content.decode()
    assert "Choose a line and say why it is wrong." in refused
    connection.set_tenant(world.lenders["acme"])
    dispute = LineDispute.objects.get(statement=statement, line_id=wrong.pk)
    lender = client_for("acme_finance", host="acme")
    page = lender.get(f"/fees/{statement.pk}/").content.decode()
    assert "该笔为借款人直接还款" in page and "data-approve-blocked" in page and "1 line is under an open dispute" in page
    assert lender.post(f"/fees/{statement.pk}/approve/", follow=True).status_code == 200
    connection.set_tenant(world.lenders["acme"])
    assert Statement.objects.get(pk=statement.pk).status == "in_review"
    assert partner.post(f"/fees/disputes/{dispute.pk}/resolve/", {"outcome": "upheld", "resolution": "x"}).status_code == 403
    done = lender.post(f"/fees/disputes/{dispute.pk}/resolve/", {"outcome": "upheld", "resolution": "核实属实，移出本期"}, follow=True)
    assert "Dispute decided." in done.content.decode()
    connection.set_tenant(world.lenders["acme"])
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.UPHELD and dispute.resolved_by == finance(world)
    page = partner.get(f"/fees/{statement.pk}/").content.decode()
    assert "核实属实，移出本期" in page  # the partner reads the decision and its reasons
    lines = shown_amounts(page, '<td class="num"')
    connection.set_tenant(world.lenders["acme"])
    statement = Statement.objects.get(pk=statement.pk)
    assert CommissionLine.objects.filter(statement=statement).get() == keep
    assert f"data-sum-amount>{format_cny(statement.amount_total)}<" in page and f"data-amount-total>{format_cny(keep.commission)}<" in page
    assert keep.commission in lines and keep.recovered in lines


def test_the_partner_accepts_on_the_page(acme, client_for):
    world = acme
    a = placed(world, 1, prefix="PGA")[0]
    pay(a, "100.00", day(M4, 3), "PGA-1")
    statement = in_review(world)
    response = client_for("x_admin", host="acme").post(f"/fees/{statement.pk}/accept/", follow=True)
    assert f"You accepted statement {statement.number}." in response.content.decode()
    assert client_for("acme_finance", host="acme").post(f"/fees/{statement.pk}/accept/").status_code == 403  # the partner's act
    connection.set_tenant(world.lenders["acme"])
    assert Statement.objects.get(pk=statement.pk).accepted_by == world.people["x_admin"].user


def test_the_pdf_shows_number_partner_every_amount_and_the_total_and_is_reproducible(acme):
    world = acme
    a, b, c = placed(world, 3, prefix="PDF", principal="900000.00")
    for case, amount, n in ((a, "1234.56", 1), (b, "0.07", 2), (c, "88888.88", 3)):
        pay(case, amount, day(M4, n + 2), f"PDF-{n}")
    statement = issued(world)
    stored = services.issued_document(statement)
    again = documents.render_pdf(Statement.objects.get(pk=statement.pk))
    assert stored == again and documents.sha256(stored) == statement.document_sha256  # byte-identical renders
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=stored, capture_output=True, check=True).stdout.decode()
    flat = text.replace(" ", "")
    assert statement.number in text and "迅达催收X" in flat and "佣金结算单" in flat
    for line in CommissionLine.objects.filter(statement=statement):
        assert format_cny(line.commission).replace(" ", "") in flat and format_cny(line.recovered).replace(" ", "") in flat
    assert format_cny(statement.amount_total).replace(" ", "") in flat and format_cny(statement.base_total).replace(" ", "") in flat
    assert "草稿" not in flat  # approved: no draft marking


def test_a_money_columns_currency_is_said_in_the_language_of_the_document():
    """A kind without its own column headings (law firms' invoices) gets "<heading> (CNY)", translated as a whole:
    the Chinese document reads "律师费（元）" like the commission statement's "佣金（元）", not "律师费 (CNY)"."""
    from types import SimpleNamespace

    from django.utils import translation

    from portal.fees import kinds

    document = SimpleNamespace(kind=kinds.get("legal_fee"))
    with translation.override("en"):
        assert documents.label(document, "amount_column") == "Fee (CNY)"
        assert documents.label(document, "base_column") == "Recovered (CNY)"
    with translation.override("zh-hans"):
        amount = documents.label(document, "amount_column")
        assert amount.endswith("（元）") and "CNY" not in amount
