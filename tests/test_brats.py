"""The BraTS vocabulary: modality order, file names, label codings, regions, and the rule that
it is defined once (every other module imports it)."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import numpy as np
import pytest

from course_utils import (
    brats,
    datasets,
    geometry,
    io,
    metrics,
    plotting,
    registration,
    synth,
    training,
)

PACKAGE = Path(__file__).resolve().parents[1] / "course_utils"


# --- the facts, written out by hand from the sources the module cites ----------------------


def test_modalities_are_in_tensor_order_flair_t1_t1ce_t2():
    assert brats.MODALITIES == ("flair", "t1", "t1ce", "t2")
    assert (brats.FLAIR, brats.T1, brats.T1CE, brats.T2) == brats.MODALITIES
    assert set(brats.MODALITY_NAMES) == set(brats.MODALITIES)


def test_msd_task01_channels_read_through_the_aliases_are_the_tensor_order():
    names = [brats.MSD_TASK01_MODALITIES[str(i)] for i in range(4)]
    assert names == ["FLAIR", "T1w", "t1gd", "T2w"]
    assert tuple(brats.MODALITY_ALIASES[n.lower()] for n in names) == brats.MODALITIES


@pytest.mark.parametrize(
    ("naming", "subject", "expected"),
    [
        (
            brats.BRATS_2021_FILES,
            "BraTS2021_00000",
            {
                "flair": "BraTS2021_00000_flair.nii.gz",
                "t1": "BraTS2021_00000_t1.nii.gz",
                "t1ce": "BraTS2021_00000_t1ce.nii.gz",
                "t2": "BraTS2021_00000_t2.nii.gz",
                "seg": "BraTS2021_00000_seg.nii.gz",
            },
        ),
        (
            brats.BRATS_2023_GLI_FILES,
            "BraTS-GLI-00000-000",
            {
                "flair": "BraTS-GLI-00000-000-t2f.nii.gz",
                "t1": "BraTS-GLI-00000-000-t1n.nii.gz",
                "t1ce": "BraTS-GLI-00000-000-t1c.nii.gz",
                "t2": "BraTS-GLI-00000-000-t2w.nii.gz",
                "seg": "BraTS-GLI-00000-000-seg.nii.gz",
            },
        ),
        (
            brats.BRATS_2024_GLI_FILES,
            "BraTS-GLI-02000-100",
            {
                "flair": "BraTS-GLI-02000-100-t2f.nii.gz",
                "t1": "BraTS-GLI-02000-100-t1n.nii.gz",
                "t1ce": "BraTS-GLI-02000-100-t1c.nii.gz",
                "t2": "BraTS-GLI-02000-100-t2w.nii.gz",
                "seg": "BraTS-GLI-02000-100-seg.nii.gz",
            },
        ),
    ],
)
def test_each_edition_names_its_files_as_published(naming, subject, expected):
    assert {key: naming.file_name(subject, key) for key in expected} == expected


@pytest.mark.parametrize(
    ("coding", "values", "official", "regions"),
    [
        (
            brats.BRATS_2021,
            (0, 1, 2, 4),
            ("background", "NCR", "ED", "ET"),
            {"WT": (1, 2, 4), "TC": (1, 4), "ET": (4,)},
        ),
        (
            brats.BRATS_2023_GLI,
            (0, 1, 2, 3),
            ("background", "NCR", "ED", "ET"),
            {"WT": (1, 2, 3), "TC": (1, 3), "ET": (3,)},
        ),
        (
            brats.BRATS_2024_GLI,
            (0, 1, 2, 3, 4),
            ("background", "NETC", "SNFH", "ET", "RC"),
            {"WT": (1, 2, 3), "TC": (1, 3), "ET": (3,)},  # the resection cavity is in none
        ),
        (
            brats.MSD_TASK01,
            (0, 1, 2, 3),
            ("background", "edema", "non-enhancing tumor", "enhancing tumour"),
            {"WT": (1, 2, 3), "TC": (2, 3), "ET": (3,)},
        ),
    ],
)
def test_each_coding_has_its_published_values_and_regions(coding, values, official, regions):
    assert coding.values == values
    assert tuple(coding.official_names.values()) == official
    assert dict(coding.regions) == regions


def test_enhancing_tumour_is_4_in_2021_and_3_from_2023_on():
    assert brats.BRATS_2021.value_of("enhancing") == 4
    assert brats.BRATS_2023_GLI.value_of("enhancing") == 3
    assert brats.BRATS_2024_GLI.value_of("enhancing") == 3
    assert brats.MSD_TASK01.value_of("enhancing") == 3
    with pytest.raises(ValueError, match="resection cavity|cavity"):
        brats.BRATS_2021.value_of("cavity")


def test_label_mapping_translates_between_codings():
    assert brats.label_mapping(brats.MSD_TASK01, brats.BRATS_2021) == {0: 0, 1: 2, 2: 1, 3: 4}
    assert brats.label_mapping(brats.BRATS_2021, brats.BRATS_2023_GLI) == {0: 0, 1: 1, 2: 2, 4: 3}
    assert brats.label_mapping(brats.BRATS_2023_GLI, brats.BRATS_2021) == {0: 0, 1: 1, 2: 2, 3: 4}
    with pytest.raises(ValueError, match="BraTS 2021 has no label for 'cavity'"):
        brats.label_mapping(brats.BRATS_2024_GLI, brats.BRATS_2021)


def test_the_course_classes_are_the_brats_2021_labels_in_order():
    assert brats.CLASS_LABELS == (0, 1, 2, 4)
    assert brats.CLASS_NAMES == ("background", "necrotic core", "oedema", "enhancing tumour")
    assert dict(brats.BRATS_2021.names) == {
        0: "background",
        1: "necrotic tumour core",
        2: "peritumoural oedema",
        4: "enhancing tumour",
    }


def test_the_vocabulary_cannot_be_changed_by_accident():
    with pytest.raises(TypeError):
        brats.BRATS_2021.names[3] = "made up"  # type: ignore[index]
    with pytest.raises(TypeError):
        brats.MODALITY_ALIASES["pd"] = "t1"  # type: ignore[index]
    with pytest.raises(AttributeError):
        brats.BRATS_2021.name = "BraTS 2022"  # type: ignore[misc]


def test_a_coding_or_naming_with_a_gap_is_refused():
    with pytest.raises(ValueError, match="unknown sub-regions"):
        brats.LabelCoding("odd", {0: "background", 1: "tumour"}, {0: "bg", 1: "T"})
    with pytest.raises(ValueError, match="suffixes must cover"):
        brats.FileNaming("odd", {"t1": "_t1", "seg": "_seg"}, brats.BRATS_2021)


# --- one definition: the modules use these very objects ------------------------------------


def test_datasets_synth_metrics_training_and_plotting_use_the_single_definition():
    assert datasets.MODALITIES is brats.MODALITIES
    assert datasets.REGIONS is brats.REGIONS
    assert datasets.CLASS_NAMES is brats.CLASS_NAMES
    assert datasets.MSD_TO_BRATS == brats.label_mapping(brats.MSD_TASK01, brats.BRATS_2021)
    assert metrics.REGIONS is brats.REGIONS
    assert training.REGIONS is brats.REGIONS
    assert tuple(training.BRATS_LABELS) == brats.CLASS_LABELS
    assert synth.LABELS is brats.BRATS_2021.names
    assert sorted(synth.GENERATION_ORDER) == sorted(brats.MODALITIES)
    assert set(plotting.LABEL_COLOURS) == set(brats.BRATS_2021.values) - {0}
    assert io.LPS_TO_RAS is geometry.LPS_TO_RAS
    assert registration.simpleitk.LPS_TO_RAS is geometry.LPS_TO_RAS
    assert training.spacing_of is geometry.voxel_sizes
    assert registration.affine_matrix is registration.world_transform_matrix


def test_the_regions_table_of_datasets_follows_the_brats_2021_regions():
    # rows WT, TC, ET; columns classes 0..3 = labels 0, 1, 2, 4 (written out by hand)
    expected = np.array([[0, 1, 1, 1], [0, 1, 0, 1], [0, 0, 0, 1]], dtype=np.float32)
    np.testing.assert_array_equal(datasets.REGION_TABLE, expected)


MODALITY_WORDS = {*brats.MODALITY_ALIASES, "t1n", "t2f", "seg"}


def constant(node: ast.AST):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = constant(node.operand)
        return -value if isinstance(value, (int, float)) else None
    return None


def is_affine_columns(node: ast.AST) -> bool:
    """``x[:3, :3]`` or ``x[:3, 0]``: an affine's linear part or one of its columns."""
    if not (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple)):
        return False
    first = node.slice.elts[0]
    return isinstance(first, ast.Slice) and first.lower is None and constant(first.upper) == 3


def vocabulary_duplicates(source: str) -> list[tuple[int, str]]:
    """``(line, what)`` for every literal in ``source`` that restates a BraTS or geometry fact.

    Looks for: three or more modality names in a tuple/list/set or as dict keys; two or more of
    WT/TC/ET; the label set 0/1/2/4; a dict keyed by a coding's label values; the LPS<->RAS
    diagonal; a voxel size computed as ``norm`` of an affine's columns.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            values = [constant(e) for e in node.elts]
            words = {v for v in values if isinstance(v, str)}
            if len(words) == len(values) and len(words & MODALITY_WORDS - {"seg"}) >= 3:
                found.append((node.lineno, f"modality names {sorted(words)}"))
            if len(words) == len(values) and len(words & set(brats.REGIONS)) >= 2:
                found.append((node.lineno, f"region names {sorted(words)}"))
            numbers = [v for v in values if type(v) in (int, float)]
            if len(numbers) == len(values) and set(numbers) == set(brats.CLASS_LABELS):
                if all(type(v) is int for v in numbers):
                    found.append((node.lineno, f"the label set {numbers}"))
            if len(numbers) == len(values) and numbers[:2] == [-1, -1] and set(numbers[2:]) == {1}:
                found.append((node.lineno, "the LPS <-> RAS flip"))
        elif isinstance(node, ast.Dict):
            keys = [constant(k) if k is not None else None for k in node.keys]
            values = [constant(v) for v in node.values]
            if all(isinstance(k, str) for k in keys) and len(set(keys) & MODALITY_WORDS) >= 3:
                found.append((node.lineno, f"a table keyed by modality names {keys}"))
            codings = [set(c.values) for c in (brats.BRATS_2021, brats.MSD_TASK01)]
            labelled = set(keys) in [*codings, set(brats.BRATS_2021.values) - {0}]
            if all(type(k) is int for k in keys) and labelled:
                if all(isinstance(v, str) for v in values) or set(keys) in codings:
                    found.append((node.lineno, f"a table keyed by label values {keys}"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "norm" and node.args and is_affine_columns(node.args[0]):
                found.append((node.lineno, "voxel sizes from norm(affine columns)"))
    return found


#: Modules (or subpackages) of course_utils allowed to write such literals, and why.
ALLOWED = {
    "brats.py": "the BraTS vocabulary's one definition",
    "geometry.py": "the geometry conventions' one definition",
    "exercises": "a check's hand-computed cases are written out, independent of the code",
}


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_other_module_restates_the_vocabulary_or_the_geometry(path):
    top = path.relative_to(PACKAGE).parts[0]  # the module, or the subpackage it is part of
    if top in ALLOWED:
        pytest.skip(ALLOWED[top])
    assert vocabulary_duplicates(path.read_text()) == []


@pytest.mark.parametrize(
    ("snippet", "what"),
    [
        ('MODALITIES = ("t1", "t1ce", "t2", "flair")', "modality names"),
        ('REGIONS = ["WT", "TC", "ET"]', "region names"),
        ("LABELS = np.array([0, 1, 2, 4], dtype=np.uint8)", "the label set"),
        ('NAMES = {1: "core", 2: "oedema", 4: "enhancing"}', "label values"),
        ("MSD = {0: 0, 1: 2, 2: 1, 3: 4}", "label values"),
        ('ALIASES = {"t1w": "t1", "t1gd": "t1ce", "t2w": "t2"}', "modality names"),
        ("FLIP = np.diag([-1.0, -1.0, 1.0, 1.0])", "LPS <-> RAS"),
        ("size = float(np.linalg.norm(image.affine[:3, 0]))", "voxel sizes"),
        ("sizes = np.linalg.norm(affine[:3, :3], axis=0)", "voxel sizes"),
    ],
)
def test_the_duplicate_finder_finds_each_kind_of_duplicate(snippet, what):
    found = vocabulary_duplicates(textwrap.dedent(snippet))
    assert len(found) == 1 and what in found[0][1], found


@pytest.mark.parametrize(
    "snippet",
    [
        "levels = (4, 2, 1)",  # registration's pyramid, not labels
        "iterations = {4: 100, 2: 60, 1: 20}",
        'contrast: Literal["t1", "t2"] = "t1"',
        "GENERATION_ORDER = (brats.T1, brats.T1CE, brats.T2, brats.FLAIR)",
        "error = np.linalg.norm(points - truth, axis=1)",
    ],
)
def test_the_duplicate_finder_leaves_lookalikes_alone(snippet):
    assert vocabulary_duplicates(snippet) == []


def test_the_duplicate_finder_sees_the_real_definitions():
    in_brats = {
        what.split(" [")[0]
        for _, what in vocabulary_duplicates((PACKAGE / "brats.py").read_text())
    }
    assert {"modality names", "region names", "a table keyed by modality names"} <= in_brats
    assert any(w.startswith("a table keyed by label values") for w in in_brats)
    in_geometry = vocabulary_duplicates((PACKAGE / "geometry.py").read_text())
    assert [what for _, what in in_geometry] == ["the LPS <-> RAS flip"]
