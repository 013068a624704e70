"""Resident identity card numbers (居民身份证号码), GB 11643-1999.

18 characters: 6-digit address code, 8-digit birth date, 3-digit sequence
(odd for men, even for women), and an ISO 7064 MOD 11-2 check character.
"""

import datetime
import re

from django.utils import timezone

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
# ASCII digits only (re.ASCII; ``\d`` would accept the digits of other scripts, which int() then reads).
_PATTERN = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
# The first two digits: a province-level division of GB/T 2260 (中华人民共和国行政区划代码): 11–15 North, 21–23
# North-east, 31–37 East, 41–46 Central-South, 50–54 South-west, 61–65 North-west; 71 Taiwan, 81 Hong Kong,
# 82 Macao; and 83, the code of the residence permits for residents of Hong Kong, Macao and Taiwan
# (港澳台居民居住证, 国务院办公厅 国办发〔2018〕81号《港澳台居民居住证申领发放办法》, numbered under GB 11643).
REGIONS = frozenset({*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55), *range(61, 66), 71, 81, 82, 83})


def check_char(first17: str) -> str:
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def validate(value: str) -> str | None:
    """Return None if valid, else the reason (translatable text is the caller's job)."""
    value = (value or "").strip().upper()
    if not _PATTERN.fullmatch(value):
        return "must be 17 digits followed by a digit or X"
    if int(value[:2]) not in REGIONS:
        return "region code is not a province of GB/T 2260"
    try:
        born = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "contains an impossible birth date"
    if born > timezone.localdate() or born.year < 1900:
        return "contains an impossible birth date"
    if check_char(value[:17]) != value[17]:
        return "check character does not match (GB 11643)"
    return None


def is_valid(value: str) -> bool:
    return validate(value) is None


def mask(value: str) -> str:
    """Show the region and the last four only: 110***********1234 (ASVS 14.2.6)."""
    value = (value or "").strip()
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
