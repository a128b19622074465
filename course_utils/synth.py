"""SynthBraTS: deterministic, BraTS-like brain tumour cohorts built from real anatomy.

Two generators share this module's file layout, templates and cache:

- **SynthBraTS 2** (the default, `course_utils.synthbrats2`, version 2.0): cohorts about as
  hard to segment as real BraTS: lobulated, sometimes multifocal tumours; oedema spreading
  along white matter and fading into normal tissue; enhancement that is irregular, incomplete
  or absent; healthy-tissue mimics; per-subject scanner variation; a second rater. See
  ``data/README.md`` for what it models and what it does not.
- **SynthBraTS 1** (``version="1"``, this module's own `simulate`): the first generator, kept
  for comparison; its spherical tumours and flat oedema are segmented by a per-voxel linear
  rule as well as by a U-Net.

SynthBraTS 1, step by step: each subject starts from the MNI152 2009 template (T1 and
grey/white-matter maps) that ships inside the ``nilearn`` package, so no download is ever
needed:

1. the anatomy is deformed by a smooth random displacement field and a global scaling;
2. a tumour is placed in white matter: necrotic core (label 1) inside an enhancing rim
   (label 4), surrounded by oedema (label 2) that spreads preferentially along white
   matter, and it pushes nearby tissue outwards (mass effect);
3. four contrasts are derived from the tissue maps with the relative intensities a
   radiologist expects (T1: WM > GM > CSF, necrosis dark; T1ce: enhancing rim bright;
   T2: CSF and oedema bright; FLAIR: CSF suppressed, oedema bright), keeping the template's
   own anatomical detail, then a smooth bias field and Rician noise are applied;
4. everything outside the brain is zero, as in skull-stripped BraTS data.

Files follow the BraTS 2021 layout ``<ID>/<ID>_{t1,t1ce,t2,flair}.nii.gz`` (int16) and
``<ID>/<ID>_seg.nii.gz`` (uint8, labels 0/1/2/4), RAS+ affine in millimetres; SynthBraTS 2
adds ``<ID>_seg_rater2.nii.gz`` (a second rater) and ``synthbrats2_truth.json`` at the root.
The same seed gives the same bytes.

Used by notebook 00 (and every notebook after it, through `ensure_dataset`).
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from . import brats, files, paths
from .errors import DatasetIntegrityError, MissingTemplateError
from .geometry import voxel_sizes

__all__ = [
    "DEFAULT_GENERATOR",
    "GENERATOR_VERSION",
    "GENERATION_ORDER",
    "LABELS",
    "make_subject",
    "make_cohort",
    "ensure_dataset",
    "subject_id",
    "subject_files",
    "list_subjects",
    "DEFAULT_SEED",
    "DEFAULT_SUBJECTS",
    "WORKED_EXAMPLE",
    "worked_example",
    "realism_report",
]

#: The generator `make_subject`, `make_cohort` and `ensure_dataset` use unless told otherwise.
DEFAULT_GENERATOR = "2"
#: The version a cohort's manifest records: the default generator's (`synthbrats2.VERSION`),
#: bumped whenever a change to it changes its output bytes.
GENERATOR_VERSION = "2.0"
#: The order in which the generator renders the contrasts and lists a subject's files. It is
#: not the tensor order (`brats.MODALITIES`): each contrast draws from the subject's random
#: generator in turn, so this order is part of what version 1.0 means; changing it would change
#: every image's bytes. Index tensors with `brats.MODALITIES`, never with this.
GENERATION_ORDER = (brats.T1, brats.T1CE, brats.T2, brats.FLAIR)
#: BraTS 2021 label values and their meaning (`brats.BRATS_2021.names`).
LABELS = brats.BRATS_2021.names
MANIFEST_NAME = "manifest.json"
DEFAULT_SUBJECTS = 24
DEFAULT_SEED = 0
#: The index, in the default cohort, of the course's worked example: a ring-enhancing
#: tumour of 59 cm^3 with necrosis, oedema and enhancing tumour (subject 0 has none: SynthBraTS
#: 2's first subject of every 10 is a non-enhancing tumour).
WORKED_EXAMPLE = 2

TEMPLATE_FILES = {
    "t1": "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
    "gm": "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
    "wm": "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz",
}

# Mean intensity of each tissue in each contrast, relative to white matter on T1.
# Columns follow GENERATION_ORDER: t1, t1ce, t2, flair.
TISSUE_INTENSITY = {
    "csf": (0.30, 0.30, 1.00, 0.12),
    "gm": (0.62, 0.64, 0.68, 0.72),
    "wm": (0.88, 0.88, 0.48, 0.55),
    "necrosis": (0.22, 0.25, 0.90, 0.50),
    "enhancing": (0.55, 1.45, 0.75, 0.82),
    "oedema": (0.52, 0.54, 0.93, 1.00),
}
# How the template's anatomical detail (its T1 minus our tissue model) carries over to each
# contrast: T1-weighted keep it, T2-weighted show it inverted and weaker.
DETAIL_WEIGHT = (1.0, 1.0, -0.6, -0.5)


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


def smooth_noise(
    rng: np.random.Generator, shape: Sequence[int], scale_vox: float | Sequence[float]
) -> np.ndarray:
    """A smooth random field, unit standard deviation, correlated over ~``scale_vox`` voxels.

    Gaussian-smoothed white noise on a coarse grid (one value per ``scale_vox`` voxels),
    interpolated linearly up to ``shape`` axis by axis: a few passes over the output instead
    of a wide 3D filter. ``scale_vox`` is one scale for every axis or one per axis (the same
    length in mm on an anisotropic grid is a different number of voxels along each axis).
    Returns float32 of ``shape``.
    """
    scales = np.broadcast_to(np.asarray(scale_vox, dtype=np.float64), (len(shape),))
    scales = [float(s) for s in scales]  # Python floats keep the arithmetic below in float32
    coarse_shape = [int(np.ceil(n / s)) + 2 for n, s in zip(shape, scales, strict=True)]
    field = ndimage.gaussian_filter(rng.standard_normal(coarse_shape, dtype=np.float32), 0.6)
    for axis, n in enumerate(shape):
        position = np.arange(n, dtype=np.float32) / scales[axis]
        lower = np.floor(position).astype(int)
        weight = (position - lower).reshape([-1 if a == axis else 1 for a in range(3)])
        below = np.take(field, lower, axis=axis)
        above = np.take(field, lower + 1, axis=axis)
        field = below + weight * (above - below)
    return ((field - field.mean()) / max(float(field.std()), 1e-6)).astype(np.float32)


def bias_field(rng: np.random.Generator, shape: Sequence[int], strength: float) -> np.ndarray:
    """A smooth multiplicative bias in ``exp([-strength, strength])``: a random quadratic.

    Built from open (broadcast) coordinate grids, so only the final sum is full size.
    """
    axes = np.ogrid[tuple(slice(-1.0, 1.0, complex(0, n)) for n in shape)]
    terms = list(axes) + [a * b for i, a in enumerate(axes) for b in axes[i:]]
    log_field = np.zeros(shape, dtype=np.float32)
    for coefficient, term in zip(rng.normal(0.0, 1.0, len(terms)), terms, strict=True):
        log_field += np.float32(coefficient) * term.astype(np.float32)
    log_field /= max(float(np.abs(log_field).max()), 1e-6)
    return np.exp(np.float32(strength) * log_field)


def soft_inside(distance: np.ndarray, radius: np.ndarray | float, width: float) -> np.ndarray:
    """Membership in [0, 1] of being inside ``radius`` (same units), blurred over ``width``."""
    return (0.5 - 0.5 * np.tanh((distance - radius) / (2.0 * width))).astype(np.float32)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random 3x3 rotation matrix (QR of a Gaussian matrix, sign-fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


@dataclass(frozen=True)
class Tumour:
    """A tumour's geometry: centre (voxel index), radii (mm) and shape of its ellipsoid."""

    centre: np.ndarray
    radius_whole: float
    radius_core: float
    radius_necrosis: float
    rotation: np.ndarray
    stretch: np.ndarray

    def box(self, shape: Sequence[int], spacing_mm: float) -> tuple[slice, ...]:
        """The part of the grid the tumour and its oedema can reach (clipped to ``shape``)."""
        half = int(np.ceil(2.6 * self.radius_whole / spacing_mm)) + 2
        return tuple(
            slice(max(int(c) - half, 0), min(int(c) + half + 1, n))
            for c, n in zip(self.centre, shape, strict=True)
        )


def draw_tumour(
    rng: np.random.Generator, template: Template, centre: np.ndarray, scale: np.ndarray
) -> Tumour:
    """Draw a tumour: a white-matter site and a whole-tumour volume of 20-130 cm^3."""
    site = template.tumour_sites[rng.integers(len(template.tumour_sites))]
    whole_volume_mm3 = np.exp(rng.uniform(np.log(20e3), np.log(130e3)))
    radius_whole = float((3 * whole_volume_mm3 / (4 * np.pi)) ** (1 / 3))
    radius_core = radius_whole * rng.uniform(0.55, 0.8)
    rim_mm = rng.uniform(3.5, 7.0)  # enhancing rim thickness
    radius_necrosis = max(radius_core - rim_mm, 0.0)
    stretch = rng.uniform(0.8, 1.25, 3)
    return Tumour(
        centre=(centre + (site - centre) * scale).astype(np.float32),
        radius_whole=radius_whole,
        radius_core=float(radius_core),
        radius_necrosis=float(radius_necrosis),
        rotation=random_rotation(rng),
        stretch=stretch / np.cbrt(np.prod(stretch)),
    )


def anatomy_source(rng: np.random.Generator, template: Template):
    """Where each subject voxel samples the template: global scaling plus a smooth warp.

    Returns ``(source, centre, scale)``: ``source`` is float32 ``(3, X, Y, Z)`` voxel
    coordinates in the template, ``centre`` the brain's centre of mass (voxels) and
    ``scale`` the per-axis scaling about it.
    """
    shape = template.brain.shape
    s = template.spacing_mm
    centre = np.array(ndimage.center_of_mass(template.brain), dtype=np.float32)
    scale = rng.uniform(0.94, 1.06, 3).astype(np.float32)
    source = np.empty((3, *shape), dtype=np.float32)
    for axis in range(3):
        coordinate = np.arange(shape[axis], dtype=np.float32)
        coordinate = centre[axis] + (coordinate - centre[axis]) / scale[axis]
        source[axis] = coordinate.reshape([-1 if a == axis else 1 for a in range(3)])
        source[axis] += np.float32(3.0 / s) * smooth_noise(rng, shape, 24.0 / s)
    return source, centre, scale


def add_mass_effect(source: np.ndarray, tumour: Tumour, spacing_mm: float) -> None:
    """Push tissue away from the tumour, as if a ball of 0.7 x the core radius were inserted.

    A point at radius ``r`` from the centre comes from radius ``cbrt(r**3 - push**3)``, so
    the displacement decays like ``push**3 / (3 r**2)``; it is applied within 5 push radii.
    Modifies ``source`` (``(3, X, Y, Z)`` voxel coordinates) in place.
    """
    push = 0.7 * tumour.radius_core
    half = int(np.ceil(5 * push / spacing_mm))
    box = tuple(
        slice(max(int(c) - half, 0), min(int(c) + half + 1, n))
        for c, n in zip(tumour.centre, source.shape[1:], strict=True)
    )
    offset = (
        np.stack(
            np.meshgrid(
                *[np.arange(b.start, b.stop, dtype=np.float32) for b in box], indexing="ij"
            )
        )
        - tumour.centre[:, None, None, None]
    )
    radius = np.sqrt(np.sum(offset**2, axis=0)) * spacing_mm + 1e-3
    shrink = np.cbrt(np.maximum(radius**3 - push**3, 0.0)) / radius - 1.0
    source[(slice(None), *box)] += offset * shrink


def warp_tissue(template: Template, source: np.ndarray) -> dict[str, np.ndarray]:
    """Sample the template's maps at ``source``; only where the warped brain can be.

    A nearest-neighbour look-up of the brain mask finds the voxels worth interpolating
    (plus a one-voxel rim); trilinear interpolation runs there alone. Returns float32
    ``t1``, ``gm``, ``wm``, ``csf`` and ``brain`` maps of the subject grid.
    """
    shape = template.brain.shape
    nearest = tuple(
        np.clip(np.rint(source[axis]), 0, shape[axis] - 1).astype(np.intp) for axis in range(3)
    )
    near_brain = ndimage.binary_dilation(template.brain[nearest] > 0, iterations=1)
    where = np.nonzero(near_brain)
    points = source[(slice(None), *where)]
    tissue = {}
    for key in ("t1", "gm", "wm", "brain"):
        values = np.zeros(shape, dtype=np.float32)
        values[where] = ndimage.map_coordinates(getattr(template, key), points, order=1)
        tissue[key] = values
    tissue["csf"] = np.clip(tissue["brain"] - tissue["gm"] - tissue["wm"], 0.0, 1.0)
    return tissue


def paint_tumour(
    rng: np.random.Generator, tumour: Tumour, tissue: dict[str, np.ndarray], spacing_mm: float
):
    """Labels and soft tissue memberships of the tumour, computed inside its box only.

    Returns ``(seg, membership)``: ``seg`` is uint8 ``(X, Y, Z)`` with BraTS labels
    0/1/2/4 (zero outside the brain); ``membership`` maps ``necrosis``, ``enhancing``,
    ``core`` and ``oedema`` to float32 ``(X, Y, Z)`` fractions in [0, 1] and ``texture``
    to a multiplicative tumour texture around 1.
    """
    shape = tissue["brain"].shape
    s = spacing_mm
    box = tumour.box(shape, s)
    box_shape = tuple(b.stop - b.start for b in box)
    offset = (
        np.stack(
            np.meshgrid(
                *[np.arange(b.start, b.stop, dtype=np.float32) for b in box], indexing="ij"
            )
        )
        - tumour.centre[:, None, None, None]
    )
    offset_mm = np.einsum("ij,j...->i...", tumour.rotation.astype(np.float32), offset * s)
    distance = np.sqrt(np.sum((offset_mm * tumour.stretch[:, None, None, None]) ** 2, axis=0))
    lumps = np.clip(smooth_noise(rng, box_shape, 10.0 / s), -2.0, 2.0)
    spread = np.clip(smooth_noise(rng, box_shape, 14.0 / s), -2.0, 2.0)
    core_distance = distance / (1.0 + 0.12 * lumps)
    oedema_distance = distance / (1.0 + 0.25 * spread)

    wm, csf = tissue["wm"][box], tissue["csf"][box]
    oedema_reach = tumour.radius_whole * (0.75 + 0.45 * wm)
    not_fluid = csf < 0.6
    labels = np.zeros(box_shape, dtype=np.uint8)
    labels[(oedema_distance < oedema_reach) & not_fluid] = 2
    labels[core_distance < tumour.radius_core] = 4
    labels[core_distance < tumour.radius_necrosis] = 1
    seg = np.zeros(shape, dtype=np.uint8)
    seg[box] = labels
    seg[tissue["brain"] <= 0.5] = 0

    necrosis = soft_inside(core_distance, tumour.radius_necrosis, 0.5 * s)
    core = soft_inside(core_distance, tumour.radius_core, 0.35 * s)
    oedema = np.where(labels == 2, 1.0, soft_inside(oedema_distance, oedema_reach, 0.5 * s))
    box_maps = {
        "necrosis": necrosis,
        "enhancing": core - necrosis,
        "core": core,
        "oedema": (oedema * (1.0 - core) * not_fluid).astype(np.float32),
        "texture": 1.0 + 0.08 * lumps,
    }
    membership = {}
    for key, values in box_maps.items():
        full = np.full(shape, 1.0 if key == "texture" else 0.0, dtype=np.float32)
        full[box] = values
        membership[key] = full
    return seg, membership


def render_contrasts(
    rng: np.random.Generator, tissue: dict[str, np.ndarray], membership: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The four contrasts as int16 arrays: tissue mix, tumour, detail, bias and Rician noise.

    Intensities are computed for brain voxels only (zero elsewhere, as BraTS is
    skull-stripped); each contrast gets its own tissue-level jitter, bias field and
    scanner gain, so raw values are not comparable between subjects (normalise them).
    """
    shape = tissue["brain"].shape
    inside = np.nonzero(tissue["brain"] > 0.5)
    at = {key: values[inside] for key, values in {**tissue, **membership}.items()}
    model_t1 = sum(at[name] * TISSUE_INTENSITY[name][0] for name in ("csf", "gm", "wm"))
    detail = (at["t1"] - model_t1) * (1.0 - at["core"])
    images = {}
    for index, modality in enumerate(GENERATION_ORDER):
        jitter = rng.uniform(0.95, 1.05, len(TISSUE_INTENSITY))
        level = {
            name: float(values[index] * j)
            for (name, values), j in zip(TISSUE_INTENSITY.items(), jitter, strict=True)
        }
        healthy = sum(at[name] * level[name] for name in ("csf", "gm", "wm"))
        healthy = healthy + DETAIL_WEIGHT[index] * detail
        infiltrated = (1.0 - 0.8 * at["oedema"]) * healthy + 0.8 * at["oedema"] * level["oedema"]
        tumour = at["necrosis"] * level["necrosis"] + at["enhancing"] * level["enhancing"]
        intensity = (1.0 - at["core"]) * infiltrated + at["texture"] * tumour
        intensity = intensity * bias_field(rng, shape, 0.15)[inside]
        sigma = np.float32(0.025 * level["wm"])
        noisy = np.hypot(
            intensity + sigma * rng.standard_normal(intensity.shape, dtype=np.float32),
            sigma * rng.standard_normal(intensity.shape, dtype=np.float32),
        )
        gain = rng.uniform(700.0, 1300.0)  # scanners don't agree on units
        values = np.zeros(shape, dtype=np.int16)
        values[inside] = np.clip(np.rint(noisy * gain), 0, np.iinfo(np.int16).max)
        images[modality] = values
    return images


def make_subject(
    seed: int | Sequence[int], spacing_mm: float = 2.0, version: str = DEFAULT_GENERATOR
) -> dict[str, nib.Nifti1Image]:
    """Generate one SynthBraTS subject.

    Parameters
    ----------
    seed
        Seed of the subject's random generator; ``make_cohort`` passes ``(cohort_seed, index)``,
        so ``make_subject((0, 3))`` rebuilds subject 3 of the seed-0 cohort.
    spacing_mm
        Isotropic voxel size in millimetres (BraTS is 1 mm; the course default is 2 mm).
    version
        ``"2"`` (default): SynthBraTS 2 (`course_utils.synthbrats2`), which adds
        ``seg_rater2``, a second rater's labels; ``"1"``: the first generator.

    Returns
    -------
    dict
        ``t1``, ``t1ce``, ``t2``, ``flair``: int16 images; ``seg``: uint8 labels 0/1/2/4
        (and ``seg_rater2`` with version 2).
        All share one grid (98 x 116 x 94 voxels at 2 mm, axes R-A-S) and one RAS+ affine.

    Examples
    --------
    >>> subject = make_subject((0, 0))
    >>> subject["t1"].shape, subject["seg"].get_data_dtype()
    ((98, 116, 94), dtype('uint8'))
    """
    if check_version(version) == "2":
        from . import synthbrats2

        return synthbrats2.make_subject(seed, spacing_mm)
    arrays, _ = simulate(seed, spacing_mm)
    affine = load_template(spacing_mm).affine
    return {key: to_nifti(values, affine) for key, values in arrays.items()}


def check_version(version: str) -> str:
    """``version`` if it names a generator (``"1"`` or ``"2"``), else ValueError."""
    if version not in ("1", "2"):
        raise ValueError(f"version must be '1' or '2', not {version!r}")
    return version


def simulate(seed: int | Sequence[int], spacing_mm: float = 2.0):
    """SynthBraTS 1: the arrays behind ``make_subject(version="1")``, plus the ground truth
    they were rendered from (SynthBraTS 2's is `synthbrats2.simulate`).

    Returns ``(arrays, truth)``: ``arrays`` maps ``t1``, ``t1ce``, ``t2``, ``flair``
    (int16) and ``seg`` (uint8) to ``(X, Y, Z)`` arrays; ``truth`` maps ``csf``, ``gm``,
    ``wm``, ``brain`` and the tumour memberships ``necrosis``, ``enhancing``, ``core``,
    ``oedema`` to float32 fractions in [0, 1] on the same grid.
    """
    rng = np.random.default_rng(seed)
    template = load_template(spacing_mm)
    source, centre, scale = anatomy_source(rng, template)
    tumour = draw_tumour(rng, template, centre, scale)
    add_mass_effect(source, tumour, template.spacing_mm)
    tissue = warp_tissue(template, source)
    seg, membership = paint_tumour(rng, tumour, tissue, template.spacing_mm)
    arrays = render_contrasts(rng, tissue, membership)
    arrays["seg"] = seg
    truth = {key: tissue[key] for key in ("csf", "gm", "wm", "brain")}
    truth.update({key: membership[key] for key in ("necrosis", "enhancing", "core", "oedema")})
    return arrays, truth


def to_nifti(values: np.ndarray, affine: np.ndarray) -> nib.Nifti1Image:
    """Wrap an array as a NIfTI-1 image whose qform and sform both hold ``affine`` (mm)."""
    image = nib.Nifti1Image(values, np.asarray(affine))
    image.header.set_xyzt_units("mm", "sec")
    image.set_qform(affine, code="aligned")
    image.set_sform(affine, code="aligned")
    return image


def nifti_gz_bytes(image: nib.Nifti1Image) -> bytes:
    """A ``.nii.gz`` file's bytes, reproducible: the gzip header's timestamp is fixed at 0."""
    return gzip.compress(image.to_bytes(), compresslevel=6, mtime=0)


def subject_id(seed: int, index: int) -> str:
    """The subject's folder name, e.g. ``SynthBraTS_s0_0003`` for subject 3 of seed 0."""
    return f"SynthBraTS_s{seed}_{index:04d}"


def subject_files(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """Paths of one BraTS-layout subject: ``{"t1": <folder>/<ID>_t1.nii.gz, ..., "seg": ...}``."""
    folder = Path(folder)
    naming = brats.BRATS_2021_FILES
    return {key: folder / naming.file_name(folder.name, key) for key in (*GENERATION_ORDER, "seg")}


def make_cohort(
    root: str | os.PathLike[str],
    n_subjects: int,
    seed: int = DEFAULT_SEED,
    spacing_mm: float = 2.0,
    *,
    progress: bool = False,
    version: str = DEFAULT_GENERATOR,
) -> list[Path]:
    """Write ``n_subjects`` subjects in the BraTS 2021 layout under ``root``.

    Each file is written atomically. For a cached, verified cohort use `ensure_dataset`.
    Returns the subject folders in order.
    """
    root = Path(root)
    if check_version(version) == "2":
        from . import synthbrats2

        return synthbrats2.make_cohort(root, n_subjects, seed, spacing_mm, progress=progress)
    folders = []
    for index in progress_bar(range(n_subjects), progress):
        folder = root / subject_id(seed, index)
        images = make_subject((seed, index), spacing_mm, version="1")
        for key, path in subject_files(folder).items():
            files.atomic_write_bytes(path, nifti_gz_bytes(images[key]))
        folders.append(folder)
    return folders


def progress_bar(indices: range, progress: bool):
    """``indices``, behind a tqdm bar named SynthBraTS when ``progress``."""
    if not progress:
        return indices
    from tqdm.auto import tqdm

    return tqdm(indices, desc="SynthBraTS", unit="subject")


def cohort_settings(n_subjects: int, seed: int, spacing_mm: float) -> dict:
    """What a manifest records about how its cohort was made."""
    return {
        "generator": "SynthBraTS",
        "version": GENERATOR_VERSION,
        "seed": seed,
        "n_subjects": n_subjects,
        "spacing_mm": float(spacing_mm),
    }


def read_manifest(root: Path) -> dict | None:
    """The manifest in ``root``, or ``None`` if it is missing or unreadable."""
    try:
        return json.loads((root / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None


def manifest_problem(root: Path, settings: dict) -> str | None:
    """Why the cohort in ``root`` can't be used as is, or ``None`` if it matches ``settings``."""
    manifest = read_manifest(root)
    if manifest is None:
        return "no readable manifest.json"
    recorded = {key: manifest.get(key) for key in settings}
    if recorded != settings:
        return f"it was made with {recorded}, not {settings}"
    for relative, digest in manifest.get("files", {}).items():
        path = root / relative
        if not path.is_file():
            return f"{relative} is missing"
        if files.sha256_file(path) != digest:
            return f"{relative} does not match its checksum"
    return None


def ensure_dataset(
    root: str | os.PathLike[str] | None = None,
    n_subjects: int = DEFAULT_SUBJECTS,
    seed: int = DEFAULT_SEED,
    spacing_mm: float = 2.0,
    *,
    progress: bool = True,
) -> Path:
    """Return a verified SynthBraTS cohort folder, building it first if needed.

    The cohort lives in ``root`` (default: ``paths.synthbrats_dir()``, i.e.
    ``data/synthbrats`` or ``$COURSE_DATA/synthbrats``). It is reused when its
    ``manifest.json`` records the same generator version, seed, size and spacing and every
    file matches its SHA-256. Otherwise it is rebuilt in a temporary folder that replaces
    ``root`` only once complete, so an interrupted build leaves nothing half-written.
    """
    root = Path(root) if root is not None else paths.synthbrats_dir()
    settings = cohort_settings(n_subjects, seed, spacing_mm)
    if manifest_problem(root, settings) is None:
        return root
    with files.exclusive_lock(root.parent / f".{root.name}.lock"):
        if manifest_problem(root, settings) is None:  # another process built it meanwhile
            return root
        with files.atomic_directory(root) as building:
            make_cohort(building, n_subjects, seed, spacing_mm, progress=progress)
            digests = {
                str(path.relative_to(building)): files.sha256_file(path)
                for path in sorted(building.rglob("*"))
                if path.is_file()
            }
            manifest = {**settings, "files": digests}
            files.atomic_write_text(building / MANIFEST_NAME, json.dumps(manifest, indent=1))
    problem = manifest_problem(root, settings)
    if problem is not None:
        raise DatasetIntegrityError(
            root,
            f"the cohort just built fails verification: {problem}.",
            "Check free disk space, delete the folder and run `course-utils data` again.",
        )
    return root


def realism_report(root: str | os.PathLike[str], **kwargs) -> dict[str, float]:
    """How hard a BraTS-layout cohort is to segment: see `course_utils.synthbrats2.realism`."""
    from .synthbrats2 import realism

    return realism.realism_report(root, **kwargs)


def worked_example(root: str | os.PathLike[str] | None = None) -> Path:
    """The folder of the course's worked example (`WORKED_EXAMPLE`) in the default cohort at
    ``root`` (default: `paths.synthbrats_dir`), e.g. ``.../SynthBraTS_s0_0002``."""
    root = Path(root) if root is not None else paths.synthbrats_dir()
    return root / subject_id(DEFAULT_SEED, WORKED_EXAMPLE)


def list_subjects(root: str | os.PathLike[str]) -> list[Path]:
    """The subject folders of a BraTS-layout cohort, sorted by name."""
    return sorted(p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith("."))
