"""Static figures of volumes: slices, orthogonal views, label overlays, contrast montages.

Every function takes a ``nibabel`` image (or a plain array), returns its ``Figure`` and
accepts an ``ax`` (or ``axes``) to draw into. Images are shown in the neurological
convention (the subject's right on the right of the screen) after reorientation to RAS+,
with orientation letters on the edges; BraTS labels always use the same colours.

`window_limits` is the one window/level helper of the course; `course_utils.viewers`
builds its widgets on these functions. Used from notebook 00 onwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import nibabel as nib
import numpy as np

from .. import brats

__all__ = [
    "LABEL_COLOURS",
    "LABEL_NAMES",
    "AXIS_NAMES",
    "setup_notebook",
    "window_limits",
    "oriented_slice",
    "show_slice",
    "show_orthogonal",
    "show_contrasts",
    "label_colormap",
    "add_label_legend",
    "AGREEMENT_COLOURS",
    "show_agreement",
]

#: Tumour sub-region -> colour: necrotic core red, oedema green, enhancing tumour yellow.
SUBREGION_COLOURS = {"necrotic_core": "#e41a1c", "oedema": "#4daf4a", "enhancing": "#ffd92f"}
#: BraTS 2021 label value -> colour, and -> legend text (names from `brats.BRATS_2021`).
LABEL_COLOURS = {
    value: SUBREGION_COLOURS[key]
    for value, key in brats.BRATS_2021.subregions.items()
    if key in SUBREGION_COLOURS
}
LABEL_NAMES = {
    value: f"{brats.SUBREGION_SHORT_NAMES[brats.BRATS_2021.subregions[value]]} ({value})"
    for value in LABEL_COLOURS
}
#: `show_agreement`'s colours: found (in both), extra (predicted only), missed (truth only).
AGREEMENT_COLOURS = {"found": "#4daf4a", "extra": "#377eb8", "missed": "#e41a1c"}
#: Array axis of a RAS+ volume -> the plane you see when you slice across it.
AXIS_NAMES = {0: "sagittal", 1: "coronal", 2: "axial"}
# For each slicing axis: (horizontal axis, vertical axis) of the displayed plane, and the
# letters at the (left, right, bottom, top) edges in the neurological convention.
PLANE_AXES = {0: (1, 2), 1: (0, 2), 2: (0, 1)}
EDGE_LETTERS = {0: ("P", "A", "I", "S"), 1: ("L", "R", "I", "S"), 2: ("L", "R", "P", "A")}


def setup_notebook() -> None:
    """Inline PNG figures with the course's defaults: compact, readable, no smoothing.

    Call once in each notebook's configuration cell. Outside IPython it only sets rcParams.
    """
    import matplotlib as mpl

    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is not None and hasattr(shell, "kernel"):
        shell.run_line_magic("matplotlib", "inline")

    mpl.rcParams.update(
        {
            "figure.dpi": 80,
            "savefig.dpi": 80,
            "figure.figsize": (8.0, 4.0),
            "image.interpolation": "nearest",
            "axes.titlesize": 11,
            "font.size": 10,
        }
    )


def as_ras_array(image: nib.Nifti1Image | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The voxels of ``image`` reoriented to RAS+, and the voxel sizes (mm) along each axis.

    Plain arrays are taken as already RAS+ with 1 mm voxels.
    """
    if isinstance(image, np.ndarray):
        return image, np.ones(image.ndim)
    canonical = nib.as_closest_canonical(image)
    return np.asanyarray(canonical.dataobj), np.asarray(canonical.header.get_zooms()[:3])


def window_limits(
    values: np.ndarray,
    window: float | None = None,
    level: float | None = None,
    percentiles: tuple[float, float] = (0.5, 99.5),
) -> tuple[float, float]:
    """Display range ``(vmin, vmax)`` for a window width and level (centre), in image units.

    With neither given, the window spans the ``percentiles`` of the non-zero voxels (the
    brain, for skull-stripped data), so one bright voxel can't wash the image out.

    Examples
    --------
    >>> window_limits(np.arange(10.0), window=4, level=5)
    (3.0, 7.0)
    """
    if window is not None and level is not None:
        return float(level - window / 2), float(level + window / 2)
    foreground = values[values != 0] if np.any(values != 0) else np.ravel(values)
    low, high = np.percentile(foreground, percentiles)
    if window is not None:
        centre = (low + high) / 2
        return float(centre - window / 2), float(centre + window / 2)
    if level is not None:
        half = (high - low) / 2
        return float(level - half), float(level + half)
    return float(low), float(high if high > low else low + 1)


def label_colormap():
    """A ``(ListedColormap, BoundaryNorm)`` pair for `LABEL_COLOURS`; other values transparent."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    top = max(LABEL_COLOURS)
    colours = [LABEL_COLOURS.get(value, "#00000000") for value in range(top + 1)]
    return ListedColormap(colours), BoundaryNorm(np.arange(-0.5, top + 1.0, 1.0), top + 1)


def oriented_slice(volume: np.ndarray, axis: int, index: int) -> np.ndarray:
    """Slice ``index`` across ``axis`` of a RAS+ ``(X, Y, Z)`` volume, ready for ``imshow``.

    The result is ``(rows, columns)`` with rows running along the plane's vertical axis, to
    be drawn with ``origin="lower"``: the subject's right on the right, anterior or superior
    at the top.
    """
    if not 0 <= index < volume.shape[axis]:
        raise IndexError(
            f"slice {index} is outside the volume: axis {axis} has {volume.shape[axis]} slices."
        )
    return np.take(volume, index, axis=axis).T


def new_axes(ax, ncols: int = 1, figsize=None):
    """``(figure, axes list)``: the given axes, or a fresh row of ``ncols`` axes."""
    if ax is not None:
        axes = list(np.ravel(ax))
        return axes[0].figure, axes
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize or (3.2 * ncols, 3.4), layout="constrained")
    return figure, list(np.ravel(figure.subplots(1, ncols, squeeze=False)))


def draw_plane(
    ax,
    volume: np.ndarray,
    zooms: np.ndarray,
    axis: int,
    index: int,
    *,
    label: np.ndarray | None = None,
    limits: tuple[float, float],
    alpha: float = 0.45,
    cmap: str = "gray",
):
    """Draw one plane with its label overlay and orientation letters; return the image artist."""
    horizontal, vertical = PLANE_AXES[axis]
    artist = ax.imshow(
        oriented_slice(volume, axis, index),
        cmap=cmap,
        vmin=limits[0],
        vmax=limits[1],
        origin="lower",
        aspect=zooms[vertical] / zooms[horizontal],
    )
    if label is not None and alpha > 0:
        label_cmap, label_norm = label_colormap()
        ax.imshow(
            oriented_slice(label, axis, index),
            cmap=label_cmap,
            norm=label_norm,
            alpha=alpha,
            origin="lower",
            aspect=zooms[vertical] / zooms[horizontal],
            interpolation="nearest",
        )
    ax.set_xticks([])
    ax.set_yticks([])
    left, right, bottom, top = EDGE_LETTERS[axis]
    style = {"color": "white", "fontsize": 9, "fontweight": "bold"}
    ax.text(0.02, 0.5, left, transform=ax.transAxes, ha="left", va="center", **style)
    ax.text(0.98, 0.5, right, transform=ax.transAxes, ha="right", va="center", **style)
    ax.text(0.5, 0.02, bottom, transform=ax.transAxes, ha="center", va="bottom", **style)
    ax.text(0.5, 0.98, top, transform=ax.transAxes, ha="center", va="top", **style)
    return artist


def add_label_legend(figure, labels_present: Sequence[int] | None = None) -> None:
    """A legend of the BraTS label colours along the bottom of ``figure``, in place.

    ``labels_present`` are BraTS 2021 label values (1, 2, 4; default: all of
    `LABEL_COLOURS`), each shown as its colour and `LABEL_NAMES` text. Used under the
    overlays of notebook 07.
    """
    from matplotlib.patches import Patch

    labels_present = tuple(LABEL_COLOURS) if labels_present is None else labels_present
    handles = [Patch(color=LABEL_COLOURS[v], label=LABEL_NAMES[v]) for v in labels_present]
    figure.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)


def show_slice(
    image: nib.Nifti1Image | np.ndarray,
    axis: int = 2,
    index: int | None = None,
    *,
    label: nib.Nifti1Image | np.ndarray | None = None,
    window: float | None = None,
    level: float | None = None,
    alpha: float = 0.45,
    title: str | None = None,
    colorbar: bool = True,
    units: str = "intensity (a.u.)",
    ax=None,
):
    """One slice of ``image`` across ``axis`` (0 sagittal, 1 coronal, 2 axial).

    ``index`` defaults to the middle slice; ``label`` (same grid) is overlaid in the BraTS
    colours with opacity ``alpha``. Returns the ``Figure``.
    """
    volume, zooms = as_ras_array(image)
    label_volume = None if label is None else as_ras_array(label)[0]
    index = volume.shape[axis] // 2 if index is None else int(index)
    return slice_figure(
        volume,
        zooms,
        axis,
        index,
        label=label_volume,
        limits=window_limits(volume, window, level),
        alpha=alpha,
        title=title,
        colorbar=colorbar,
        units=units,
        ax=ax,
    )


def slice_figure(
    volume: np.ndarray,
    zooms: np.ndarray,
    axis: int,
    index: int,
    *,
    label: np.ndarray | None,
    limits: tuple[float, float],
    alpha: float = 0.45,
    title: str | None = None,
    colorbar: bool = True,
    units: str = "intensity (a.u.)",
    ax=None,
):
    """`show_slice` for a RAS+ array with known voxel sizes ``zooms`` (mm); returns the Figure."""
    figure, (ax,) = new_axes(ax, figsize=(4.2, 4.2))
    artist = draw_plane(ax, volume, zooms, axis, index, label=label, limits=limits, alpha=alpha)
    ax.set_title(title or f"{AXIS_NAMES[axis]} slice {index}")
    if colorbar:
        figure.colorbar(artist, ax=ax, shrink=0.8, label=units)
    return figure


def default_point(volume: np.ndarray, label: np.ndarray | None) -> tuple[int, int, int]:
    """The tumour's centre of mass if there is a label, else the volume's centre (voxels)."""
    if label is not None and np.any(label > 0):
        return tuple(int(round(c)) for c in np.argwhere(label > 0).mean(axis=0))
    return tuple(n // 2 for n in volume.shape[:3])


def show_orthogonal(
    image: nib.Nifti1Image | np.ndarray,
    *,
    label: nib.Nifti1Image | np.ndarray | None = None,
    point: Sequence[int] | None = None,
    window: float | None = None,
    level: float | None = None,
    alpha: float = 0.45,
    title: str | None = None,
    units: str = "intensity (a.u.)",
    axes=None,
):
    """Sagittal, coronal and axial slices through ``point`` (voxel indices of the RAS+ volume).

    ``point`` defaults to the label's centre of mass, or the volume's centre. Returns the
    ``Figure``.
    """
    volume, zooms = as_ras_array(image)
    label_volume = None if label is None else as_ras_array(label)[0]
    point = default_point(volume, label_volume) if point is None else tuple(point)
    figure, axes = new_axes(axes, ncols=3, figsize=(10, 3.8))
    limits = window_limits(volume, window, level)
    for axis, ax in enumerate(axes):
        artist = draw_plane(
            ax, volume, zooms, axis, point[axis], label=label_volume, limits=limits, alpha=alpha
        )
        ax.set_title(f"{AXIS_NAMES[axis]} (slice {point[axis]})")
    figure.colorbar(artist, ax=axes, shrink=0.8, label=units)
    if label_volume is not None:
        add_label_legend(figure)
    if title:
        figure.suptitle(title)
    return figure


def show_contrasts(
    images: Mapping[str, nib.Nifti1Image],
    *,
    label: nib.Nifti1Image | None = None,
    axis: int = 2,
    index: int | None = None,
    title: str | None = None,
):
    """A row of the same slice in every contrast, plus the labels over the first one.

    ``images`` maps contrast names (``t1``, ``t1ce``, ...) to images on one grid; each is
    windowed on its own brain percentiles. ``index`` defaults to the slice through the
    label's centre of mass. Returns the ``Figure``.
    """
    names = list(images)
    volumes = {name: as_ras_array(images[name]) for name in names}
    first, zooms = volumes[names[0]]
    label_volume = None if label is None else as_ras_array(label)[0]
    if index is None:
        index = default_point(first, label_volume)[axis]
    ncols = len(names) + (label_volume is not None)
    figure, axes = new_axes(None, ncols=ncols, figsize=(2.6 * ncols, 3.3))
    for ax, name in zip(axes, names, strict=False):
        volume = volumes[name][0]
        draw_plane(ax, volume, zooms, axis, index, limits=window_limits(volume))
        ax.set_title(name.upper() if len(name) <= 5 else name)
    if label_volume is not None:
        draw_plane(
            axes[-1],
            first,
            zooms,
            axis,
            index,
            label=label_volume,
            limits=window_limits(first),
            alpha=0.6,
        )
        axes[-1].set_title(f"labels on {names[0].upper()}")
        add_label_legend(figure)
    figure.suptitle(title or f"{AXIS_NAMES[axis]} slice {index}")
    return figure


def show_agreement(
    image: np.ndarray,
    prediction: np.ndarray,
    truth: np.ndarray,
    axis: int = 2,
    index: int | None = None,
    *,
    zooms: Sequence[float] = (1.0, 1.0, 1.0),
    title: str | None = None,
    legend: bool = True,
    ax=None,
):
    """Where a predicted mask agrees with the truth, on one slice of ``image``.

    ``image``, ``prediction`` and ``truth`` are RAS+ ``(X, Y, Z)`` arrays of one grid (masks
    boolean), ``zooms`` the voxel sizes in mm. Voxels in both masks are drawn in
    ``AGREEMENT_COLOURS["found"]`` (green), predicted only in ``"extra"`` (blue: false
    positives), truth only in ``"missed"`` (red: false negatives). ``index`` defaults to the
    slice with the most disagreeing voxels. Returns the ``Figure``.
    """
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch

    prediction, truth = np.asarray(prediction, bool), np.asarray(truth, bool)
    if not prediction.shape == truth.shape == np.shape(image):
        raise ValueError(
            f"image {np.shape(image)}, prediction {prediction.shape} and truth {truth.shape} "
            "must share one grid."
        )
    kinds = {
        "found": prediction & truth,
        "extra": prediction & ~truth,
        "missed": truth & ~prediction,
    }
    if index is None:
        wrong = kinds["extra"] | kinds["missed"]
        other = tuple(a for a in range(3) if a != axis)
        index = int(np.argmax(wrong.sum(axis=other)))
    volume = np.asarray(image, dtype=np.float32)
    zooms = np.asarray(zooms, dtype=float)
    figure, (ax,) = new_axes(ax, figsize=(4.2, 4.2))
    draw_plane(ax, volume, zooms, axis, index, limits=window_limits(volume))
    horizontal, vertical = PLANE_AXES[axis]
    overlay = np.zeros((*oriented_slice(volume, axis, index).shape, 4))
    for kind, mask in kinds.items():
        overlay[oriented_slice(mask, axis, index)] = to_rgba(AGREEMENT_COLOURS[kind], 0.8)
    ax.imshow(
        overlay,
        origin="lower",
        aspect=zooms[vertical] / zooms[horizontal],
        interpolation="nearest",
    )
    ax.set_title(title or f"{AXIS_NAMES[axis]} slice {index}")
    if legend:
        handles = [Patch(color=c, label=k) for k, c in AGREEMENT_COLOURS.items()]
        ax.legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.6)
    return figure
