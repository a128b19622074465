"""Static figures: slices, orthogonal views, label overlays, contrast montages, registration.

Every function takes a ``nibabel`` image (or a plain array), returns its ``Figure`` and
accepts an ``ax`` (or ``axes``) to draw into. One idea per module, every public name
re-exported here (``from course_utils import plotting`` then ``plotting.show_slice(...)``):

- `slices`: volumes in the neurological convention after reorientation to RAS+, with
  orientation letters and the fixed BraTS label colours (`show_slice`, `show_orthogonal`,
  `show_contrasts`, `show_agreement`) and `window_limits`, the one window/level rule of the
  course;
- `registration`: the figures of image registration on 2D slices (fixed/moving pairs,
  checkerboards and blends, warped lattices, joint histograms, cost landscapes,
  displacement fields), used by notebook 05 and by `viewers.CompareViewer`.

`course_utils.viewers` builds its widgets on these functions. Used from notebook 00 onwards.
"""

from __future__ import annotations

from . import registration, slices
from .registration import *  # noqa: F403
from .slices import *  # noqa: F403

# Also the helpers `viewers` and the tests use (as_ras_array, draw_plane, new_axes, ...),
# importable from here as before the split; only `__all__` is public.
from .slices import (  # noqa: F401
    EDGE_LETTERS,
    PLANE_AXES,
    SUBREGION_COLOURS,
    as_ras_array,
    default_point,
    draw_plane,
    new_axes,
    slice_figure,
)

__all__ = [*slices.__all__, *registration.__all__]
