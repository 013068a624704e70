"""One definition each (issue item 16): a placement in force, a case's balance, buckets, percent display, CSV
writing, mobile numbers and file responses are each computed in one place, and every caller uses it.

Each definition is pinned by what it must do; a source check fails if a second definition appears."""

import datetime
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Template
from django.utils import timezone

from portal import buckets
from portal.lib import downloads, phones
from portal.lib.money import format_percent, percent
from portal.models import Case, Debtor, bucket_for
from tests.factories import CaseFactory

ROOT = Path(settings.BASE_DIR)
TREES = ("portal", "outsourcing", "config", "demo", "tenants")


def sources(*, suffixes=(".py",), trees=TREES, skip=()):
    """(relative path, text) of the project's source files, migrations left out."""
    for tree in trees:
        for path in sorted((ROOT / tree).rglob("*")):
            relative = path.relative_to(ROOT).as_posix()
            if path.suffix in suffixes and "/migrations/" not in relative and relative not in skip:
                yield relative, path.read_text(encoding="utf-8")


def offenders(pattern, *, skip=(), suffixes=(".py",), trees=TREES):
    found = re.compile(pattern)
    return [
        f"{relative}:{number}"
        for relative, text in sources(suffixes=suffixes, trees=trees, skip=skip)
        for number, line in enumerate(text.splitlines(), start=1)
        if found.search(line)
    ]


# ----------------------------------------------------------------- buckets (PRODUCT.md glossary)


@pytest.mark.parametrize(
    ("dpd", "bucket"),
    [
        (-3, "M0"),
        (0, "M0"),
        (1, "M1"),
        (30, "M1"),
        (31, "M2"),
        (60, "M2"),
        (61, "M3"),
        (120, "M4"),
        (121, "M5"),
        (150, "M5"),
        (151, "M6+"),
        (4000, "M6+"),
    ],
)
def test_a_bucket_is_thirty_days_of_arrears_from_m1_to_m6_plus(dpd, bucket):
    """M1 = 1–30 days past due, M2 = 31–60, … M6+ from 151 days; not overdue is M0."""
    assert bucket_for(dpd) == bucket == buckets.bucket_for(dpd)


def test_the_buckets_are_listed_once_in_order():
    assert buckets.BUCKETS == ("M1", "M2", "M3", "M4", "M5", "M6+")
    from outsourcing import models as outsourcing_models

    assert outsourcing_models.BUCKETS is buckets.BUCKETS


def test_a_buckets_day_range_holds_exactly_the_days_bucket_for_puts_in_it():
    for dpd in range(1, 400):
        first, last = buckets.dpd_range(bucket_for(dpd))
        assert first <= dpd and (last is None or dpd <= last), dpd
    with pytest.raises(ValueError):
        buckets.dpd_range("M7")


def test_the_bucket_filter_selects_what_bucket_for_says(acme):
    today = timezone.localdate()
    edges = {dpd: CaseFactory(dpd=dpd, product="一义-账龄") for dpd in (0, 1, 30, 31, 60, 61, 150, 151, 400)}
    mine = Case.objects.filter(product="一义-账龄")
    for bucket in buckets.BUCKETS:
        chosen = set(mine.filter(buckets.condition([bucket], today=today)).values_list("pk", flat=True))
        assert chosen == {case.pk for dpd, case in edges.items() if bucket_for(dpd) == bucket}, bucket
    both = set(mine.filter(buckets.condition(["M1", "M6+"], today=today)).values_list("pk", flat=True))
    assert both == {edges[d].pk for d in (1, 30, 151, 400)}
    assert not mine.filter(buckets.condition([], today=today)).exists()  # no bucket chosen: nothing, never everything


# ----------------------------------------------------------------- a case's balance


def test_a_cases_balance_is_principal_interest_penalty_and_fees_in_python_and_in_sql(acme):
    case = CaseFactory(principal_due="1000.10", interest_due="200.20", penalty_due="30.03", fees_due="4.00", product="一义-余额")
    assert case.balance == Decimal("1234.33")
    assert Case.objects.filter(pk=case.pk).annotate(b=Case.balance_expression()).get().b == Decimal("1234.33")
    from outsourcing import allocation

    assert allocation.total_balance(Case.objects.filter(pk=case.pk)) == Decimal("1234.33")


# ----------------------------------------------------------------- percent display


def test_a_rate_is_shown_as_a_percentage_rounded_half_up():
    assert format_percent(Decimal("0.1825")) == "18.25%"
    assert format_percent(Decimal("0.16")) == "16.00%"
    assert format_percent(Decimal("0.00125")) == "0.13%"  # half up, not to even (0.12%)
    assert format_percent(Decimal("0.12345"), 1) == "12.3%" and format_percent(Decimal("0.5"), 0) == "50%"
    assert format_percent(None) == "—" and percent("0.1825") == Decimal("18.25")
    with pytest.raises(TypeError):
        format_percent(0.1825)  # a float is not a rate


def test_templates_scorecards_and_statements_show_percentages_the_same_way():
    from outsourcing import scorecards
    from portal.fees import documents, kinds

    rendered = Template("{% load money %}{{ r|percent }} {{ r|percent:1 }} {{ none|percent }} {{ junk|percent }}").render(
        Context({"r": Decimal("0.00125"), "none": None, "junk": "abc"})
    )
    assert rendered == "0.13% 0.1% — —"
    assert scorecards.percent(Decimal("0.12345")) == "12.3%" and scorecards.percent(None) == "—"
    row = kinds.Row(
        line_id=1,
        date=datetime.date(2026, 1, 1),
        case_ref="C",
        description="R",
        base=Decimal(1),
        rate=Decimal("0.00125"),
        amount=Decimal(0),
    )
    assert documents.rate_percent(row) == Decimal("0.13")


# ----------------------------------------------------------------- mobile numbers


@pytest.mark.parametrize("number", ["13800138000", "+8613800138000", "8613800138000", "138-0013-8000", " 13800138000 "])
def test_a_mainland_mobile_number_is_recognised_in_its_usual_spellings(number):
    assert phones.is_mobile(number) and phones.as_mobile(number) == "13800138000"
    assert phones.as_mobile("19912345678") == "19912345678"


@pytest.mark.parametrize(
    "number",
    [
        "12800138000",  # 12x is no mobile prefix (MIIT numbering plan: 13x–19x)
        "1380013800",  # ten digits
        "021-61234567",  # a landline
        "１３８００１３８０００",  # full-width digits: folded by intake, never by the check
        "1٣٨٠٠١٣٨٠٠٠",  # Arabic-Indic digits after a 1: str.isdigit() says yes, no gateway does
        "",
        None,
    ],
)
def test_anything_else_is_not_a_mobile_number(number):
    assert not phones.is_mobile(number) and phones.as_mobile(number) is None


def test_a_number_is_masked_one_way_everywhere():
    assert phones.mask("13800138000") == "138****8000" and phones.mask("02161234567") == "021****4567"
    assert phones.mask("12345") == "***45" and phones.mask("") == ""
    assert Debtor(mobile="13800138000").mobile_masked == "138****8000"
    assert Debtor(mobile="12345").mobile_masked == "***45"  # a short number is masked too, never shown whole


def test_intake_reads_a_mobile_with_the_same_rules():
    from portal.intake.validation import CellError, clean_mobile

    assert clean_mobile("+86 138-0013-8000") == "13800138000"
    with pytest.raises(CellError):
        clean_mobile("12800138000")


# ----------------------------------------------------------------- file responses


def test_a_stored_file_leaves_as_a_sandboxed_download_with_its_name_encoded():
    response = downloads.stored_file(io.BytesIO(b"a,b\n"), filename="报表 2026.csv")
    assert response["Content-Disposition"].startswith("attachment;") and "filename*=utf-8''" in response["Content-Disposition"]
    assert response["Content-Security-Policy"] == "sandbox" and response["Content-Type"].startswith("text/csv")
    quoted = downloads.attachment(b"x", 'a"b.csv', "text/csv")
    assert quoted["Content-Disposition"] == 'attachment; filename="a\\"b.csv"' and quoted["Content-Security-Policy"] == "sandbox"
    photo = downloads.stored_file(io.BytesIO(b"\xff\xd8"), filename=None, content_type="image/jpeg", inline=True)
    assert photo["Content-Disposition"] == "inline" and photo["Content-Security-Policy"] == "sandbox"


# ----------------------------------------------------------------- no second definition


def test_no_second_definition_of_a_placement_in_force():
    """``Placement.objects.active()`` is "in force"; allocation's candidate filter is the one documented
    exception (a placement whose term is over but not yet marked expired does not block a new one)."""
    assert (
        offenders(
            r"PlacementStatus\.ACTIVE,\s*ends_at__gt|placement__ends_at__gt|placement__status=PlacementStatus\.ACTIVE",
            skip=("outsourcing/models.py", "outsourcing/allocation.py"),
        )
        == []
    )


def test_no_second_sum_of_a_cases_balance():
    assert offenders(r"principal_due\"?\)?\s*\+|\+\s*(?:F\(\")?fees_due", skip=("portal/models.py",)) == []


def test_no_second_list_of_buckets_or_bucket_rule():
    assert offenders(r"^\s*BUCKETS\s*=|def bucket_for\b|def bucket_condition", skip=("portal/buckets.py",)) == []


def test_no_second_percent_formatting():
    # Not display: intake/parsing.py turns Excel's 0.1825 into the text "18.25%" the validators read, unrounded.
    # outsourcing/templatetags/outsourcing.py: rate_percent is no longer used by any template (to delete).
    skip = ("portal/lib/money.py", "portal/intake/parsing.py", "outsourcing/templatetags/outsourcing.py")
    assert offenders(r"\*\s*(?:100|HUNDRED)\b.*\}%", skip=skip) == []
    assert offenders(r"\|\s*floatformat|\|\s*rate_percent", suffixes=(".html",), trees=("templates",)) == []


def test_every_csv_is_written_by_csv_bytes():
    assert offenders(r"csv\.(?:writer|DictWriter)\(", skip=("portal/lib/spreadsheet.py",)) == []


def test_every_file_response_goes_through_downloads():
    assert offenders(r"FileResponse\(|\[\"Content-Disposition\"\]\s*=", skip=("portal/lib/downloads.py",)) == []


def test_no_second_phone_check_or_mask():
    assert offenders(r"def (?:is_mobile_number|mask_phone)|\.isdigit\(\).*phone|\"\*\*\*\*\"", skip=("portal/lib/phones.py",)) == []
