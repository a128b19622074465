"""Enhanced (multi-frame) DICOM: each frame's geometry and pixel values from its functional groups.

An Enhanced MR, CT or PET object (and any multi-frame IOD built the same way) keeps its
geometry not in top-level attributes but in *functional groups* (PS3.3 C.7.6.16): a
Shared Functional Groups Sequence with one item that holds what all frames share, and a
Per-Frame Functional Groups Sequence with one item per frame. A macro found in a frame's
item overrides the shared one. The macros read here:

=================================  ================================================
macro (sequence)                   attributes
=================================  ================================================
Plane Orientation                  ImageOrientationPatient (row and column cosines)
Plane Position                     ImagePositionPatient (LPS mm, centre of pixel 0,0)
Pixel Measures                     PixelSpacing, SliceThickness, SpacingBetweenSlices
Pixel Value Transformation         RescaleSlope, RescaleIntercept
Frame Content                      StackID, InStackPositionNumber, DimensionIndexValues
=================================  ================================================

`read_multiframe` sorts the frames by position along the slice normal (never by frame
number), checks the spacing as ``course_utils.series`` does for folders, and refuses a
file that holds several stacks or a fourth dimension (echoes, b-values, time points,
segments), listing the choices: pass ``frames=`` to read one of them. A file whose groups
place no frame in the patient is refused too (`GeometryError`): the course never makes up
an identity affine. Geometry is DICOM's LPS; ``course_utils.io`` converts to RAS+.

Writing such a file is `enhanced_mr.write_enhanced_mr`, beside this module (the tag
constants below are shared with it).

Used by notebook 02 through ``io.load_volume``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import GeometryError, SeriesError
from .pixels import pixel_values
from .volume import DicomVolume, affine_from, unit_directions

__all__ = [
    "Frame",
    "has_functional_groups",
    "group_value",
    "frames_of",
    "frame_rescale",
    "read_multiframe",
]

STACK_ID = 0x00209056
IN_STACK_POSITION = 0x00209057  # InStackPositionNumber
FRAME_CONTENT = 0x00209111  # FrameContentSequence: the group the dimension indices point into
# Dimension index pointers that say where a frame is, not which volume it belongs to.
SPATIAL_POINTERS = {IN_STACK_POSITION, 0x00200032}  # and ImagePositionPatient


@dataclass(frozen=True)
class Frame:
    """What one frame's functional groups say about it.

    ``number`` is 1-based (as DICOM counts frames); ``orientation`` the 6 direction
    cosines and ``position`` the LPS position (mm) of the centre of its first pixel, or
    ``None`` when neither group gives them; ``spacing`` is PixelSpacing as stored
    ``(between rows, between columns)`` in mm, or ``None``; ``volume`` the values that say
    which volume the frame belongs to (stack and non-spatial dimension indices).
    """

    number: int
    orientation: np.ndarray | None
    position: np.ndarray | None
    spacing: np.ndarray | None
    thickness: float | None
    slope: float
    intercept: float
    volume: tuple[tuple[str, str], ...]


def has_functional_groups(ds) -> bool:
    """Whether ``ds`` carries shared or per-frame functional groups."""
    return "SharedFunctionalGroupsSequence" in ds or "PerFrameFunctionalGroupsSequence" in ds


def group_value(ds, frame: int, sequence: str, keyword: str, default=None):
    """``keyword`` inside macro ``sequence`` for 0-based ``frame``: per-frame, else shared.

    Examples
    --------
    >>> from pydicom import dcmread
    >>> from pydicom.data import get_testdata_file
    >>> ds = dcmread(get_testdata_file("eCT_Supplemental.dcm"))
    >>> float(group_value(ds, 0, "PixelValueTransformationSequence", "RescaleIntercept"))
    -1024.0
    """
    places = []
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame is not None and frame < len(per_frame):
        places.append(per_frame[frame])
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        places.append(shared[0])
    for groups in places:
        macro = groups.get(sequence)
        if macro and keyword in macro[0]:
            value = macro[0][keyword].value
            if value is not None and value != "":
                return value
    return default


def number_of_frames(ds) -> int:
    """NumberOfFrames (1 when absent or empty)."""
    return int(ds.get("NumberOfFrames", 1) or 1)


def frame_rescale(ds) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame ``(slopes, intercepts)``, float64 arrays of shape ``(frames,)``.

    From each frame's Pixel Value Transformation (per-frame, else shared), else the
    top-level RescaleSlope/RescaleIntercept, else 1 and 0.
    """
    count = number_of_frames(ds)
    top_slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
    top_intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    macro = "PixelValueTransformationSequence"
    slopes = [float(group_value(ds, k, macro, "RescaleSlope", top_slope)) for k in range(count)]
    intercepts = [
        float(group_value(ds, k, macro, "RescaleIntercept", top_intercept)) for k in range(count)
    ]
    return np.array(slopes), np.array(intercepts)


def dimension_labels(ds) -> list[tuple[int, str]]:
    """``(pointer tag, label)`` of each entry of the DimensionIndexSequence, in order."""
    labels = []
    for item in ds.get("DimensionIndexSequence") or []:
        pointer = int(item.get("DimensionIndexPointer", 0) or 0)
        label = item.get("DimensionDescriptionLabel") or dicom_keyword(pointer)
        labels.append((pointer, str(label)))
    return labels


def dicom_keyword(tag: int) -> str:
    """The dictionary keyword of ``tag`` (or its hex form)."""
    from pydicom.datadict import keyword_for_tag

    return keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def volume_key(ds, frame: int, labels: list[tuple[int, str]]) -> tuple[tuple[str, str], ...]:
    """The stack and non-spatial dimension index values of ``frame``, as ``(label, value)``."""
    content = "FrameContentSequence"
    key = []
    stack = group_value(ds, frame, content, "StackID")
    indices = group_value(ds, frame, content, "DimensionIndexValues")
    indices = [] if indices is None else [indices] if isinstance(indices, int) else list(indices)
    pointers_used = set()
    for (pointer, label), value in zip(labels, indices, strict=False):
        if pointer == STACK_ID:
            key.append(("StackID", str(stack if stack is not None else value)))
        elif pointer not in SPATIAL_POINTERS:
            key.append((label, str(value)))
        pointers_used.add(pointer)
    if stack is not None and STACK_ID not in pointers_used:
        key.append(("StackID", str(stack)))
    return tuple(key)


def as_array(value) -> np.ndarray | None:
    """A multi-valued DICOM number as a float64 array (``None`` stays ``None``)."""
    return None if value is None else np.asarray([float(v) for v in value], dtype=np.float64)


def frames_of(ds) -> list[Frame]:
    """Every frame of ``ds`` with what its functional groups say (see `Frame`)."""
    slopes, intercepts = frame_rescale(ds)
    labels = dimension_labels(ds)
    frames = []
    for k in range(number_of_frames(ds)):
        thickness = group_value(ds, k, "PixelMeasuresSequence", "SliceThickness")
        frames.append(
            Frame(
                number=k + 1,
                orientation=as_array(
                    group_value(ds, k, "PlaneOrientationSequence", "ImageOrientationPatient")
                ),
                position=as_array(
                    group_value(ds, k, "PlanePositionSequence", "ImagePositionPatient")
                ),
                spacing=as_array(
                    group_value(ds, k, "PixelMeasuresSequence", "PixelSpacing")
                    or ds.get("PixelSpacing")
                ),
                thickness=None if thickness is None else float(thickness),
                slope=float(slopes[k]),
                intercept=float(intercepts[k]),
                volume=volume_key(ds, k, labels),
            )
        )
    return frames


def frame_ranges(numbers: Sequence[int]) -> str:
    """``[1, 2, 3, 7, 9, 10]`` -> ``'1-3, 7, 9-10'`` (frame numbers for messages)."""
    parts, start = [], None
    numbers = sorted(numbers)
    for i, n in enumerate(numbers):
        start = n if start is None else start
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(str(n) if start == n else f"{start}-{n}")
            start = None
    return ", ".join(parts[:6]) + (", …" if len(parts) > 6 else "")


def refuse_several_volumes(path, groups: dict, what: str) -> None:
    """Raise `SeriesError` listing each volume of a file and the frames that make it."""
    choices = [
        f"{', '.join(f'{label} {value}' for label, value in key) or f'volume {i + 1}'}: "
        f"frames {frame_ranges([f.number for f in members])} "
        f"({len(members)} frame{'s' if len(members) != 1 else ''})"
        for i, (key, members) in enumerate(groups.items())
    ]
    shown = "; ".join(choices[:8]) + ("; …" if len(choices) > 8 else "")
    first = next(iter(groups.values()))
    raise SeriesError(
        path,
        f"holds {len(groups)} volumes ({what}), not one: {shown}.",
        f"Read one with load_volume(path, frames=[...]) (e.g. the frames "
        f"{frame_ranges([f.number for f in first])}), or convert the file with dcm2niix, "
        "which writes one volume per stack, echo or time point.",
    )


def grouped(frames: list[Frame], key) -> dict[tuple, list[Frame]]:
    """``frames`` grouped by ``key(frame)``, in order of first appearance."""
    groups: dict[tuple, list[Frame]] = {}
    for frame in frames:
        groups.setdefault(key(frame), []).append(frame)
    return groups


def split_volumes(frames: list[Frame], path) -> list[Frame]:
    """The frames, after refusing a file that holds more than one volume.

    Several StackIDs are several volumes. A non-spatial dimension index (echo, time point,
    segment...) that takes several values is too, unless each value has a single frame (a
    per-frame counter labels frames, it does not split them). Frames sharing a position
    without such an index are a 4th dimension, listed by repeat. Frames at different
    orientations are refused last.
    """
    stacks = grouped(frames, lambda f: tuple(kv for kv in f.volume if kv[0] == "StackID"))
    if len(stacks) > 1:
        refuse_several_volumes(path, stacks, "several stacks")
    dimensions = grouped(frames, lambda f: tuple(kv for kv in f.volume if kv[0] != "StackID"))
    if len(dimensions) > 1 and any(len(members) > 1 for members in dimensions.values()):
        labels = sorted({label for key in dimensions for label, _ in key})
        refuse_several_volumes(path, dimensions, "they differ in " + ", ".join(labels))
    by_position = grouped(frames, lambda f: tuple(np.round(f.position, 3)))
    if max(len(members) for members in by_position.values()) > 1:
        repeats: dict[tuple, list[Frame]] = {}
        for members in by_position.values():
            for i, frame in enumerate(members):
                repeats.setdefault((("repeat", str(i + 1)),), []).append(frame)
        refuse_several_volumes(
            path, repeats, "frames share positions: a 4th dimension such as echoes or time"
        )
    orientations = grouped(
        frames, lambda f: (("orientation", str(list(np.round(f.orientation, 3)))),)
    )
    if len(orientations) > 1:
        refuse_several_volumes(path, orientations, "frames at different orientations")
    return frames


def check_geometry(frames: list[Frame], path) -> None:
    """Refuse frames that no functional group places in the patient."""
    for frame in frames:
        missing = [
            name
            for name, value in (
                ("Plane Orientation (ImageOrientationPatient)", frame.orientation),
                ("Plane Position (ImagePositionPatient)", frame.position),
                ("Pixel Measures (PixelSpacing)", frame.spacing),
            )
            if value is None
        ]
        if missing:
            raise GeometryError(
                path,
                f"frame {frame.number} has no {' or '.join(missing)} in its per-frame or shared "
                "functional groups: nothing places the image in the patient, and the course "
                "does not make up an affine.",
                "Use a file whose functional groups carry its geometry (as scanners write "
                "them); to look at the pixels alone, use "
                "dicom.pixel_values(pydicom.dcmread(path)).",
            )


def read_multiframe(
    ds, path: str | os.PathLike[str], frames: Sequence[int] | None = None
) -> DicomVolume:
    """One enhanced multi-frame file as a volume, its geometry from the functional groups.

    Parameters
    ----------
    ds
        The pydicom dataset (with pixel data).
    path
        Its file, for messages.
    frames
        1-based frame numbers to read (one volume of a file that holds several); all by
        default.

    Returns
    -------
    DicomVolume
        Voxels ``(columns, rows, frames[, samples])`` in physical units (each frame's
        rescale applied; float32 when any rescale applies), frames sorted by position along
        the slice normal, and the voxel -> LPS affine (mm).

    Raises
    ------
    GeometryError
        A frame without orientation, position or pixel spacing; direction cosines far from
        unit length or orthogonality.
    SeriesError
        Several stacks or a 4th dimension (listed, with their frame numbers), uneven or
        duplicate frame positions; ``frames`` out of range.
    """
    every = frames_of(ds)
    if frames is not None:
        numbers = [int(n) for n in frames]
        if not numbers or min(numbers) < 1 or max(numbers) > len(every):
            raise SeriesError(
                path,
                f"has frames 1-{len(every)}; frames={numbers!r} asks for others.",
                "Pick frame numbers (1-based) from the list in the error that led here.",
            )
        every = [every[n - 1] for n in numbers]
    check_geometry(every, path)
    chosen = split_volumes(every, path)
    row_dir, col_dir = unit_directions(chosen[0].orientation, path)
    normal = np.cross(row_dir, col_dir)
    depths = np.array([normal @ frame.position for frame in chosen])
    order = np.argsort(depths, kind="stable")
    chosen = [chosen[i] for i in order]
    names = [f"frame {frame.number}" for frame in chosen]
    from ..series import check_spacing

    check_spacing(depths[order], [path] * len(chosen), names, path)
    first, last = chosen[0], chosen[-1]
    if len(chosen) > 1:
        step = (last.position - first.position) / (len(chosen) - 1)
    else:
        spacing_between = group_value(ds, 0, "PixelMeasuresSequence", "SpacingBetweenSlices")
        step = normal * float(spacing_between or first.thickness or 1.0)
    pixels = pixel_values(ds, path)
    if number_of_frames(ds) == 1:
        pixels = pixels[np.newaxis]
    pixels = pixels[[frame.number - 1 for frame in chosen]]
    voxels = np.swapaxes(np.moveaxis(pixels, 0, 2), 0, 1)  # (columns, rows, frames, ...)
    affine = affine_from(row_dir, col_dir, first.spacing[::-1], first.position, step)
    return DicomVolume(voxels, affine, (str(path),))
