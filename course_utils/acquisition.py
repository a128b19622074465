"""Separately acquired series with a known answer: one subject as four moved DICOM series.

A real session records each contrast as its own series: its own voxel size and field of view,
and the patient moves a little between series. `write_separate_series` simulates that from a
subject whose contrasts share one grid (SynthBraTS): each contrast is moved by a known rigid
transform (`SERIES_MOVES`: a few degrees, a few mm, about the grid's centre), sampled (linear)
on a grid of its own voxel size (`SERIES_SPACING_MM`, thick slices included) over the same
field of view, and written with `io.write_dicom_series`. Because the moves are known, the
co-registration that ``course-utils predict`` does can be scored: `true_matrix` is what it
should recover, `brain_corners` where to measure the error
(`registration.target_registration_error`), and `labels_as_seen` the labels moved like the
reference series.

Conventions as in `registration`: 4 x 4 RAS+ mm matrices; a move maps a point of the
anatomy to where the scanner saw it.

Used by ``tests/test_predict.py``, ``benchmarks/predict_dicom.py`` and
``benchmarks/predict_brats_size.py``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from . import brats

__all__ = [
    "SERIES_SPACING_MM",
    "SERIES_MOVES",
    "SeparateSeries",
    "write_separate_series",
    "true_matrix",
    "brain_corners",
    "labels_as_seen",
]

#: Each series' voxel size (mm): thick slices, other in-plane sizes, one coarser.
SERIES_SPACING_MM = {brats.FLAIR: (2.0, 2.0, 4.0), brats.T1: (1.8, 1.8, 2.5),
                     brats.T1CE: (1.5, 1.5, 3.0), brats.T2: (2.5, 2.5, 2.5)}  # fmt: skip
#: How the patient moved before each series: (rotation in degrees about x, y, z; shift in mm).
SERIES_MOVES = {
    brats.FLAIR: ((3, -2, 2), (4, -3, 2)),
    brats.T1: ((-2, 3, 1), (-2, 5, -3)),
    brats.T1CE: ((1, 2, -2), (2, -1, 3)),
    brats.T2: ((-3, -1, 3), (-4, 2, 5)),
}


@dataclass(frozen=True)
class SeparateSeries:
    """Where `write_separate_series` wrote each contrast, and how each was moved.

    ``folders``: modality -> its DICOM series folder; ``moves``: modality -> 4 x 4 RAS+ mm
    matrix (anatomy -> where that series saw it).
    """

    folders: dict[str, Path]
    moves: dict[str, np.ndarray]


def grid_centre_mm(image: nib.Nifti1Image) -> np.ndarray:
    """World position (RAS+ mm) of the centre of an image's grid."""
    return nib.affines.apply_affine(image.affine, (np.array(image.shape[:3]) - 1) / 2)


def write_separate_series(
    images: Mapping[str, nib.Nifti1Image],
    root: str | os.PathLike[str],
    *,
    spacing_mm: Mapping[str, tuple[float, float, float]] = SERIES_SPACING_MM,
    moves: Mapping[str, tuple] = SERIES_MOVES,
    patient_id: str = "SYNTH-0001",
) -> SeparateSeries:
    """Write each contrast of ``images`` as its own moved DICOM series, ``<root>/<MODALITY>/``.

    Parameters
    ----------
    images
        Modality (`brats.MODALITIES`) -> 3D image, all on one grid (e.g. `synth.make_subject`).
    root
        Folder for the series (one sub-folder per contrast, upper-case names).
    spacing_mm
        Modality -> voxel size (mm) of its series; the field of view stays the same.
    moves
        Modality -> ``(rotation_deg, translation_mm)`` about the grid's centre
        (`registration.world_transform_matrix`).
    patient_id
        Written in every series (one subject).

    Returns
    -------
    SeparateSeries
        The folders and the 4 x 4 moves.
    """
    from .inference import grid_at_spacing
    from .io import write_dicom_series
    from .registration import resample, world_transform_matrix

    root = Path(root)
    folders, matrices = {}, {}
    for index, modality in enumerate(m for m in brats.MODALITIES if m in images):
        image = images[modality]
        rotation, shift = moves[modality]
        matrices[modality] = world_transform_matrix(
            rotation, shift, centre_mm=grid_centre_mm(image)
        )
        shape, affine = grid_at_spacing(image.shape, image.affine, spacing_mm[modality])
        grid = nib.Nifti1Image(np.zeros(shape, np.uint8), affine)
        seen = resample(image, grid, np.linalg.inv(matrices[modality]))
        stored = nib.Nifti1Image(np.rint(seen.get_fdata()).astype(np.int16), affine)
        folders[modality] = root / modality.upper()
        write_dicom_series(
            stored, folders[modality], series_description=modality, patient_id=patient_id,
            seed=index,
        )  # fmt: skip
    return SeparateSeries(folders, matrices)


def true_matrix(series: SeparateSeries, modality: str, reference: str = brats.T1CE) -> np.ndarray:
    """The reference -> ``modality`` matrix a perfect co-registration finds (4 x 4, RAS+ mm).

    A reference point saw the anatomy at ``inv(move_ref) @ x``, which the other series saw at
    ``move_m @ inv(move_ref) @ x``.
    """
    return series.moves[modality] @ np.linalg.inv(series.moves[reference])


def brain_corners(
    brain: nib.Nifti1Image, series: SeparateSeries, reference: str = brats.T1CE
) -> np.ndarray:
    """The 8 corners of the brain's bounding box (``brain`` > 0), ``(8, 3)`` mm, as the
    reference series saw them: where a registration's error is largest for small rotations."""
    found = np.argwhere(np.asarray(brain.dataobj) > 0)
    box = list(zip(found.min(0), found.max(0), strict=True))
    corners = np.array([[i, j, k] for i in box[0] for j in box[1] for k in box[2]], float)
    return nib.affines.apply_affine(series.moves[reference] @ brain.affine, corners)


def labels_as_seen(
    labels: nib.Nifti1Image,
    grid: nib.Nifti1Image,
    series: SeparateSeries,
    reference: str = brats.T1CE,
) -> nib.Nifti1Image:
    """``labels`` moved like the reference series and sampled (nearest) on ``grid``'s grid."""
    from .registration import resample

    return resample(labels, grid, np.linalg.inv(series.moves[reference]), order=0)
