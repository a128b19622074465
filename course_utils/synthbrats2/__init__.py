"""SynthBraTS 2: a synthetic cohort as hard to segment as real BraTS data.

One module per idea: `anatomy` (subject-specific brains, mass effect), `tumour` (foci and
lobulated cores), `core` (enhancement, necrosis, non-enhancing tumour), `oedema` (spread
along white matter, graded signal), `mimics` (healthy look-alikes), `scanner` (per-subject
acquisition), `raters` (label noise and a second rater), `cohort` (subjects and files) and
`realism` (the measurements that say how hard the data are). ``synth.make_subject(seed,
version="2")`` reaches it from the old module.
"""

from __future__ import annotations

from .cohort import KEYS, TRUTH_NAME, VERSION, make_cohort, make_subject, simulate, subject_files
from .mimics import MIMICS

__all__ = [
    "VERSION",
    "KEYS",
    "TRUTH_NAME",
    "simulate",
    "make_subject",
    "make_cohort",
    "subject_files",
    "MIMICS",
    "realism_report",
]


def realism_report(root, **kwargs):
    """See `course_utils.synthbrats2.realism.realism_report` (imported lazily: scikit-learn)."""
    from .realism import realism_report as report

    return report(root, **kwargs)
