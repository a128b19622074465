"""Reading: one subject's files as RAS+ arrays, image and labels checked to share one grid.

Axes: every volume is reoriented to the closest canonical RAS+ orientation
(``nibabel.as_closest_canonical``) before it becomes a tensor, so that an image is
``(C, D, H, W)`` with ``D, H, W`` the array axes that run towards the subject's Right, Anterior
and Superior, whatever the voxel order stored in the file. An axial slice is therefore
``image[:, :, :, k]``. The reorientation and the tolerance of "one grid" are
`geometry.canonical` and `geometry.AFFINE_TOLERANCE`. Used by `volume_dataset`.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from .. import io
from ..errors import (
    CorruptFileError,
    GeometryMismatchError,
)
from ..geometry import AFFINE_TOLERANCE, canonical, voxel_sizes
from .labels import CODING_TABLES, remap
from .layouts import Subject

__all__ = [
    "check_same_grid",
    "read_classes",
    "read_image",
    "canonical_shape",
    "canonical_spacing",
]


def affine_text(affine: np.ndarray) -> str:
    return np.array2string(affine, precision=3, suppress_small=True, separator=", ").replace(
        "\n", ""
    )


def check_same_grid(
    image_path: Path, image: nib.Nifti1Image, label_path: Path, label: nib.Nifti1Image
) -> None:
    """Raise `GeometryMismatchError` unless image and label share shape and affine."""
    same_shape = image.shape[:3] == label.shape[:3]
    if same_shape and np.allclose(image.affine, label.affine, atol=AFFINE_TOLERANCE):
        return
    what = "shape" if not same_shape else "affine"
    raise GeometryMismatchError(
        label_path,
        f"its {what} differs from that of {image_path}: label shape {label.shape[:3]}, affine "
        f"{affine_text(label.affine)}; image shape {image.shape[:3]}, affine "
        f"{affine_text(image.affine)}.",
        "Resample the label onto the image's grid (nearest neighbour) or export both again.",
    )


def read_classes(subject: Subject) -> tuple[np.ndarray, nib.Nifti1Image]:
    """``(classes, label image)``: uint8 ``(D, H, W)`` classes 0..3 in RAS+ order."""
    label = io.load_volume(subject.label)
    if label.ndim != 3:
        raise CorruptFileError(
            subject.label, f"is not a 3D label volume (shape {label.shape}).", "Export it again."
        )
    table, coding = CODING_TABLES[subject.coding]
    try:
        classes = remap(np.asanyarray(canonical(label).dataobj), table, coding)
    except ValueError as error:
        hint = (
            " BraTS 2023 codes enhancing tumour as 3: read its own folder layout instead."
            if coding == "BraTS"
            else ""
        )
        raise CorruptFileError(
            subject.label, f"holds unexpected label values: {error}", f"Check the file.{hint}"
        ) from error
    return classes, label


def read_image(subject: Subject, label: nib.Nifti1Image) -> tuple[np.ndarray, np.ndarray]:
    """``(image, affine)``: float32 ``(C, D, H, W)`` in RAS+ order and its (4, 4) affine."""
    volumes = [io.load_volume(path) for path in subject.images]
    if subject.channels is not None and (
        volumes[0].ndim != 4 or volumes[0].shape[3] <= max(subject.channels)
    ):
        raise CorruptFileError(
            subject.images[0],
            f"should be 4D with the modalities on its 4th axis, not of shape {volumes[0].shape}.",
            "Copy it again from the Task01_BrainTumour download.",
        )
    for path, volume in zip(subject.images, volumes, strict=True):
        check_same_grid(path, volume, subject.label, label)
    reoriented = [canonical(volume) for volume in volumes]
    if subject.channels is None:  # one 3D file per modality
        arrays = [np.asanyarray(volume.dataobj) for volume in reoriented]
    else:  # one 4D file, modalities on the last axis
        data = np.asanyarray(reoriented[0].dataobj)
        arrays = [data[..., k] for k in subject.channels]
    image = np.empty((len(arrays), *arrays[0].shape), dtype=np.float32)
    for c, values in enumerate(arrays):
        image[c] = values
    return image, reoriented[0].affine


def canonical_shape(path: Path) -> tuple[int, int, int]:
    """The RAS+-reoriented spatial shape of a NIfTI file, from its header alone."""
    header_only = nib.load(path)
    axes = nib.orientations.io_orientation(header_only.affine)[:, 0].astype(int)
    shape = [0, 0, 0]
    for axis, size in zip(axes, header_only.shape[:3], strict=True):
        shape[axis] = size
    return tuple(shape)


def canonical_spacing(path: Path) -> tuple[float, float, float]:
    """Voxel size in mm along the RAS+-reoriented axes of a NIfTI file, from its header."""
    header_only = nib.load(path)
    axes = nib.orientations.io_orientation(header_only.affine)[:, 0].astype(int)
    sizes = voxel_sizes(header_only.affine)
    spacing = [0.0, 0.0, 0.0]
    for axis, size in zip(axes, sizes, strict=True):
        spacing[axis] = float(size)
    return tuple(spacing)
