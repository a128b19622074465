"""U-Net: the encoder-decoder network that segments the tumour, in 2D or 3D.

Laid out as MONAI's ``networks/blocks`` vs ``networks/nets``, every public name re-exported
here (``from course_utils.unet import UNet``):

- `blocks`: `ConvBlock`, `Down`, `Up`, the building blocks, and the layer factories that pick
  the 2D or 3D layer;
- `head`: `Head`, one logit per output channel and voxel at full resolution from the
  half-resolution features and the image itself (`depth_to_space`);
- `nets`: `UNet`, which stacks them (Ronneberger et al., MICCAI 2015; Cicek et al., 3D U-Net,
  MICCAI 2016), with `size_multiple` and `nearest_valid_sizes` for its input sizes.

Tensors are ``(B, C, *spatial)``; sizes in voxels. Used by notebook 07 (U-Net training).
"""

from __future__ import annotations

from . import blocks, head, nets
from .blocks import *  # noqa: F403
from .head import *  # noqa: F403
from .nets import *  # noqa: F403

__all__ = [*blocks.__all__, *head.__all__, *nets.__all__]
