"""Template: the MNI152 2009 anatomy every SynthBraTS subject starts from.

The T1 and grey/white-matter maps ship inside the ``nilearn`` package, so no download is
ever needed; `load_template` resamples them to an isotropic grid (RAS+, mm) and caches it.
Shared by both generators.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from ..errors import MissingTemplateError
from ..geometry import voxel_sizes

__all__ = ["TEMPLATE_FILES", "Template", "template_folder", "load_template", "read_only"]


TEMPLATE_FILES = {
    "t1": "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
    "gm": "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
    "wm": "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz",
}


@dataclass(frozen=True)
class Template:
    """The MNI152 anatomy on an isotropic grid.

    ``t1``, ``gm``, ``wm`` and ``brain`` are read-only float32 ``(X, Y, Z)`` maps in [0, 1]
    (axes R-A-S); ``affine`` maps voxel indices to RAS+ millimetres; ``tumour_sites`` lists
    the ``(N, 3)`` voxel indices where a tumour may be centred (white matter, >= 12 mm deep).
    """

    t1: np.ndarray
    gm: np.ndarray
    wm: np.ndarray
    brain: np.ndarray
    affine: np.ndarray
    tumour_sites: np.ndarray

    @property
    def spacing_mm(self) -> float:
        """The voxel size in mm (`load_template` builds an isotropic grid: all three agree)."""
        sizes = voxel_sizes(self.affine)
        if not np.allclose(sizes, sizes[0]):
            raise ValueError(f"the template grid should be isotropic; its voxels are {sizes} mm.")
        return float(sizes[0])


def template_folder() -> Path:
    """The folder inside the installed ``nilearn`` package that holds the MNI152 files."""
    spec = importlib.util.find_spec("nilearn")
    if spec is None or not spec.submodule_search_locations:
        raise MissingTemplateError(
            None,
            "the nilearn package, which ships the MNI152 template, is not installed.",
            "Install the course's dependencies: `pip install -e .` (or `make lab`).",
        )
    folder = Path(spec.submodule_search_locations[0]) / "datasets" / "data"
    for name in TEMPLATE_FILES.values():
        if not (folder / name).is_file():
            raise MissingTemplateError(
                folder / name,
                "this MNI152 template file is missing from the nilearn installation.",
                "Reinstall nilearn: `pip install --force-reinstall nilearn`.",
            )
    return folder


def read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@functools.lru_cache(maxsize=2)
def load_template(spacing_mm: float = 2.0) -> Template:
    """Load the MNI152 2009 template and resample it to an isotropic ``spacing_mm`` grid.

    The 1 mm maps are smoothed by the Gaussian that takes 1 mm resolution to
    ``spacing_mm`` (FWHM ``sqrt(s**2 - 1)`` mm) before linear resampling, so nothing
    aliases. Voxel ``i`` of the new grid is centred on 1 mm voxel ``s * i + (s - 1) / 2``.
    Cached per spacing.
    """
    folder = template_folder()
    raw = {}
    for key, name in TEMPLATE_FILES.items():
        image = nib.load(folder / name)
        raw[key] = np.asarray(image.dataobj, dtype=np.float32) / 255.0
    raw["brain"] = (raw["t1"] > 0).astype(np.float32)

    s = float(spacing_mm)
    old_shape = np.array(raw["t1"].shape)
    offset = max(s - 1.0, 0.0) / 2.0
    new_shape = tuple(int(n) for n in np.floor((old_shape - 1 - offset) / s).astype(int) + 1)
    sigma = np.sqrt(max(s**2 - 1.0, 0.0)) / 2.3548
    maps = {}
    for key, volume in raw.items():
        if sigma > 0:
            volume = ndimage.gaussian_filter(volume, sigma)
        maps[key] = ndimage.affine_transform(
            volume, np.full(3, s), offset=np.full(3, offset), output_shape=new_shape, order=1
        )
    brain = (maps.pop("brain") > 0.5).astype(np.float32)
    depth_mm = ndimage.distance_transform_edt(brain) * s
    sites = np.argwhere((maps["wm"] > 0.6) & (depth_mm > 12.0)).astype(np.float32)
    voxel_to_grid = np.diag([s, s, s, 1.0])
    voxel_to_grid[:3, 3] = offset
    return Template(
        **{key: read_only(volume) for key, volume in maps.items()},
        brain=read_only(brain),
        affine=read_only(image.affine @ voxel_to_grid),
        tumour_sites=read_only(sites),
    )
