"""`Compose`, and the two augmentation recipes the course trains with.

`Compose` applies transforms in order, all drawing from the one generator passed in, so the
order of the list is the order of the draws. `default_augmentation` is the nnU-Net-like recipe
the notebooks show; `training_augmentation`, what ``course-utils train`` applies, adds
`RandomResample`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..heap import release_free_memory
from .intensity import RandomGamma, RandomGaussianNoise, RandomIntensityScaleShift
from .resolution import RandomResample
from .spatial import RandomAffine, RandomFlip

__all__ = ["Compose", "default_augmentation", "training_augmentation"]


class Compose:
    """Apply ``transforms`` in order, all drawing from the one generator passed in.

    Examples
    --------
    >>> from course_utils.transforms import sample_generator
    >>> augment = Compose([RandomFlip(p=1.0), RandomGaussianNoise(p=0.0)])
    >>> item = {"image": torch.arange(4.0).reshape(1, 2, 2)}
    >>> augment(item, sample_generator(0))["image"]
    tensor([[[3., 2.],
             [1., 0.]]])
    """

    def __init__(self, transforms: Sequence) -> None:
        self.transforms = list(transforms)

    def __call__(self, item: dict, generator: torch.Generator | None = None) -> dict:
        for transform in self.transforms:
            item = transform(item, generator)
        release_free_memory()  # the intermediate volumes' heap pages, see course_utils.heap
        return item

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {t!r}" for t in self.transforms)
        return f"Compose([\n{inner}\n])"


def default_augmentation() -> Compose:
    """The course's training augmentation: flips, a small affine, intensity, gamma, noise.

    Probabilities and ranges are nnU-Net-like: flips 0.5 per axis; rotation up to 10 degrees
    per axis, scaling 0.9-1.1, shifts up to 4 voxels (p 0.5); intensity scale and shift 0.1
    (p 0.5); gamma ``exp(U(-0.3, 0.3))`` (p 0.3); noise up to 0.1 standard deviations (p 0.2).
    """
    return Compose(
        [
            RandomFlip(),
            RandomAffine(),
            RandomIntensityScaleShift(),
            RandomGamma(),
            RandomGaussianNoise(),
        ]
    )


def training_augmentation() -> Compose:
    """What ``course-utils train`` applies: `default_augmentation` with `RandomResample`.

    The resampling blur comes first, before the intensity changes, as a scanner's
    reconstruction and a registration's interpolation come before any intensity drift.
    """
    transforms = default_augmentation().transforms
    return Compose([*transforms[:2], RandomResample(), *transforms[2:]])
