"""De-identification of DICOM headers by PS3.15 Annex E, driven by Table E.1-1 as data.

`anonymize` applies the **Basic Application Level Confidentiality Profile** with the
**Retain Longitudinal Temporal Information with Modified Dates Option** (PS3.15 E.3.6): every
attribute of Table E.1-1 (``annex_e_table.csv``, DICOM 2024b, 621 rows, read by `annex_e_table`)
gets its action, found **by tag** (never by VR: an Operators' Name stored as LO is still a
name) at every nesting level of sequences, and in the file meta group:

======  ======================================================================
action  what is done
======  ======================================================================
X       removed
Z       emptied (a sequence keeps zero items)
D       replaced by a dummy of the element's own VR: a fake name (dicognito) for PN, a
        seeded token for text, 0 for numbers; a sequence is kept and cleaned inside, its
        free text (even attributes the table does not list) replaced too
U       UIDs replaced, through one ``uid_map`` so a batch stays consistent (a derived SEG
        still references its de-identified source); standard UIDs (``1.2.840.10008.``) kept
C       (Modified Dates option) dates and date-times shifted back by one seeded offset
        (62 to 730 days plus a number of seconds); a time is shifted with its date (Study
        Time with Study Date...) when that date exists, and emptied when it is empty or absent
======  ======================================================================

Compound actions keep the file valid for its IOD without knowing its Type: ``X/Z`` -> Z
(Type 2 stays present), ``X/D``, ``Z/D`` and ``X/Z/D`` -> D (Type 1 stays non-empty),
``X/Z/U*`` (Referenced/Source Image Sequence) -> U on the UIDs inside. Under the option, a
``C`` on an attribute that is not a date, time or date-time (Timezone Offset From UTC) falls
back to its basic action. Private attributes are removed (``(gggg,eeee)`` odd, action X), as
are curves (50xx), overlay data and comments (60xx,3000/4000) and the file meta group's
application entity titles (PS3.10), which can name the sending site; the 128-byte preamble is
zeroed. PatientIdentityRemoved, DeidentificationMethod and the method codes 113100 and 113107
(DeidentificationMethodCodeSequence) record what was done, and a file whose pixels may carry
burned-in text is refused or warned about. Pixel data and geometry are never touched (Annex
E's Clean Pixel Data option is not done here).

Every replacement is a pure function of a *seed* and the original value, so one seed gives
the same dummy, UID and date offset in every file and on every machine.

One idea per module; the public names are re-exported here, so ``from course_utils import
deidentify`` then ``deidentify.anonymize(...)`` works:

- `annex_e`: Table E.1-1 as data (`AnnexERule`, `annex_e_table`, `action_for`,
  `ANNEX_E_REMOVED`, `ANNEX_E_EMPTIED`) and how compound actions resolve;
- `dates`: the seeded date offset and the shifting of DA, TM and DT values (action C);
- `uids`: UIDs remapped through one shared ``uid_map`` (action U);
- `cleaner`: the table applied element by element, recursing into sequences (X, Z, D);
- `burned_in`: the BurnedInAnnotation policy (`BurnedInAnnotationWarning`,
  `BurnedInAnnotationError`);
- `profile`: `anonymize`, one dataset, and the record of what was done (`METHOD_CODES`);
- `folder`: `anonymize_series`, a folder in, a new folder out, as one batch.

Used by notebook 02 ("DICOM in depth").
"""

from __future__ import annotations

from . import annex_e, burned_in, cleaner, dates, folder, profile, uids
from .annex_e import *  # noqa: F403 (each module's __all__ is its public API)
from .burned_in import *  # noqa: F403
from .cleaner import *  # noqa: F403
from .dates import *  # noqa: F403
from .folder import *  # noqa: F403
from .profile import *  # noqa: F403
from .uids import *  # noqa: F403

__all__ = [
    *annex_e.__all__,
    *dates.__all__,
    *uids.__all__,
    *cleaner.__all__,
    *burned_in.__all__,
    *profile.__all__,
    *folder.__all__,
]
