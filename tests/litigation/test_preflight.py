"""Pre-flight: every missing or inconsistent element listed at once, each with its code."""

import datetime

from litigation import preflight
from litigation.models import PlaintiffProfile
from tests.litigation.support import complete_matter


def codes(matter, **kwargs):
    return {problem.code for problem in preflight.problems(matter, **kwargs)}


def test_a_complete_matter_has_no_blocking_problem(acme):
    assert preflight.blocking(complete_matter(acme)) == []


def test_every_problem_is_listed(acme):
    matter = complete_matter(acme, exhibits=[])
    matter.court = ""
    matter.preservation_requested = True
    matter.save()
    debtor = matter.debtor
    debtor.address = ""
    debtor.id_number_ciphertext = __import__("portal.lib.crypto", fromlist=["encrypt"]).encrypt("440524198001010014")  # check char wrong
    debtor.save()
    PlaintiffProfile.objects.filter(pk=1).update(unified_social_credit_code="")
    case = matter.loans.get().case
    case.limitation_expires_on = datetime.date.today() - datetime.timedelta(days=1)
    case.limitation_review = True
    case.save()
    found = codes(matter)
    assert {
        "no_loan_contract",
        "no_disbursement_proof",
        "debtor_id_invalid",
        "debtor_address_missing",
        "plaintiff_incomplete",
        "no_court",
        "limitation_passed",
        "limitation_review",
        "preservation_incomplete",
    } <= found


def test_missing_loan_elements_and_interest_above_the_cap(acme):
    matter = complete_matter(acme)
    loan = matter.loans.get()
    loan.penalty_rate = None
    loan.save()
    assert "loan_elements_missing" in codes(matter)
    loan.penalty_rate = 36  # 36% a year penalty: above the 24% ceiling (法发〔2017〕22号)
    loan.apply_cap = False
    loan.save()
    assert "interest_above_cap" in codes(matter)
    loan.apply_cap = True
    loan.save()
    assert "interest_above_cap" not in codes(matter)


def test_an_altered_exhibit_is_unreadable(acme):
    matter = complete_matter(acme)
    document = matter.documents.first()
    document.sha256 = "0" * 64
    document.save()
    assert "exhibit_unreadable" in codes(matter)
