"""Action U: UIDs replaced through one shared ``uid_map``, so a batch of files stays consistent.

Every file of a series de-identified with the same ``uid_map`` gets the same new Study, Series
and Frame of Reference UIDs, and a derived object (a SEG) still references its de-identified
source. New UIDs come from dicognito's seeded mapping; standard UIDs (under ``1.2.840.10008.``:
SOP classes, transfer syntaxes...) are kept. Nothing here is public API:
`course_utils.deidentify.cleaner` applies it.
"""

from __future__ import annotations

from collections.abc import MutableMapping

__all__: list[str] = []

DICOM_ROOT = "1.2.840.10008."  # standard UIDs (SOP classes, transfer syntaxes, ...): kept


class _MappedUIDs:
    """Action U: remaps a UID element through a shared ``uid_map``.

    Called only for attributes whose Table E.1-1 action is U (class UIDs and the transfer
    syntax are not in the table, so they are kept); standard UIDs (under ``1.2.840.10008``)
    are kept too. Any other UID is looked up in ``uid_map`` and, if new, mapped by
    dicognito's seeded ``UIAnonymizer`` and recorded.
    """

    def __init__(self, seed: str, uid_map: MutableMapping[str, str]) -> None:
        from dicognito.randomizer import Randomizer
        from dicognito.uianonymizer import UIAnonymizer

        self.uid_map = uid_map
        self.dicognito = UIAnonymizer(Randomizer(seed))

    def __call__(self, dataset, element) -> None:
        if element.VM > 1:
            element.value = [self.new_uid(uid) for uid in element.value]
        elif element.value:
            element.value = self.new_uid(element.value)

    def new_uid(self, uid: str) -> str:
        if uid.startswith(DICOM_ROOT):
            return uid
        if uid not in self.uid_map:
            from pydicom.dataelem import DataElement
            from pydicom.dataset import Dataset

            probe = DataElement(0x00080018, "UI", uid)  # a SOPInstanceUID: always remapped
            self.dicognito(Dataset(), probe)
            self.uid_map[uid] = str(probe.value)
        return self.uid_map[uid]
