"""Siemens mosaics: many slices tiled into one DICOM image, unpacked with the CSA header.

Siemens scanners store an EPI or diffusion volume as one frame whose pixels are a grid of
``n x n`` tiles, one slice per tile (ImageType contains ``MOSAIC``). How many tiles hold
slices (``NumberOfImagesInMosaic``) and which way the slices run (``SliceNormalVector``)
are only in the private CSA image header (0029,1010), which ``nibabel.nicom.csareader``
parses. ImagePositionPatient is that of the whole mosaic as if it were one big slice
centred on the real one, so the first tile's position is shifted by half the size
difference along the row and column directions.

A mosaic whose CSA header is missing, or whose pixels are not a whole grid of tiles, is
refused with a message that names dcm2niix (which handles every Siemens variant).
Geometry is DICOM's LPS; ``course_utils.io`` converts to RAS+.

Used through ``io.load_volume``.
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..errors import GeometryError, UnsupportedFormatError
from .pixels import pixel_values
from .volume import DicomVolume, affine_from, unit_directions

__all__ = ["is_mosaic", "read_mosaic"]

DCM2NIIX_FIX = "Convert it with dcm2niix (pip install dcm2niix), then load the .nii file."


def is_mosaic(ds) -> bool:
    """Whether ``ds`` is a Siemens mosaic (``MOSAIC`` in ImageType)."""
    image_type = ds.get("ImageType") or []
    image_type = [image_type] if isinstance(image_type, str) else list(image_type)
    return "MOSAIC" in (str(v).upper() for v in image_type)


def import_csareader():
    """``nibabel.nicom.csareader``, without the warning that nibabel's DICOM reading is
    experimental (the CSA parser itself is what nibabel's tests cover)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        from nibabel.nicom import csareader
    return csareader


def csa_image_header(ds, path):
    """The parsed CSA image header (dict of tags), or a refusal naming dcm2niix."""
    csareader = import_csareader()
    try:
        header = csareader.get_csa_header(ds, "image")
    except csareader.CSAReadError as error:
        header, reason = None, f"cannot be parsed ({error})"
    else:
        reason = "is missing"
    if not header:
        raise UnsupportedFormatError(
            path,
            f"is a Siemens mosaic whose CSA image header (0029,1010) {reason}: without it the "
            "number of slices and their order are unknown.",
            DCM2NIIX_FIX,
        )
    return header


def read_mosaic(ds, path: str | os.PathLike[str]) -> DicomVolume:
    """Unpack a Siemens mosaic into a volume of its slices.

    Returns
    -------
    DicomVolume
        Voxels ``(columns, rows, slices)`` of one tile each, in physical units, in the order
        of the mosaic (along the CSA SliceNormalVector); affine voxel -> LPS mm.

    Raises
    ------
    UnsupportedFormatError
        No CSA header, no NumberOfImagesInMosaic, or pixels that are not a whole grid of
        tiles; each names dcm2niix.
    """
    csareader = import_csareader()
    header = csa_image_header(ds, path)
    count = csareader.get_n_mosaic(header)
    if not count:
        raise UnsupportedFormatError(
            path, "is a mosaic without NumberOfImagesInMosaic in its CSA header.", DCM2NIIX_FIX
        )
    count = int(count)
    grid = math.ceil(math.sqrt(count))
    rows, columns = int(ds.Rows), int(ds.Columns)
    if rows % grid or columns % grid:
        raise UnsupportedFormatError(
            path,
            f"is a mosaic of {count} slices ({grid}x{grid} tiles), but its {rows}x{columns} "
            "pixels are not a whole number of tiles (an edited or resized file?).",
            DCM2NIIX_FIX,
        )
    tile_rows, tile_columns = rows // grid, columns // grid
    pixels = pixel_values(ds, path)
    tiles = [
        pixels[r * tile_rows : (r + 1) * tile_rows, c * tile_columns : (c + 1) * tile_columns]
        for r, c in (divmod(k, grid) for k in range(count))
    ]
    voxels = np.stack([tile.T for tile in tiles], axis=2)

    row_dir, col_dir = unit_directions(ds.ImageOrientationPatient, path)
    spacing = np.asarray(ds.PixelSpacing, dtype=np.float64)  # (between rows, between columns)
    position = np.asarray(ds.ImagePositionPatient, dtype=np.float64)
    origin = (
        position
        + row_dir * spacing[1] * (columns - tile_columns) / 2
        + col_dir * spacing[0] * (rows - tile_rows) / 2
    )
    normal = csareader.get_slice_normal(header)
    if normal is None:
        normal = np.cross(row_dir, col_dir)
    normal = np.asarray(normal, dtype=np.float64)
    if not np.isclose(np.linalg.norm(normal), 1.0, atol=1e-3):
        raise GeometryError(
            path, f"its CSA SliceNormalVector {list(normal)} is not a unit vector.", DCM2NIIX_FIX
        )
    gap = ds.get("SpacingBetweenSlices") or ds.get("SliceThickness") or 1.0
    step = normal / np.linalg.norm(normal) * float(gap)
    affine = affine_from(row_dir, col_dir, spacing[::-1], origin, step)
    return DicomVolume(voxels, affine, (str(path),))
