"""PS3.15 Table E.1-1 as data: one `AnnexERule` per attribute, and the rule that applies to a tag.

`annex_e_table` reads ``course_utils/annex_e_table.csv`` (DICOM 2024b, 621 rows); `action_for`
finds the row for a tag, exact tags first, then the repeating groups (50xx,xxxx) and
(60xx,3000/4000). Each row resolves to one action: ``C`` where the Modified Dates option cleans
the attribute, else its Basic Profile action with compounds resolved by `COMPOUND` (see
`course_utils.deidentify` for why each compound resolves as it does).
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from importlib import resources

__all__ = ["ANNEX_E_REMOVED", "ANNEX_E_EMPTIED", "AnnexERule", "annex_e_table", "action_for"]

#: The table's file, shipped inside the package ``course_utils`` (pyproject's package-data).
TABLE_FILE = "annex_e_table.csv"
#: How a compound basic-profile action resolves (see `course_utils.deidentify`).
COMPOUND = {"X/Z": "Z", "X/D": "D", "Z/D": "D", "X/Z/D": "D", "X/Z/U*": "U"}


@dataclass(frozen=True)
class AnnexERule:
    """One row of PS3.15 Table E.1-1 as the course uses it.

    ``tag`` as printed in the standard (``"(0010,0010)"``, or a pattern such as
    ``"(50XX,XXXX)"``); ``basic`` the Basic Profile action (``X``, ``Z``, ``D``, ``U`` or a
    compound such as ``X/Z/D``); ``modified_dates`` ``"C"`` where the Modified Dates option
    cleans (shifts) the attribute, else ``""``; ``action`` the single action applied.
    """

    tag: str
    keyword: str
    name: str
    basic: str
    modified_dates: str

    @property
    def action(self) -> str:
        if self.modified_dates == "C":
            return "C"
        return COMPOUND.get(self.basic, self.basic)

    @property
    def basic_resolved(self) -> str:
        """The basic action with compounds resolved (used where ``C`` cannot apply)."""
        return COMPOUND.get(self.basic, self.basic)


@functools.lru_cache(maxsize=1)
def annex_e_table() -> tuple[AnnexERule, ...]:
    """PS3.15 Table E.1-1 (DICOM 2024b) as `AnnexERule` rows, read from ``annex_e_table.csv``.

    Examples
    --------
    >>> rules = {rule.keyword: rule for rule in annex_e_table()}
    >>> len(annex_e_table()), rules["OperatorsName"].basic, rules["OperatorsName"].action
    (621, 'X/Z/D', 'D')
    >>> rules["StudyTime"].basic, rules["StudyTime"].action
    ('Z', 'C')
    """
    text = resources.files("course_utils").joinpath(TABLE_FILE).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    reader = csv.DictReader(lines)
    return tuple(
        AnnexERule(
            r["tag"], r["keyword"], r["name"], r["basic_profile"], r["modified_dates_option"]
        )
        for r in reader
    )


@functools.lru_cache(maxsize=1)
def rules_by_tag() -> dict[int, AnnexERule]:
    """The rows with an exact tag, keyed by the tag as an int."""
    rules = {}
    for rule in annex_e_table():
        match = re.fullmatch(r"\(([0-9A-F]{4}),([0-9A-F]{4})\)", rule.tag)
        if match:
            rules[int(match.group(1) + match.group(2), 16)] = rule
    return rules


def action_for(tag: int) -> AnnexERule | None:
    """The Table E.1-1 row that applies to ``tag`` (exact tags, then 50xx/60xx patterns).

    Examples
    --------
    >>> action_for(0x00081070).name, action_for(0x60023000).name, action_for(0x00280010)
    ("Operators' Name", 'Overlay Data', None)
    """
    rule = rules_by_tag().get(int(tag))
    if rule is not None:
        return rule
    group, element = int(tag) >> 16, int(tag) & 0xFFFF
    even_repeating = group % 2 == 0 and group & 0xFF <= 0x1E
    patterns = {rule.tag: rule for rule in annex_e_table()}
    if group & 0xFF00 == 0x5000 and even_repeating:
        return patterns["(50XX,XXXX)"]
    if group & 0xFF00 == 0x6000 and even_repeating and element in (0x3000, 0x4000):
        return patterns[f"(60XX,{element:04X})"]
    return None


def _keywords_with(action: str) -> tuple[str, ...]:
    return tuple(sorted(r.keyword for r in annex_e_table() if r.keyword and r.action == action))


#: Keywords of Table E.1-1 removed (X after resolving compounds) and emptied (Z).
ANNEX_E_REMOVED: tuple[str, ...] = _keywords_with("X")
ANNEX_E_EMPTIED: tuple[str, ...] = _keywords_with("Z")
