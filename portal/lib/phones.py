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


def is_phone(value: str) -> bool:
    return PHONE.fullmatch(value or "") is not None


# Mainland China's country code (国家代码), which a number may carry written as +86 or 86.
COUNTRY_CODE = "86"


def as_mobile(value: str) -> str | None:
    """The 11-digit mobile number a text is, or None. Hyphens and spaces are dropped and a leading +86 or 86
    removed (138-0013-8000, +86 13800138000 and 8613800138000 are all 13800138000); anything but ASCII
    digits is refused."""
    text = (value or "").strip().replace("-", "").replace(" ", "")
    if len(text) == 14 and text.startswith("+" + COUNTRY_CODE):
        text = text[3:]
    elif len(text) == 13 and text.startswith(COUNTRY_CODE):
        text = text[2:]
    return text if MOBILE.fullmatch(text) else None


def is_mobile(value: str) -> bool:
    """A number a text message can reach: a mainland mobile number, written in any form ``as_mobile`` reads."""
    return as_mobile(value) is not None


def mask(value: str) -> str:
    """A number as a screen shows it to someone who does not need it whole (PIPL art. 51 measures:
    去标识化): 13800138000 → 138****8000, 021-61234567 → 021****4567; a short number keeps only its last two."""
    number = (value or "").strip()
    if len(number) >= 7:
        return number[:3] + "****" + number[-4:]
    return "*" * max(len(number) - 2, 0) + number[-2:]
