"""Patches: cut a 3D volume into patches, sample training patches, stitch predictions back.

A BraTS volume (4 x 240 x 240 x 155 voxels) and a 3D U-Net's activations don't fit in memory
together, so the network trains on random patches and predicts through a grid of overlapping
windows whose outputs are blended back into one volume. One idea per module, every public
name re-exported here (``from course_utils import patches`` then ``patches.sample_patches``):

- `grid`: `grid_origins`, `extract_patches`, `patch_grid`: a grid of patches that covers
  every voxel;
- `stitching`: `stitch_patches`, the inverse, with three ways to blend the overlaps;
- `sampling`: `sample_patches`, random training patches, a chosen share of them centred on
  tumour;
- `sliding_window`: `sliding_window_inference`, a model's answer for a whole volume,
  window by window;
- `memory`: `patch_memory`, how many bytes a batch of patches costs a model.

The CPU speed-up machinery (huge-page buffers, a thread pool for large copies) lives in the
private module `_copy`, and the shared argument checks in `_validation`: neither is part of
the lesson.

Volumes are channel-first ``(C, D, H, W)``; ``D, H, W`` are the array's three spatial axes in
its own index order (for the course's NIfTI volumes, R-A-S). Sizes, origins and strides are in
voxels, never millimetres. Functions accept a NumPy array or a PyTorch tensor and return the
same kind.

Used by notebook 06 (patching 3D volumes) and notebook 07 (U-Net training).
"""

from __future__ import annotations

from .grid import axis_origins, extract_patches, grid_origins, patch_grid
from .memory import PatchMemory, patch_memory
from .sampling import sample_patches
from .sliding_window import sliding_window_inference
from .stitching import WEIGHTINGS, gaussian_weights, stitch_patches

__all__ = [
    "WEIGHTINGS",
    "PatchMemory",
    "axis_origins",
    "grid_origins",
    "extract_patches",
    "patch_grid",
    "stitch_patches",
    "gaussian_weights",
    "sample_patches",
    "sliding_window_inference",
    "patch_memory",
]
