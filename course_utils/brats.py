"""The BraTS vocabulary: modalities, file names, label codings and evaluation regions.

Every name and number that BraTS-style data carries is defined here, once; `datasets`, `synth`,
`metrics`, `training` and `plotting` import it (``tests/test_brats.py`` fails if another module
defines its own modality tuple or label set).

Modalities, in the course's **tensor order** (channel ``c`` of every image tensor is
``MODALITIES[c]``; it is also the channel order of MSD Task01's 4D files and of the shipped
checkpoint):

======  ===========  ===============  ===============  =========================
index   course name  BraTS 2021 file  BraTS 2023/2024  MSD Task01 ``dataset.json``
======  ===========  ===============  ===============  =========================
0       ``flair``    ``_flair``       ``-t2f``         ``0: FLAIR``
1       ``t1``       ``_t1``          ``-t1n``         ``1: T1w``
2       ``t1ce``     ``_t1ce``        ``-t1c``         ``2: t1gd``
3       ``t2``       ``_t2``          ``-t2w``         ``3: T2w``
======  ===========  ===============  ===============  =========================

Label codings (value -> sub-region; sub-regions are named by the keys of `SUBREGION_NAMES`):

=====================  ==========  ===============  ===============  ==========
sub-region             BraTS 2021  BraTS 2023 GLI   BraTS 2024 GLI   MSD Task01
=====================  ==========  ===============  ===============  ==========
background             0           0                0                0
necrotic tumour core   1 (NCR)     1 (NCR)          1 (NETC)         2
peritumoural oedema    2 (ED)      2 (ED)           2 (SNFH)         1
enhancing tumour       4 (ET)      3 (ET)           3 (ET)           3
resection cavity       --          --               4 (RC)           --
=====================  ==========  ===============  ===============  ==========

The evaluation regions are unions of sub-regions (`REGION_SUBREGIONS`), the same in every
coding: whole tumour WT = core + oedema + enhancing, tumour core TC = core + enhancing,
enhancing tumour ET = enhancing; the resection cavity belongs to none. Each coding's
``regions`` spells them out in its own label values.

The course's own coding, used by ``target="labels"`` and cross-entropy, is the class index
``0..3`` into `CLASS_LABELS` (the BraTS 2021 values 0, 1, 2, 4); `CLASS_NAMES` names them.

Sources
-------
- BraTS 2021: U. Baid et al., "The RSNA-ASNR-MICCAI BraTS 2021 Benchmark on Brain Tumor
  Segmentation and Radiogenomic Classification", arXiv:2107.02314 (2021): files
  ``<ID>_{t1,t1ce,t2,flair,seg}.nii.gz``, labels 1 NCR, 2 ED, 4 ET (there is no label 3).
- BraTS 2023 adult glioma (GLI), ASNR-MICCAI BraTS 2023 challenge data (Synapse syn51156910):
  the BraTS 2021 cases renamed ``BraTS-GLI-xxxxx-xxx-{t1n,t1c,t2w,t2f,seg}.nii.gz``, enhancing
  tumour relabelled 3.
- BraTS 2024 GLI (post-treatment): M. C. de Verdier et al., "The 2024 Brain Tumor Segmentation
  (BraTS) Challenge: Glioma Segmentation on Post-treatment MRI", arXiv:2405.18368 (2024): the
  2023 file names; labels 1 NETC, 2 SNFH, 3 ET and 4 RC, the resection cavity of post-operative
  cases.
- MSD Task01_BrainTumour: M. Antonelli et al., "The Medical Segmentation Decathlon", *Nature
  Communications* 13, 4128 (2022): one 4D file per subject, channels as listed in its
  ``dataset.json`` (``FLAIR, T1w, t1gd, T2w``), labels 1 edema, 2 non-enhancing tumor,
  3 enhancing tumour.

Used by `datasets`, `synth`, `metrics`, `training` and `plotting`, and so by every notebook.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

__all__ = [
    "MODALITIES",
    "FLAIR",
    "T1",
    "T1CE",
    "T2",
    "MODALITY_NAMES",
    "MODALITY_ALIASES",
    "MSD_TASK01_MODALITIES",
    "SUBREGION_NAMES",
    "SUBREGION_SHORT_NAMES",
    "REGIONS",
    "REGION_NAMES",
    "REGION_SUBREGIONS",
    "LabelCoding",
    "BRATS_2021",
    "BRATS_2023_GLI",
    "BRATS_2024_GLI",
    "MSD_TASK01",
    "FileNaming",
    "BRATS_2021_FILES",
    "BRATS_2023_GLI_FILES",
    "BRATS_2024_GLI_FILES",
    "CLASS_LABELS",
    "CLASS_NAMES",
    "label_mapping",
]


def _frozen(mapping: Mapping) -> Mapping:
    """A read-only view of a copy of ``mapping``: the vocabulary cannot be changed by accident."""
    return MappingProxyType(dict(mapping))


# --- modalities ------------------------------------------------------------------------------

#: The four MRI contrasts in tensor (channel) order.
MODALITIES = ("flair", "t1", "t1ce", "t2")
FLAIR, T1, T1CE, T2 = MODALITIES

#: What each modality is, for titles and tables.
MODALITY_NAMES = _frozen(
    {
        FLAIR: "FLAIR (T2-weighted, fluid-attenuated inversion recovery)",
        T1: "T1-weighted (native)",
        T1CE: "T1-weighted after gadolinium (contrast-enhanced)",
        T2: "T2-weighted",
    }
)

#: Names a ``dataset.json`` may give a modality (lower case) -> the course's name.
MODALITY_ALIASES = _frozen(
    {
        "flair": FLAIR,
        "t1": T1,
        "t1w": T1,
        "t1ce": T1CE,
        "t1gd": T1CE,
        "t1c": T1CE,
        "t2": T2,
        "t2w": T2,
    }
)

#: MSD Task01's ``dataset.json`` ``"modality"`` entry: channel index (as text) -> its name.
#: Read through `MODALITY_ALIASES` it is `MODALITIES`, the course's tensor order.
MSD_TASK01_MODALITIES = _frozen({"0": "FLAIR", "1": "T1w", "2": "t1gd", "3": "T2w"})


# --- sub-regions and evaluation regions ------------------------------------------------------

#: The tumour sub-regions that label values stand for, by a key shared across codings.
SUBREGION_NAMES = _frozen(
    {
        "background": "background",
        "necrotic_core": "necrotic tumour core",
        "oedema": "peritumoural oedema",
        "enhancing": "enhancing tumour",
        "cavity": "resection cavity",
    }
)
#: The same, short enough for a legend or a table column.
SUBREGION_SHORT_NAMES = _frozen(
    {
        "background": "background",
        "necrotic_core": "necrotic core",
        "oedema": "oedema",
        "enhancing": "enhancing tumour",
        "cavity": "resection cavity",
    }
)

#: The BraTS evaluation regions, in channel order: whole tumour, tumour core, enhancing tumour.
REGIONS = ("WT", "TC", "ET")
REGION_NAMES = _frozen({"WT": "whole tumour", "TC": "tumour core", "ET": "enhancing tumour"})
#: Which sub-regions make up each region (the resection cavity is in none).
REGION_SUBREGIONS = _frozen(
    {
        "WT": ("necrotic_core", "oedema", "enhancing"),
        "TC": ("necrotic_core", "enhancing"),
        "ET": ("enhancing",),
    }
)


@dataclass(frozen=True)
class LabelCoding:
    """How one dataset codes the tumour sub-regions as label values.

    Attributes
    ----------
    name
        The dataset, e.g. ``"BraTS 2021"``.
    subregions
        Label value -> sub-region key (see `SUBREGION_NAMES`), background included, in
        increasing value order.
    official_names
        Label value -> the name the dataset's own documentation gives it (``"NCR"``, ...).
    values
        The label values, ``tuple(subregions)``.
    names
        Label value -> the course's name of its sub-region (`SUBREGION_NAMES`).
    regions
        ``"WT"``, ``"TC"``, ``"ET"`` -> the label values that make up that region, sorted.

    Examples
    --------
    >>> BRATS_2021.values
    (0, 1, 2, 4)
    >>> dict(BRATS_2021.regions)
    {'WT': (1, 2, 4), 'TC': (1, 4), 'ET': (4,)}
    >>> dict(MSD_TASK01.regions)
    {'WT': (1, 2, 3), 'TC': (2, 3), 'ET': (3,)}
    >>> BRATS_2024_GLI.value_of("cavity")
    4
    """

    name: str
    subregions: Mapping[int, str]
    official_names: Mapping[int, str]
    values: tuple[int, ...] = field(init=False)
    names: Mapping[int, str] = field(init=False)
    regions: Mapping[str, tuple[int, ...]] = field(init=False)

    def __post_init__(self) -> None:
        unknown = set(self.subregions.values()) - set(SUBREGION_NAMES)
        if unknown or set(self.official_names) != set(self.subregions):
            raise ValueError(f"{self.name}: unknown sub-regions {unknown} or unnamed values.")
        set_ = object.__setattr__  # the dataclass is frozen; these are derived once, here
        set_(self, "subregions", _frozen(dict(sorted(self.subregions.items()))))
        set_(self, "official_names", _frozen(dict(sorted(self.official_names.items()))))
        set_(self, "values", tuple(self.subregions))
        set_(self, "names", _frozen({v: SUBREGION_NAMES[k] for v, k in self.subregions.items()}))
        regions = {
            region: tuple(v for v, key in self.subregions.items() if key in members)
            for region, members in REGION_SUBREGIONS.items()
        }
        set_(self, "regions", _frozen(regions))

    def value_of(self, subregion: str) -> int:
        """The label value of a sub-region key; ValueError if this coding has none."""
        for value, key in self.subregions.items():
            if key == subregion:
                return value
        raise ValueError(
            f"{self.name} has no label for {subregion!r}; it labels "
            f"{', '.join(self.subregions.values())}."
        )


BRATS_2021 = LabelCoding(
    "BraTS 2021",
    {0: "background", 1: "necrotic_core", 2: "oedema", 4: "enhancing"},
    {0: "background", 1: "NCR", 2: "ED", 4: "ET"},
)
BRATS_2023_GLI = LabelCoding(
    "BraTS 2023 GLI",
    {0: "background", 1: "necrotic_core", 2: "oedema", 3: "enhancing"},
    {0: "background", 1: "NCR", 2: "ED", 3: "ET"},
)
BRATS_2024_GLI = LabelCoding(
    "BraTS 2024 GLI",
    {0: "background", 1: "necrotic_core", 2: "oedema", 3: "enhancing", 4: "cavity"},
    {0: "background", 1: "NETC", 2: "SNFH", 3: "ET", 4: "RC"},
)
MSD_TASK01 = LabelCoding(
    "MSD Task01_BrainTumour",
    {0: "background", 1: "oedema", 2: "necrotic_core", 3: "enhancing"},
    {0: "background", 1: "edema", 2: "non-enhancing tumor", 3: "enhancing tumour"},
)

#: The course's classes ``0..3`` (``target="labels"``): the BraTS 2021 value of each class.
CLASS_LABELS = BRATS_2021.values
#: The name of each class ``0..3``.
CLASS_NAMES = tuple(SUBREGION_SHORT_NAMES[key] for key in BRATS_2021.subregions.values())


def label_mapping(source: LabelCoding, target: LabelCoding) -> dict[int, int]:
    """``{source value: target value}`` for the same sub-regions in two codings.

    Parameters
    ----------
    source, target
        Two of the codings above.

    Returns
    -------
    dict
        One entry per value of ``source``, in increasing order.

    Raises
    ------
    ValueError
        If ``target`` has no label for one of ``source``'s sub-regions (BraTS 2024's resection
        cavity has no BraTS 2021 value).

    Examples
    --------
    >>> label_mapping(MSD_TASK01, BRATS_2021)
    {0: 0, 1: 2, 2: 1, 3: 4}
    >>> label_mapping(BRATS_2021, BRATS_2023_GLI)
    {0: 0, 1: 1, 2: 2, 4: 3}
    """
    return {value: target.value_of(key) for value, key in source.subregions.items()}


# --- file names ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileNaming:
    """How one BraTS edition names a subject's files: ``<ID><suffix>.nii.gz``.

    Attributes
    ----------
    edition
        E.g. ``"BraTS 2021"``.
    suffixes
        Course modality name (and ``"seg"`` for the labels) -> the text between the subject ID
        and ``.nii.gz``.
    coding
        The label coding of its ``seg`` files.

    Examples
    --------
    >>> BRATS_2021_FILES.file_name("BraTS2021_00000", "t1ce")
    'BraTS2021_00000_t1ce.nii.gz'
    >>> BRATS_2023_GLI_FILES.file_name("BraTS-GLI-00000-000", "flair")
    'BraTS-GLI-00000-000-t2f.nii.gz'
    """

    edition: str
    suffixes: Mapping[str, str]
    coding: LabelCoding

    def __post_init__(self) -> None:
        if set(self.suffixes) != {*MODALITIES, "seg"}:
            raise ValueError(f"{self.edition}: suffixes must cover {MODALITIES} and 'seg'.")
        object.__setattr__(self, "suffixes", _frozen(self.suffixes))

    def file_name(self, subject_id: str, key: str) -> str:
        """The file name of modality (or ``"seg"``) ``key`` of subject ``subject_id``."""
        return f"{subject_id}{self.suffixes[key]}.nii.gz"


BRATS_2021_FILES = FileNaming(
    "BraTS 2021",
    {FLAIR: "_flair", T1: "_t1", T1CE: "_t1ce", T2: "_t2", "seg": "_seg"},
    BRATS_2021,
)
BRATS_2023_GLI_FILES = FileNaming(
    "BraTS 2023 GLI",
    {FLAIR: "-t2f", T1: "-t1n", T1CE: "-t1c", T2: "-t2w", "seg": "-seg"},
    BRATS_2023_GLI,
)
#: BraTS 2024 GLI keeps the 2023 file names; only its label coding differs.
BRATS_2024_GLI_FILES = replace(
    BRATS_2023_GLI_FILES, edition="BraTS 2024 GLI", coding=BRATS_2024_GLI
)
