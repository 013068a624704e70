"""Which column of the file holds which canonical field.

The template's names and the usual Chinese headers are recognised on their
own; any other layout is mapped once by a person and saved under a name for
the lender's next export (ColumnMapping).
"""

from dataclasses import dataclass, field

from .columns import ALIASES, BY_NAME, NAMES, REQUIRED, normalise_header
from .errors import IntakeError

# Options a saved mapping carries beside {canonical: header}, in the same JSON (ColumnMapping.mapping,
# ImportBatch.mapping). RATE_IS_FRACTION: the annual_rate column holds fractions (0.18 = 18%).
RATE_IS_FRACTION = "annual_rate_is_fraction"
OPTIONS = frozenset({RATE_IS_FRACTION})


def headers_of(saved: dict) -> dict:
    """A saved mapping's {canonical: header} part, without its options."""
    return {name: header for name, header in (saved or {}).items() if name not in OPTIONS}


@dataclass
class Mapping:
    indexes: dict  # canonical name -> column index in the file
    headers: dict  # canonical name -> the file's header text
    conflicts: list = field(default_factory=list)  # (canonical, first header, second header)
    rate_is_fraction: bool = False  # the annual_rate column holds fractions (saved as RATE_IS_FRACTION)

    @property
    def missing(self) -> list:
        return [name for name in REQUIRED if name not in self.indexes]

    @property
    def complete(self) -> bool:
        return not self.missing and not self.conflicts

    def as_saved(self) -> dict:
        """{canonical: source header}, the shape stored on a batch and in a ColumnMapping."""
        saved = {name: self.headers[name] for name in NAMES if name in self.headers}
        if self.rate_is_fraction:
            saved[RATE_IS_FRACTION] = True
        return saved

    def check(self):
        """Raise IntakeError unless every required field has exactly one column."""
        if self.conflicts:
            name, first, second = self.conflicts[0]
            raise IntakeError("duplicate_header", column=name, first=first, second=second)
        if self.missing:
            raise IntakeError("missing_columns", columns=", ".join(f"{name} ({BY_NAME[name].aliases[0]})" for name in self.missing))


def resolve(headers: list, chosen: dict | None = None, *, fallback: bool = True) -> Mapping:
    """Map the file's headers: the chosen {canonical: header} first, then (with ``fallback``) names and aliases for the rest.

    A header used by a choice is not matched again; a chosen header the file
    does not have is simply not mapped (the mapping step will ask). A mapping
    a person made (the mapping form, a batch's stored mapping) is used as it
    is, without fallback.
    """
    by_header = {}
    for index, header in enumerate(headers):
        by_header.setdefault(normalise_header(header), index)
    indexes, labels, used = {}, {}, set()
    for name, header in (chosen or {}).items():
        if name not in BY_NAME or not header:
            continue
        index = by_header.get(normalise_header(header))
        if index is not None and index not in used:
            indexes[name], labels[name] = index, str(headers[index]).strip()
            used.add(index)
    conflicts = []
    for index, header in enumerate(headers if fallback else ()):
        if index in used:
            continue
        name = ALIASES.get(normalise_header(header))
        if name is None:
            continue
        if name in indexes:
            if not chosen or name not in chosen:
                conflicts.append((name, labels[name], str(header).strip()))
            continue
        indexes[name], labels[name] = index, str(header).strip()
        used.add(index)
    return Mapping(indexes=indexes, headers=labels, conflicts=conflicts, rate_is_fraction=bool((chosen or {}).get(RATE_IS_FRACTION)))


def covers(saved: dict, headers: list) -> bool:
    """Does a saved mapping fit this file (every header it names is present)?"""
    present = {normalise_header(header) for header in headers}
    saved = headers_of(saved)
    return bool(saved) and all(normalise_header(header) in present for header in saved.values())
