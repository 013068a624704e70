"""The net-recovery dashboard, its exports and the case page's panel: who may see them and what they show."""

import csv
import datetime
import io
import re
import uuid
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils.http import urlencode
from django_tenants.utils import tenant_context

from portal import case_panels
from portal.ledger.models import Account, EntryKind
from portal.ledger.posting import Leg, post
from tests.factories import CaseFactory
from tests.portal.ledger.test_reports import hand_built, product_of_its_own

pytestmark = pytest.mark.django_db
INJECTION = "=cmd|' /C calc'!A0"


def booked(world, product):
    with tenant_context(world.lenders["acme"]):
        return hand_built(world, product)


def test_finance_sees_the_figures_the_trend_and_the_partners(world, client_for):
    product = product_of_its_own()
    booked(world, product)
    response = client_for("acme_finance", host="acme").get(
        "/ledger/?" + urlencode({"month_from": "2026-01", "month_to": "2026-03", "product": product})
    )
    assert response.status_code == 200
    body = response.content.decode()
    for figure in ("¥10,500.00", "¥2,480.00", "¥8,020.00", "¥0.2362"):  # recovered, cost, net, cost per yuan
        assert figure in body
    assert "<svg" in body and "<title" in body and "<desc" in body  # the charts, with their accessible text
    assert not re.search(r"<script(?![^>]*\bsrc=)", body)  # no inline script (CSP 'self'): the charts are plain SVG
    assert world.orgs["xagency"].name in body and world.orgs["lfirm"].name in body
    assert "-¥980.00" in body  # the law firm's net: costs, nothing recovered through it


def test_the_empty_ledger_says_so(world, client_for):
    response = client_for("beta_admin", host="beta").get("/ledger/")
    assert response.status_code == 200
    assert "The fee ledger is empty." in response.content.decode()


@pytest.mark.parametrize("persona", ["x_admin", "x_collector", "l_lawyer", "acme_manager", "acme_lawyer"])
def test_partners_collectors_and_other_staff_are_refused(world, client_for, persona):
    client = client_for(persona, host="acme")
    for path in ("/ledger/", "/ledger/export.csv", "/ledger/export.xlsx"):
        response = client.get(path)
        assert response.status_code in (403, 404), (path, response.status_code)
        assert b"Net recovery" not in response.content


def formula_world(world):
    """A product and an agency whose names a spreadsheet would run as a formula."""
    from tenants.models import Organisation

    product = INJECTION + uuid.uuid4().hex[:6]
    agency = Organisation.objects.create(slug=f"evil-{uuid.uuid4().hex[:8]}", name=INJECTION + " 代理", kind="agency")
    with tenant_context(world.lenders["acme"]), transaction.atomic():
        case = CaseFactory(prefix="NR-EVIL", product=product)
        dims = {"case": case, "counterparty": agency}
        post(
            kind=EntryKind.PAYMENT,
            source=("tests.reports", uuid.uuid4().hex),
            occurred_on=datetime.date(2026, 2, 5),
            legs=[Leg(Account.CASH, Decimal("99.50"), **dims), Leg(Account.RECOVERIES, Decimal("-99.50"), **dims)],
        )
    return product


def test_the_csv_neutralises_formulas_and_keeps_money_as_numbers(world, client_for):
    product = formula_world(world)
    response = client_for("acme_finance", host="acme").get(
        "/ledger/export.csv?" + urlencode({"month_from": "2026-02", "month_to": "2026-02", "product": product})
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)
    assert "'" + product in cells and "'" + INJECTION + " 代理" in cells
    assert ["'" + INJECTION + " 代理", "Agency", "99.50", "0.00", "99.50", "0.0000"] in rows


def test_the_xlsx_neutralises_formulas_and_formats_money(world, client_for):
    from openpyxl import load_workbook

    product = formula_world(world)
    response = client_for("acme_finance", host="acme").get(
        "/ledger/export.xlsx?" + urlencode({"month_from": "2026-02", "month_to": "2026-02", "product": product})
    )
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert not any(cell.data_type == "f" for cell in cells)
    assert not any(isinstance(cell.value, str) and cell.value.startswith("=") for cell in cells)
    partner_rows = [[c.value for c in row] for row in book.worksheets[2].iter_rows()]
    evil = next(row for row in partner_rows if row[0] == "'" + INJECTION + " 代理")
    assert evil[2] == Decimal("99.50") or evil[2] == 99.5
    money_cell = next(row for row in book.worksheets[2].iter_rows() if row[0].value == evil[0])[2]
    assert money_cell.number_format == "#,##0.00" and money_cell.data_type == "n"


@pytest.fixture
def ledger_panel():
    from portal.ledger import case_panels as ledger_panels

    before = dict(case_panels.CASE_PANELS)
    ledger_panels.register()
    yield
    case_panels.CASE_PANELS.clear()
    case_panels.CASE_PANELS.update(before)


def test_the_case_page_shows_the_case_books_to_finance_only(world, client_for, ledger_panel):
    product = product_of_its_own()
    case = booked(world, product)
    page = client_for("acme_finance", host="acme").get(f"/cases/{case.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="net-recovery"' in body
    for figure in ("¥10,500.00", "¥1,500.00", "-¥120.00", "¥8,020.00"):  # recovered, commission, costs recovered, net
        assert figure in body
    manager = client_for("acme_manager", host="acme").get(f"/cases/{case.pk}/")
    assert manager.status_code == 200 and 'id="net-recovery"' not in manager.content.decode()
