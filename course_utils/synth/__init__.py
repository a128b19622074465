"""SynthBraTS: deterministic, BraTS-like brain tumour cohorts built from real anatomy.

Two generators share this subpackage's file layout, template and cache:

- **SynthBraTS 2** (the default, version 2.0): the subpackage `course_utils.synthbrats2`,
  cohorts about as hard to segment as real BraTS: lobulated, sometimes multifocal tumours;
  oedema spreading along white matter; enhancement that is irregular, incomplete or absent;
  healthy-tissue mimics; per-subject scanner variation; a second rater. See
  ``data/README.md`` for what it models and what it does not.
- **SynthBraTS 1** (``version="1"``): the first generator, kept for comparison; its
  spherical tumours and flat oedema are segmented by a per-voxel linear rule as well as by a
  U-Net.

One idea per module, every public name re-exported here (``from course_utils import synth``
then ``synth.ensure_dataset()``):

- `versions`: `DEFAULT_GENERATOR`, `GENERATOR_VERSION` (what a manifest records);
- `template`: `load_template`, the MNI152 2009 anatomy inside ``nilearn`` (both generators);
- `fields`: `smooth_noise` and the other smooth random fields (both generators);
- SynthBraTS 1, step by step: `anatomy` (the template deformed into a subject, mass effect),
  `tumour` (a core, an enhancing rim, oedema along white matter), `contrasts` (T1, T1ce, T2,
  FLAIR from the tissue maps, bias field and Rician noise; `GENERATION_ORDER`);
- `subject`: `make_subject` (either generator, as NIfTI) and `simulate` (SynthBraTS 1's
  arrays and ground truth);
- `cohort`: `make_cohort`, `ensure_dataset` (cached, verified by SHA-256), `worked_example`.

Files follow the BraTS 2021 layout ``<ID>/<ID>_{t1,t1ce,t2,flair}.nii.gz`` (int16) and
``<ID>/<ID>_seg.nii.gz`` (uint8, labels 0/1/2/4), RAS+ affine in millimetres; SynthBraTS 2
adds ``<ID>_seg_rater2.nii.gz`` (a second rater) and ``synthbrats2_truth.json`` at the root.
The same seed gives the same bytes.

Used by notebook 00 (and every notebook after it, through `ensure_dataset`).
"""

from __future__ import annotations

from .cohort import (
    DEFAULT_SEED,
    DEFAULT_SUBJECTS,
    LABELS,
    MANIFEST_NAME,
    WORKED_EXAMPLE,
    ensure_dataset,
    list_subjects,
    make_cohort,
    nifti_gz_bytes,
    realism_report,
    subject_files,
    subject_id,
    worked_example,
)
from .contrasts import DETAIL_WEIGHT, GENERATION_ORDER, TISSUE_INTENSITY
from .fields import smooth_noise
from .subject import make_subject, simulate, to_nifti
from .template import Template, load_template, template_folder
from .versions import DEFAULT_GENERATOR, GENERATOR_VERSION

__all__ = [
    "DEFAULT_GENERATOR",
    "GENERATOR_VERSION",
    "GENERATION_ORDER",
    "LABELS",
    "MANIFEST_NAME",
    "TISSUE_INTENSITY",
    "DETAIL_WEIGHT",
    "Template",
    "load_template",
    "template_folder",
    "smooth_noise",
    "simulate",
    "to_nifti",
    "make_subject",
    "make_cohort",
    "ensure_dataset",
    "nifti_gz_bytes",
    "subject_id",
    "subject_files",
    "list_subjects",
    "DEFAULT_SEED",
    "DEFAULT_SUBJECTS",
    "WORKED_EXAMPLE",
    "worked_example",
    "realism_report",
]
