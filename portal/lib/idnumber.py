"""Resident identity card numbers (居民身份证号码), GB 11643-1999.

18 characters: 6-digit address code, 8-digit birth date, 3-digit sequence
(odd for men, even for women), and an ISO 7064 MOD 11-2 check character.
"""
import datetime
import re

from django.utils import timezone

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_PATTERN = re.compile(r"^\d{17}[\dX]$")


def check_char(first17: str) -> str:
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def validate(value: str) -> str | None:
    """Return None if valid, else the reason (translatable text is the caller's job)."""
    value = (value or "").strip().upper()
    if not _PATTERN.match(value):
        return "must be 17 digits followed by a digit or X"
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
