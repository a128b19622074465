"""Inference in the input's world: resample to the checkpoint's grid, predict, resample back.

A checkpoint records the voxel spacing it was trained at (`checkpoint_input`); a network
applied to voxels of another size sees anatomy at another scale. `predict_on_input_grid`
does what nnU-Net does with its plans' target spacing:

1. resample the raw image to the checkpoint's spacing (linear, same orientation and field of
   view; `grid_at_spacing`), unless it already has it;
2. normalise it with the checkpoint's recorded method (`datasets.normalise_image`);
3. predict by sliding windows (`patches.sliding_window_inference`), then a sigmoid;
4. resample the region probabilities back to the input grid (linear), or to another output
   grid such as `ras_grid`'s 1 mm RAS grid, where they are thresholded and nested
   (`threshold_regions`: ET in TC in WT).

Contrasts acquired as separate series are first brought onto one grid: `coregister` aligns
each to the reference contrast rigidly with mutual information (`registration.register`) on a
coarse grid (`COREGISTRATION_SPACING_MM`), under the course's thread policy
(`course_utils.threads`).

Images are float32 ``(C, D, H, W)`` in RAS+ voxel order (as `datasets` makes them); affines
are ``(4, 4)`` voxel -> RAS+ mm; spacings in mm.

Used by `training.evaluate` and ``course-utils predict``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import nibabel as nib
import numpy as np
import torch
from torch import nn

from .datasets import normalise_image, robust_brain_mask
from .geometry import voxel_sizes
from .patches import sliding_window_inference

__all__ = [
    "SPACING_TOLERANCE_MM",
    "COREGISTRATION_SPACING_MM",
    "Coregistration",
    "coregister",
    "grid_at_spacing",
    "ras_grid",
    "resample_channels",
    "threshold_regions",
    "predict_on_input_grid",
    "window_probabilities",
]

#: Spacings closer than this (mm, per axis) count as the same: no resampling.
SPACING_TOLERANCE_MM = 0.01
#: Voxel size (mm, isotropic) of the grids the contrasts are co-registered on: coarse enough
#: for a few seconds per contrast, fine enough for sub-millimetre error (tests/test_predict.py).
COREGISTRATION_SPACING_MM = 3.0


def grid_at_spacing(
    shape: tuple[int, ...], affine: np.ndarray, spacing_mm
) -> tuple[tuple[int, int, int], np.ndarray]:
    """A grid of the given voxel size over the same field of view and axes as ``(shape, affine)``.

    Each axis keeps its direction; it gets ``max(1, round(n * old / new))`` voxels, centred on
    the old grid's centre, so the two grids cover the same extent to within half a voxel.

    Parameters
    ----------
    shape
        Spatial shape ``(D, H, W)`` of the input grid.
    affine
        Its ``(4, 4)`` voxel -> RAS+ mm matrix.
    spacing_mm
        Three voxel sizes in mm of the new grid.

    Returns
    -------
    tuple
        ``(shape, affine)`` of the new grid.

    Examples
    --------
    >>> shape, affine = grid_at_spacing((4, 4, 4), np.eye(4), (2, 2, 2))
    >>> shape, affine[:3, 3].tolist()
    ((2, 2, 2), [0.5, 0.5, 0.5])
    """
    affine = np.asarray(affine, dtype=np.float64)
    old = voxel_sizes(affine)
    ratio = np.asarray(spacing_mm, dtype=np.float64) / old
    sizes = np.asarray(shape[:3], dtype=np.float64)
    new_shape = np.maximum(1, np.rint(sizes * old / np.asarray(spacing_mm))).astype(int)
    to_old = np.eye(4)  # new voxel index -> old voxel index
    to_old[:3, :3] = np.diag(ratio)
    to_old[:3, 3] = (sizes - 1) / 2 - ratio * (new_shape - 1) / 2
    return tuple(int(n) for n in new_shape), affine @ to_old


def ras_grid(
    shape: tuple[int, ...], affine: np.ndarray, spacing_mm: float = 1.0
) -> tuple[tuple[int, int, int], np.ndarray]:
    """An axis-aligned RAS+ grid of ``spacing_mm`` voxels covering the grid ``(shape, affine)``.

    For a thick-slice or oblique reference: its eight corner voxel centres are enclosed, and
    the new grid's axes are R, A, S (affine ``diag(spacing, spacing, spacing, 1)`` plus the
    origin).

    Examples
    --------
    >>> shape, affine = ras_grid((3, 3, 2), np.diag([1.0, 1.0, 4.0, 1.0]))
    >>> shape, np.diag(affine).tolist()
    ((3, 3, 5), [1.0, 1.0, 1.0, 1.0])
    """
    ends = [(0, n - 1) for n in shape[:3]]
    corners = np.array([[i, j, k] for i in ends[0] for j in ends[1] for k in ends[2]], float)
    world = corners @ np.asarray(affine, float)[:3, :3].T + np.asarray(affine, float)[:3, 3]
    low, high = world.min(axis=0), world.max(axis=0)
    new_shape = np.ceil((high - low) / spacing_mm - 1e-6).astype(int) + 1
    out = np.diag([float(spacing_mm)] * 3 + [1.0])
    out[:3, 3] = low
    return tuple(int(n) for n in new_shape), out


def resample_channels(
    volume: np.ndarray,
    affine: np.ndarray,
    shape: tuple[int, ...],
    target_affine: np.ndarray,
    *,
    order: int = 1,
) -> np.ndarray:
    """Each channel of ``volume`` ``(C, *spatial)`` resampled onto ``(shape, target_affine)``.

    The same sampling as `registration.resample` (SciPy splines, world coordinates, zero
    outside the input), but through ``scipy.ndimage.affine_transform``: the target-voxel ->
    source-voxel map of two grids is one matrix, so no array of coordinates is built (on a
    240 x 240 x 155 grid those are 0.2 GB per axis and most of the time). One channel at a
    time. ``order`` 1 (linear) for images and probabilities, 0 for labels.
    Returns float32 ``(C, *shape)`` (the input dtype for ``order=0``).
    """
    from scipy import ndimage

    to_source = np.linalg.inv(np.asarray(affine, float)) @ np.asarray(target_affine, float)
    dtype = volume.dtype if order == 0 else np.float32
    out = np.empty((len(volume), *shape), dtype=dtype)
    for c, channel in enumerate(volume):
        ndimage.affine_transform(
            np.asarray(channel, dtype=dtype), to_source[:3, :3], offset=to_source[:3, 3],
            output_shape=tuple(shape), output=out[c], order=order, mode="constant", cval=0.0,
        )  # fmt: skip
    return out


@dataclass(frozen=True)
class Coregistration:
    """How one contrast was aligned to the reference (`coregister`).

    ``matrix`` is the 4 x 4 RAS+ mm matrix from a reference point to the same anatomy in the
    contrast's world (`registration.register`'s convention); ``metric`` the mutual
    information at the end (nats, higher is better); ``seconds`` the wall-clock time.
    """

    matrix: np.ndarray
    metric: float
    seconds: float
    spacing_mm: float

    def record(self) -> dict:
        """Plain types for the JSON written beside a prediction."""
        return {
            "matrix": [[round(float(v), 6) for v in row] for row in self.matrix],
            "mutual_information": round(self.metric, 4),
            "seconds": round(self.seconds, 2),
            "grid_spacing_mm": self.spacing_mm,
        }


def coarse_image(image: nib.Nifti1Image, spacing_mm: float) -> nib.Nifti1Image:
    """A 3D image resampled (linear) onto an isotropic ``spacing_mm`` grid of the same extent."""
    shape, affine = grid_at_spacing(image.shape, image.affine, (spacing_mm,) * 3)
    values = np.asarray(image.dataobj, dtype=np.float32)[None]
    return nib.Nifti1Image(resample_channels(values, image.affine, shape, affine)[0], affine)


def coregister(
    reference: nib.Nifti1Image,
    moving: nib.Nifti1Image,
    *,
    spacing_mm: float = COREGISTRATION_SPACING_MM,
) -> Coregistration:
    """Align one contrast to the reference rigidly, by mutual information, on a coarse grid.

    Both images are resampled onto ``spacing_mm`` isotropic grids of their own extent
    (`coarse_image`), and `registration.register` (``transform="rigid"``, ``metric="mi"``,
    shrink levels 2 then 1 of that grid) starts from the scanner's geometry: series of one
    session share a world, so only patient motion between them is left to find. It runs with
    the thread count the course's policy gives (`threads.decide_threads`).

    Parameters
    ----------
    reference, moving
        3D images (RAS+ mm affines), any grids: e.g. the T1ce and the FLAIR as loaded from
        their DICOM series.
    spacing_mm
        Voxel size of the coarse grids.

    Returns
    -------
    Coregistration
        The reference -> moving matrix (resample the moving image with it), the final mutual
        information and the time taken.
    """
    from .registration import register
    from .threads import decide_threads

    start = time.perf_counter()
    result = register(
        coarse_image(reference, spacing_mm),
        coarse_image(moving, spacing_mm),
        transform="rigid",
        metric="mi",
        levels=(2, 1),
        init="none",
        threads=decide_threads().threads,
    )
    return Coregistration(
        matrix=result.matrix,
        metric=float(result.history[-1].metric[-1]),
        seconds=time.perf_counter() - start,
        spacing_mm=float(spacing_mm),
    )


def threshold_regions(probabilities: np.ndarray | torch.Tensor) -> np.ndarray:
    """Region probabilities ``(3, *spatial)`` (WT, TC, ET) -> nested bool masks (> 0.5).

    A voxel in ET is also in TC, one in TC also in WT, as the BraTS regions are defined.

    Examples
    --------
    >>> threshold_regions(np.array([[0.2], [0.4], [0.9]]))[:, 0].tolist()
    [True, True, True]
    """
    p = probabilities.numpy() if isinstance(probabilities, torch.Tensor) else probabilities
    wt, tc, et = (np.asarray(p[i]) > 0.5 for i in range(3))
    tc = tc | et
    return np.stack([wt | tc, tc, et])


def predict_on_input_grid(
    model: nn.Module,
    image: torch.Tensor,
    affine: np.ndarray,
    input_record: dict,
    *,
    overlap: float = 0.25,
    batch_size: int = 2,
    progress: bool = False,
    output_grid: tuple[tuple[int, ...], np.ndarray] | None = None,
    brain_mask: bool = False,
) -> tuple[torch.Tensor, dict]:
    """Region probabilities on the input grid, predicted at the checkpoint's spacing.

    Parameters
    ----------
    model
        A trained `UNet` (e.g. from `training.load_model`), in ``eval()`` mode.
    image
        Raw, un-normalised float32 ``(C, D, H, W)`` in RAS+ voxel order, channels in the
        checkpoint's modality order.
    affine
        The image's ``(4, 4)`` voxel -> RAS+ mm matrix.
    input_record
        The checkpoint's ``"input"`` record (`training.checkpoint_input`): its
        ``spacing_mm``, ``normalisation`` and ``patch_size`` are used.
    overlap, batch_size, progress
        Of the sliding windows.
    output_grid
        ``(shape, affine)`` of the grid the probabilities are returned on (e.g. `ras_grid`);
        default: the input grid.
    brain_mask
        Zero every channel outside `datasets.robust_brain_mask` on the model's grid before
        normalising: the skull-stripping that co-registration and resampling blur (a shell of
        faint values around the brain, which ``zscore_nonzero`` would count as brain). On a
        SynthBraTS subject written as four DICOM series at other voxel sizes and co-registered,
        the shipped checkpoint's WT Dice went from 0.25 without it to 0.92.

    Returns
    -------
    tuple
        ``(probabilities, info)``: float32 ``(3, D, H, W)`` WT, TC, ET probabilities on the
        input (or output) grid, and a dict saying what was done (``input_spacing_mm``,
        ``model_spacing_mm``, ``resampled``, ``model_grid_shape``, ``normalisation``,
        ``brain_mask``, and the wall-clock ``seconds`` of each stage).
    """
    affine = np.asarray(affine, dtype=np.float64)
    spacing = voxel_sizes(affine)
    target = np.asarray(input_record["spacing_mm"], dtype=np.float64)
    resampled = bool(np.any(np.abs(spacing - target) > SPACING_TOLERANCE_MM))
    shape = tuple(image.shape[1:])
    clock = time.perf_counter()
    seconds = {}
    image, (model_shape, model_affine) = _to_model_grid(image, affine, target, resampled)
    if brain_mask:
        image = image * torch.from_numpy(robust_brain_mask(image))[None]
    image = normalise_image(image, input_record["normalisation"])
    seconds["resample_and_normalise"] = time.perf_counter() - clock
    probabilities = window_probabilities(
        model,
        image,
        patch_size=int(input_record["patch_size"]),
        overlap=overlap,
        batch_size=batch_size,
        progress=progress,
    )
    del image
    seconds["windows"] = time.perf_counter() - clock - sum(seconds.values())
    out_shape, out_affine = (shape, affine) if output_grid is None else output_grid
    probabilities = _to_output_grid(
        probabilities, (model_shape, model_affine), (tuple(out_shape), out_affine)
    )
    seconds["resample_back"] = time.perf_counter() - clock - sum(seconds.values())
    info = {
        "input_spacing_mm": [round(float(s), 4) for s in spacing],
        "model_spacing_mm": [float(s) for s in target],
        "resampled": resampled,
        "model_grid_shape": [int(n) for n in model_shape],
        "normalisation": dict(input_record["normalisation"]),
        "brain_mask": bool(brain_mask),
        "seconds": {stage: round(t, 2) for stage, t in seconds.items()},
    }
    return probabilities, info


def _to_model_grid(
    image: torch.Tensor, affine: np.ndarray, spacing_mm: np.ndarray, resample: bool
) -> tuple[torch.Tensor, tuple[tuple[int, ...], np.ndarray]]:
    """``image`` (float32 ``(C, D, H, W)``) on the grid of ``spacing_mm`` voxels, and that grid.

    Linear interpolation onto `grid_at_spacing`'s grid when ``resample``; else ``image`` and
    its own grid unchanged.
    """
    shape = tuple(image.shape[1:])
    if not resample:
        return image, (shape, affine)
    model_shape, model_affine = grid_at_spacing(shape, affine, spacing_mm)
    values = resample_channels(image.numpy(), affine, model_shape, model_affine, order=1)
    return torch.from_numpy(values), (model_shape, model_affine)


def window_probabilities(
    model: nn.Module,
    image: torch.Tensor,
    *,
    patch_size: int,
    overlap: float,
    batch_size: int,
    progress: bool = False,
) -> torch.Tensor:
    """Region probabilities, float32 ``(3, D, H, W)`` on the CPU, of one image ``(C, D, H, W)``
    already normalised and at the network's spacing: the sigmoid of the sliding-window
    logits (`patches.sliding_window_inference`, which runs without gradients)."""
    model.eval()
    device = next(model.parameters()).device
    logits = sliding_window_inference(
        model,
        image[None].to(device),
        patch_size=patch_size,
        overlap=overlap,
        batch_size=batch_size,
        progress=progress,
    )
    return torch.sigmoid(logits[0]).cpu()


def _to_output_grid(
    probabilities: torch.Tensor,
    model_grid: tuple[tuple[int, ...], np.ndarray],
    output_grid: tuple[tuple[int, ...], np.ndarray],
) -> torch.Tensor:
    """Probabilities moved from the model's grid to ``output_grid`` (linear, clipped to [0, 1]).

    Both grids are ``(shape, affine)``; when they agree (affines within 1e-6) the probabilities
    come back unchanged.
    """
    (model_shape, model_affine), (out_shape, out_affine) = model_grid, output_grid
    same = tuple(out_shape) == tuple(model_shape) and np.allclose(
        out_affine, model_affine, atol=1e-6
    )
    if same:
        return probabilities
    back = resample_channels(
        probabilities.numpy(), model_affine, tuple(out_shape), out_affine, order=1
    )
    return torch.from_numpy(np.clip(back, 0.0, 1.0))
