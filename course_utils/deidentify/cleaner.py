"""The element cleaner: Table E.1-1 applied to every element of a dataset, at every level.

`_Cleaner` walks a dataset (and the file meta group) element by element, finds each one's row
**by tag** (`annex_e.action_for`; never by VR: an Operators' Name stored as LO is still a name)
and applies its action: X removes, Z empties, D gives a dummy of the element's own VR (a fake
name from dicognito for PN, a seeded token for text, 0 for numbers), U remaps UIDs
(`uids`), C shifts dates (`dates`). Sequences are entered; inside a sequence whose action is D,
free text the table does not list is replaced too. Nothing here is public API:
`course_utils.deidentify.profile` runs it.
"""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping

from .annex_e import action_for
from .dates import DATE_VRS, _date_offset, _shifted
from .uids import _MappedUIDs

__all__: list[str] = []

FREE_TEXT_VRS = {"AE", "LO", "LT", "PN", "SH", "ST", "UC", "UT"}
BINARY_VRS = {"US", "SS", "UL", "SL", "FL", "FD", "UV", "SV", "AT"}
BINARY_VRS |= {"OB", "OW", "OD", "OF", "OL", "OV", "UN"}


class _Cleaner:
    """Applies Table E.1-1 to a dataset in place, recursing into sequences."""

    def __init__(self, seed: str, uid_map: MutableMapping[str, str], keep, where: str) -> None:
        from dicognito.pnanonymizer import PNAnonymizer
        from dicognito.randomizer import Randomizer

        self.seed, self.keep, self.where = seed, frozenset(keep), where
        self.uids = _MappedUIDs(seed, uid_map)
        self.names = PNAnonymizer(Randomizer(seed))
        self.shift = _date_offset(seed)

    def clean(self, dataset, scrub: bool = False) -> None:
        """Apply the table to ``dataset`` and every item of its sequences.

        ``scrub`` (inside a sequence whose action is D, such as Content Sequence or Graphic
        Annotation Sequence) also gives free-text attributes the table does not list a dummy
        value: "replace with dummy values" covers everything the sequence holds.
        """
        dates = {
            element.keyword: element.value for element in dataset if element.VR in ("DA", "TM")
        }
        for element in list(dataset):
            rule = action_for(element.tag)
            if rule is None or rule.keyword in self.keep:
                if element.VR == "SQ":
                    for item in element.value:
                        self.clean(item, scrub)
                elif scrub and rule is None and element.VR in FREE_TEXT_VRS:
                    self.dummy(dataset, element)
                continue
            action = rule.action
            if action == "C" and element.VR not in DATE_VRS:
                action = rule.basic_resolved
            self.apply(dataset, element, action, dates)

    def apply(self, dataset, element, action: str, dates: dict) -> None:
        if action == "X":
            del dataset[element.tag]
        elif action == "Z":
            _empty(element)
        elif element.VR == "SQ":  # D or U on a sequence: keep it, clean what it holds
            for item in element.value:
                self.clean(item, scrub=action == "D")
        elif action == "U" and element.VR == "UI":
            self.uids(dataset, element)
        elif action == "C" or element.VR in DATE_VRS:
            element.value = _shifted(element, dates, self.shift, self.where)
            if element.value is None:
                _empty(element)
        else:
            self.dummy(dataset, element)

    def dummy(self, dataset, element) -> None:
        """Action D: a value of the element's own VR that says nothing about the original."""
        if element.value in (None, "", b""):
            return
        if element.VR == "PN":
            self.names(dataset, element)
            return
        token = hashlib.sha256(f"{self.seed}|{element.value}".encode()).hexdigest()[:8].upper()
        if element.VR in BINARY_VRS - {"OB", "OW", "OD", "OF", "OL", "OV", "UN", "AT"}:
            element.value = 0
        elif element.VR in ("IS", "DS"):
            element.value = "0"
        elif element.VR == "AS":
            element.value = "000D"
        elif element.VR in ("OB", "OW", "OD", "OF", "OL", "OV", "UN"):
            element.value = b"\0\0"
        elif element.VR == "UI":
            self.uids(dataset, element)
        else:  # AE CS LO LT SH ST UC UR UT
            element.value = f"ANON{token}"


def _empty(element) -> None:
    """Action Z: a zero-length value (a sequence with no items)."""
    if element.VR == "SQ":
        element.value = []
    else:
        element.value = None if element.VR in BINARY_VRS else ""
