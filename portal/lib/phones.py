"""Phone numbers: the one definition of what the portal accepts.

ASCII digits only: a regular expression's ``\\d`` on text also matches the digits of other scripts
(Arabic-Indic ٠١٢, Devanagari, full-width ０-９ …), which no dialler or SMS gateway accepts and which would
defeat lookups and masking. Full-width digits a spreadsheet produced are folded to ASCII by the caller
(NFKC) before they are checked here; anything else that is not [0-9] is refused.
"""
import re

# A mainland China mobile number (手机号): 11 digits, 1 then 3–9 (MIIT numbering plan, 13x–19x).
MOBILE = re.compile(r"1[3-9][0-9]{9}", re.ASCII)
# Any phone the portal keeps (landline with area code and extension, or mobile): an optional +, then 7–20
# characters of ASCII digits and hyphens, starting with a digit.
PHONE = re.compile(r"\+?[0-9][0-9-]{6,19}", re.ASCII)


def is_mobile(value: str) -> bool:
    return MOBILE.fullmatch(value or "") is not None


def is_phone(value: str) -> bool:
    return PHONE.fullmatch(value or "") is not None
