"""The reference grid: every contrast onto the T1ce's grid, and the results back onto it.

The T1ce (`REFERENCE`) fixes the grid. `load_contrasts` reads each contrast (`load_volumes`: a
file or a one-series DICOM folder, `io.load_volume`); a contrast on the same grid is used as it
is, one on another grid (a separate series: other voxel sizes, field of view, the patient moved
in between) is co-registered rigidly to the T1ce by mutual information
(`inference.coregister`) and resampled onto its grid (linear); `REGISTER` names the choices.
Everything is held in RAS+ voxel order (``datasets.reading.canonical``); `to_reference` puts a
result back into the reference's own voxel order and affine, so it overlays the T1ce in any
viewer, and `with_affine` writes an affine as both qform and sform.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import nibabel as nib
import numpy as np
import torch

from .. import brats, io
from ..errors import GeometryMismatchError, SeriesError
from ..geometry import AFFINE_TOLERANCE, canonical
from .checks import check_series

__all__ = ["REFERENCE", "REGISTER"]

#: The contrast whose grid the labels are written on, and which the others are registered to.
REFERENCE = brats.T1CE
#: When to co-register: contrasts off the reference grid only, every contrast, or never
#: (then the headers' geometry is trusted and contrasts are only resampled).
REGISTER = ("auto", "always", "never")


def load_volumes(paths: Mapping[str, Path], modalities: list[str]) -> dict[str, nib.Nifti1Image]:
    """Each contrast as a 3D image (`io.load_volume`: a file or a one-series DICOM folder)."""
    volumes = {}
    for modality in modalities:
        path = Path(paths[modality])
        try:
            volume = io.load_volume(path)
        except SeriesError as error:
            raise SeriesError(
                path,
                error.problem,
                f"Give --{modality} a folder that holds only the {modality} series (copy its "
                "files into a folder of their own).",
            ) from error
        if volume.ndim != 3:
            raise GeometryMismatchError(
                path,
                f"is not a 3D volume (shape {volume.shape}).",
                "Pass one 3D file or series per contrast.",
            )
        volumes[modality] = volume
    return volumes


def same_grid(a: nib.Nifti1Image, b: nib.Nifti1Image) -> bool:
    return a.shape == b.shape and np.allclose(a.affine, b.affine, atol=AFFINE_TOLERANCE)


def load_contrasts(
    paths: Mapping[str, Path], modalities: list[str], register: str = "auto"
) -> tuple[torch.Tensor, np.ndarray, nib.Nifti1Image, dict]:
    """``(image, affine, reference, registrations)`` on the reference's grid, RAS+ order.

    ``image`` is float32 ``(C, D, H, W)`` in ``modalities`` order; ``affine`` its voxel ->
    RAS+ mm matrix; ``reference`` the T1ce as loaded (its own voxel order); ``registrations``
    maps each co-registered contrast to its `inference.Coregistration` record.
    """
    from ..inference import coregister, resample_channels

    if register not in REGISTER:
        raise ValueError(f"register={register!r}: choose one of {REGISTER}.")
    check_series(paths)
    volumes = load_volumes(paths, modalities)
    name = REFERENCE if REFERENCE in volumes else modalities[0]
    reference = volumes[name]
    grid = canonical(reference)
    image = np.empty((len(modalities), *grid.shape), dtype=np.float32)
    registrations = {}
    for c, modality in enumerate(modalities):
        volume = volumes[modality]
        aligned = same_grid(volume, reference)
        if modality == name or (aligned and register != "always"):
            image[c] = np.asanyarray(canonical(volume).dataobj)
            continue
        if register == "never":
            matrix = np.eye(4)
        else:
            found = coregister(reference, volume)
            registrations[modality] = found.record()
            matrix = found.matrix
        # pull: reference voxel -> world -> (matrix) the contrast's world -> its voxel
        moved_affine = np.linalg.inv(matrix) @ np.asarray(volume.affine, float)
        values = np.asanyarray(volume.dataobj)[None]
        image[c] = resample_channels(values, moved_affine, grid.shape, grid.affine, order=1)[0]
    return torch.from_numpy(image), grid.affine, reference, registrations


def to_reference(values: np.ndarray, canonical_affine: np.ndarray, reference: nib.Nifti1Image):
    """A RAS+ ``(D, H, W[, K])`` array as an image on the reference's own voxel order."""
    image = nib.Nifti1Image(values, canonical_affine)
    ornt = nib.orientations.ornt_transform(
        nib.orientations.io_orientation(canonical_affine),
        nib.orientations.io_orientation(reference.affine),
    )
    image = image.as_reoriented(ornt)
    return with_affine(np.asarray(image.dataobj), reference.affine)


def with_affine(values: np.ndarray, affine: np.ndarray) -> nib.Nifti1Image:
    """``values`` as a NIfTI image whose qform and sform are ``affine`` (units mm)."""
    image = nib.Nifti1Image(values, affine)
    image.header.set_xyzt_units("mm")
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    return image
