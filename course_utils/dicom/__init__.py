"""DICOM specifics, one idea per module (nibabel's ``nicom/`` is the model).

- `headers`: `header_table` groups a dataset's elements by the categories of the DICOM
  information model (patient, study, series, equipment, image);
- `anatomy`: `file_anatomy` parses the first data elements from the raw bytes, to show what
  a DICOM file really is: a 128-byte preamble, ``DICM``, then tag / VR / length / value;
- `pixels`: `pixel_values` decodes pixel data to physical values (rescale slope/intercept),
  naming the package to install when a decoder is missing; `transfer_syntax_info`,
  `decoder_package`, `raw_value`;
- `volume`: `read_file_volume` reads one file (a slice, every frame of a multi-frame object,
  or the tiles of a Siemens mosaic) as a `DicomVolume`; `unit_directions` checks and
  normalises direction cosines (within 1e-3); `affine_from` builds the voxel -> LPS affine.
  A file that nothing places in the patient is refused (`GeometryError`), never given a
  made-up identity affine;
- `multiframe`: enhanced multi-frame DICOM read from its functional groups,
  `read_multiframe`;
- `enhanced_mr`: `write_enhanced_mr` writes a 3D image as one Enhanced MR file;
- `mosaic`: Siemens mosaics, unpacked with the CSA header.

``course_utils.multiframe`` and ``course_utils.mosaic`` still work (the notebooks import
them): they give the very objects of ``course_utils.dicom.multiframe`` (and
``.enhanced_mr``'s writer) and ``.mosaic``.
Whole series are assembled by ``course_utils.series``; de-identification lives in
``course_utils.deidentify``.

Geometry here is DICOM's own: patient coordinates in LPS millimetres. ``course_utils.io``
converts to RAS+ once, at the edge.

Used by notebooks 01, 02 and 03.
"""

from __future__ import annotations

from . import anatomy, headers, pixels, volume
from .anatomy import *  # noqa: F403
from .headers import *  # noqa: F403
from .pixels import *  # noqa: F403
from .volume import *  # noqa: F403

__all__ = [*headers.__all__, *anatomy.__all__, *pixels.__all__, *volume.__all__]
