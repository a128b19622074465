"""Seeded augmentation, applied jointly to an item's image and label.

Every transform takes an item ``{"image": ..., "label": ..., ...}`` (as `datasets` makes them)
and a ``torch.Generator``, and returns a new dict; its input is never modified, so a cached item
stays as it was. Shapes:

- ``"image"``: float ``(C, D, H, W)`` (3D) or ``(C, H, W)`` (2D slices);
- ``"label"`` (optional): binary regions ``(K, D, H, W)`` or integer classes ``(D, H, W)``,
  likewise in 2D. The number of spatial axes is read from the image (``image.ndim - 1``).

Spatial transforms (`RandomFlip`, `RandomAffine`) move image and label together; the label is
resampled with nearest neighbour, so it only ever takes values it already had. Intensity
transforms (`RandomIntensityScaleShift`, `RandomGamma`, `RandomGaussianNoise`) touch the image
inside the brain only (voxels non-zero in some channel), so the background stays 0 as
`datasets.zscore_normalise` left it. Every random number comes from the generator, through
vectorised torch operations: nothing loops over voxels.

Randomness is an argument, never state. A transform that kept its own random generator would
be copied, state and all, into every DataLoader worker, and the workers would repeat each
other's augmentations (the classic ``np.random``-in-workers bug). Instead the dataset passes
``sample_generator(seed, epoch, index)``: the augmentation of a sample depends on the seed, the
epoch and the sample's index only, never on which worker loads it, so a run is reproducible
with any ``num_workers`` and every sample and epoch gets fresh draws. Called without a
generator, a transform draws from torch's global generator, as ``torch.rand`` does.

Used by notebook 06 (patching 3D volumes) and notebook 07 (U-Net training).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .heap import release_free_memory

__all__ = [
    "sample_generator",
    "rotation_matrix",
    "voxel_sampling_matrix",
    "warp",
    "RandomTransform",
    "RandomFlip",
    "RandomAffine",
    "RandomIntensityScaleShift",
    "RandomGamma",
    "RandomGaussianNoise",
    "RandomResample",
    "Compose",
    "default_augmentation",
    "training_augmentation",
]


def sample_generator(seed: int, epoch: int = 0, index: int = 0) -> torch.Generator:
    """A ``torch.Generator`` for one sample of one epoch, seeded from ``(seed, epoch, index)``.

    The three non-negative integers are hashed by ``numpy.random.SeedSequence`` into a 64-bit
    seed, so neighbouring triples give unrelated streams.

    Examples
    --------
    >>> a = torch.rand(2, generator=sample_generator(0, epoch=1, index=5))
    >>> b = torch.rand(2, generator=sample_generator(0, epoch=1, index=5))
    >>> c = torch.rand(2, generator=sample_generator(0, epoch=2, index=5))
    >>> torch.equal(a, b), torch.equal(a, c)
    (True, False)
    """
    state = np.random.SeedSequence([int(seed), int(epoch), int(index)]).generate_state(
        1, np.uint64
    )
    return torch.Generator().manual_seed(int(state[0]))


def uniform(low: float, high: float, size: int, generator: torch.Generator | None) -> np.ndarray:
    """``size`` float64 draws, uniform in ``[low, high)``."""
    draws = torch.rand(size, generator=generator, dtype=torch.float64).numpy()
    return low + (high - low) * draws


def brain_mask(image: torch.Tensor) -> torch.Tensor:
    """``(1, *spatial)`` bool: voxels non-zero in at least one channel."""
    return (image != 0).any(dim=0, keepdim=True)


def channel_view(image: torch.Tensor) -> tuple[int, ...]:
    """Shape that broadcasts a per-channel ``(C,)`` vector over ``(C, *spatial)``."""
    return (-1,) + (1,) * (image.ndim - 1)


def check_item(item: dict) -> int:
    """The number of spatial axes of ``item`` (2 or 3); TypeError/ValueError if malformed."""
    image = item.get("image") if isinstance(item, dict) else None
    if not isinstance(image, torch.Tensor) or not image.is_floating_point():
        raise TypeError(
            "transforms take an item dict whose 'image' is a float torch.Tensor (C, D, H, W) "
            f"or (C, H, W); got {type(image).__name__}. Use torch.from_numpy(...).float()."
        )
    if image.ndim not in (3, 4):
        raise ValueError(f"'image' must be (C, H, W) or (C, D, H, W); got {tuple(image.shape)}.")
    label = item.get("label")
    if label is not None and tuple(label.shape[-(image.ndim - 1) :]) != tuple(image.shape[1:]):
        raise ValueError(
            f"'label' {tuple(label.shape)} and 'image' {tuple(image.shape)} must share their "
            "spatial shape."
        )
    return image.ndim - 1


# --- geometry --------------------------------------------------------------------------------


def rotation_matrix(angles_deg: Sequence[float]) -> np.ndarray:
    """A rotation of voxel space: one angle in 2D, three (about the D, H, W axes) in 3D.

    A positive angle about an axis turns the content from the lower-numbered of the two other
    axes towards the higher one, as ``torch.rot90(x, 1, dims)`` does; 3D rotations are applied
    about D, then H, then W. Returns float64 ``(2, 2)`` or ``(3, 3)``.

    Examples
    --------
    >>> rotation_matrix([90]).round(6)
    array([[ 0., -1.],
           [ 1.,  0.]])
    """
    radians = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    if radians.shape == (1,):
        c, s = np.cos(radians[0]), np.sin(radians[0])
        return np.array([[c, -s], [s, c]])
    if radians.shape != (3,):
        raise ValueError(f"give one angle (2D) or three (3D); got {angles_deg!r}.")
    matrix = np.eye(3)
    for axis, angle in enumerate(radians):
        i, j = (a for a in range(3) if a != axis)
        turn = np.eye(3)
        turn[[i, i, j, j], [i, j, i, j]] = (
            np.cos(angle),
            -np.sin(angle),
            np.sin(angle),
            np.cos(angle),
        )
        matrix = turn @ matrix
    return matrix


def voxel_sampling_matrix(
    shape: Sequence[int],
    angles_deg: Sequence[float],
    scales: Sequence[float],
    shifts: Sequence[float],
) -> np.ndarray:
    """The voxel-space sampling matrix of a rotation, scaling and shift about the centre.

    The content is rotated by ``angles_deg`` (see `rotation_matrix`), magnified by ``scales``
    (> 1 enlarges it) about the centre of the grid, then moved by ``shifts`` voxels. The matrix
    returned is the inverse map that resampling needs: output voxel ``v`` takes its value from
    input position ``M @ [*v, 1]``. Convention: voxel indices to voxel indices, pulling (unlike
    `course_utils.registration.world_transform_matrix`, which maps world mm points forwards).

    Parameters
    ----------
    shape
        Spatial shape ``(D, H, W)`` or ``(H, W)`` in voxels.
    angles_deg, scales, shifts
        One angle (2D) or three (3D), in degrees; one scale factor per axis; one shift per
        axis, in voxels.

    Returns
    -------
    numpy.ndarray
        float64 ``(n + 1, n + 1)`` homogeneous matrix, voxel indices to voxel indices.

    Examples
    --------
    >>> voxel_sampling_matrix((5, 5), [0], [1, 1], [1, -2])
    array([[ 1.,  0., -1.],
           [ 0.,  1.,  2.],
           [ 0.,  0.,  1.]])
    """
    n = len(shape)
    centre = (np.asarray(shape, dtype=np.float64) - 1) / 2
    linear = np.diag(1 / np.asarray(scales, dtype=np.float64)) @ rotation_matrix(angles_deg).T
    matrix = np.eye(n + 1)
    matrix[:n, :n] = linear
    matrix[:n, n] = centre - linear @ (centre + np.asarray(shifts, dtype=np.float64))
    return matrix


def matrix_to_theta(matrix: np.ndarray, shape: Sequence[int]) -> torch.Tensor:
    """A voxel-space sampling matrix as ``affine_grid``'s ``theta`` (``align_corners=True``).

    ``affine_grid`` works in normalised coordinates (-1 to 1 along each axis, whatever its
    length) listed last axis first (x = W). A rotation written directly in those coordinates
    would shear a non-cubic volume, so the voxel matrix is conjugated by the voxel <->
    normalised scaling and its axes reversed. Returns float32 ``(1, n, n + 1)``.
    """
    n = len(shape)
    size = np.asarray(shape, dtype=np.float64)
    centre = (size - 1) / 2
    half = np.where(size > 1, centre, 1.0)  # voxel = half * normalised + centre
    linear, offset = matrix[:n, :n], matrix[:n, n]
    theta = np.zeros((n, n + 1))
    theta[:, :n] = (linear * half[None, :] / half[:, None])[::-1, ::-1]
    theta[:, n] = ((linear @ centre + offset - centre) / half)[::-1]
    return torch.from_numpy(theta).to(torch.float32)[None]


def warp(item: dict, matrix: np.ndarray) -> dict:
    """Resample image and label of ``item`` through a voxel-space sampling matrix.

    The image is interpolated (trilinear in 3D, bilinear in 2D), the label by nearest
    neighbour, both on one grid, so they stay aligned; voxels that sample outside the volume
    become 0 (background). See `voxel_sampling_matrix` for ``matrix``.
    """
    n = check_item(item)
    image = item["image"]
    theta = matrix_to_theta(np.asarray(matrix, dtype=np.float64), image.shape[1:])
    grid = F.affine_grid(theta.to(image.dtype), [1, 1, *image.shape[1:]], align_corners=True)
    result = dict(item)
    result["image"] = F.grid_sample(
        image[None], grid, mode="bilinear", padding_mode="zeros", align_corners=True
    )[0]
    label = item.get("label")
    if label is not None:
        stacked = label.reshape(1, -1, *label.shape[label.ndim - n :]).to(grid.dtype)
        sampled = F.grid_sample(
            stacked, grid, mode="nearest", padding_mode="zeros", align_corners=True
        )
        result["label"] = sampled.reshape(label.shape).to(label.dtype)
    return result


# --- the transforms --------------------------------------------------------------------------


class RandomTransform:
    """Base class: with probability ``p``, `apply` the transform with parameters drawn from
    the generator; otherwise return the item itself. One draw decides, whatever ``p``.
    """

    def __init__(self, p: float) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p is a probability, in [0, 1]; got {p!r}.")
        self.p = float(p)

    def __call__(self, item: dict, generator: torch.Generator | None = None) -> dict:
        check_item(item)
        if torch.rand((), generator=generator) >= self.p:
            return item
        return self.apply(item, generator)

    def apply(self, item: dict, generator: torch.Generator | None) -> dict:
        raise NotImplementedError

    def __repr__(self) -> str:
        settings = ", ".join(f"{key}={value!r}" for key, value in vars(self).items())
        return f"{type(self).__name__}({settings})"


class RandomFlip(RandomTransform):
    """Mirror image and label along each of ``axes``, each with probability ``p``.

    ``axes`` are spatial axes: 0, 1, 2 for D, H, W (x, y, z in RAS+), or 0, 1 in 2D; default
    all of them. Flipping x swaps the hemispheres, a harmless symmetry for tumours.
    """

    def __init__(self, axes: Sequence[int] | None = None, p: float = 0.5) -> None:
        super().__init__(p)
        self.axes = None if axes is None else tuple(axes)

    def __call__(self, item: dict, generator: torch.Generator | None = None) -> dict:
        n = check_item(item)
        axes = tuple(range(n)) if self.axes is None else self.axes
        if any(a not in range(n) for a in axes):
            raise ValueError(f"axes {axes} are not spatial axes of a {n}D item.")
        draws = torch.rand(len(axes), generator=generator)
        chosen = [a for a, draw in zip(axes, draws, strict=True) if draw < self.p]
        if not chosen:
            return item
        result = dict(item)
        for key in ("image", "label"):
            if item.get(key) is not None:
                value = item[key]
                result[key] = torch.flip(value, [value.ndim - n + a for a in chosen])
        return result


class RandomAffine(RandomTransform):
    """Rotate, scale and shift image and label together (`voxel_sampling_matrix`, then `warp`).

    Parameters
    ----------
    degrees
        Each rotation angle (one in 2D, three in 3D) is uniform in ``[-degrees, degrees]``.
    scale
        ``(low, high)``: one magnification factor for all axes, uniform in this range.
    translation
        Each axis's shift is uniform in ``[-translation, translation]`` voxels.
    p
        Probability of applying the transform.

    Angles are in voxel space, so rotations are rigid only for isotropic voxels, as in BraTS
    (1 mm) and SynthBraTS (2 mm). The item's ``"affine"`` is left unchanged.
    """

    def __init__(
        self,
        degrees: float = 10.0,
        scale: tuple[float, float] = (0.9, 1.1),
        translation: float = 4.0,
        p: float = 0.5,
    ) -> None:
        super().__init__(p)
        if not 0 < scale[0] <= scale[1]:
            raise ValueError(f"scale must be (low, high) with 0 < low <= high; got {scale!r}.")
        self.degrees, self.scale, self.translation = (
            float(degrees),
            tuple(scale),
            float(translation),
        )

    def apply(self, item: dict, generator: torch.Generator | None) -> dict:
        shape = item["image"].shape[1:]
        n = len(shape)
        angles = uniform(-self.degrees, self.degrees, 3 if n == 3 else 1, generator)
        factor = uniform(*self.scale, 1, generator)
        shifts = uniform(-self.translation, self.translation, n, generator)
        return warp(item, voxel_sampling_matrix(shape, angles, np.repeat(factor, n), shifts))


class RandomIntensityScaleShift(RandomTransform):
    """Multiply each channel by ``1 + U(-scale, scale)``, add ``U(-shift, shift)``, in the brain.

    On z-scored images the shift is in standard deviations. Background voxels stay 0.
    """

    def __init__(self, scale: float = 0.1, shift: float = 0.1, p: float = 0.5) -> None:
        super().__init__(p)
        self.scale, self.shift = float(scale), float(shift)

    def apply(self, item: dict, generator: torch.Generator | None) -> dict:
        image = item["image"]
        channels = len(image)
        factor = 1 + uniform(-self.scale, self.scale, channels, generator)
        offset = uniform(-self.shift, self.shift, channels, generator)
        factor, offset = (
            torch.from_numpy(v).to(image.dtype).view(channel_view(image)) for v in (factor, offset)
        )
        # Background voxels are 0 in every channel, so scaling keeps them 0; only the offset
        # needs the mask. addcmul_ adds mask * offset without a full-size temporary.
        scaled = (image * factor).addcmul_(brain_mask(image).to(image.dtype), offset)
        return {**item, "image": scaled}


class RandomGamma(RandomTransform):
    """Raise each channel to a power ``gamma = exp(U(log_gamma))``, safely for z-scored data.

    A z-scored brain is half negative, and a negative number to a fractional power is not a
    real number (``torch.pow`` gives NaN). So each channel's brain voxels are first rescaled to
    [0, 1] with their own minimum and maximum, raised to ``gamma``, and mapped back: the
    channel keeps its range and the order of its values, only the contrast between them
    changes (gamma < 1 brightens the dark end, > 1 darkens it). Background stays 0.
    """

    def __init__(self, log_gamma: tuple[float, float] = (-0.3, 0.3), p: float = 0.3) -> None:
        super().__init__(p)
        self.log_gamma = tuple(log_gamma)

    def apply(self, item: dict, generator: torch.Generator | None) -> dict:
        image = item["image"]
        gamma = np.exp(uniform(*self.log_gamma, len(image), generator))
        gamma = torch.from_numpy(gamma).to(image.dtype).view(channel_view(image))
        mask = brain_mask(image)
        if not mask.any():
            return item
        low, high = torch.aminmax(image[:, mask[0]], dim=1)
        low, high = low.view(channel_view(image)), high.view(channel_view(image))
        span = torch.where(high > low, high - low, 1.0)
        # One new tensor, then in-place steps: rescale to [0, 1], raise to gamma (as
        # exp(gamma log u), faster than pow; u = 0 gives exp(-inf) = 0), scale back.
        unit = image.sub(low).div_(span).clamp_(0.0, 1.0)
        result = unit.log_().mul_(gamma).exp_().mul_(span).add_(low)
        return {**item, "image": result.masked_fill_(~mask, 0.0)}


class RandomGaussianNoise(RandomTransform):
    """Add Gaussian noise of standard deviation ``U(0, std)`` to the brain (background stays 0)."""

    def __init__(self, std: float = 0.1, p: float = 0.2) -> None:
        super().__init__(p)
        self.std = float(std)

    def apply(self, item: dict, generator: torch.Generator | None) -> dict:
        image = item["image"]
        sigma = float(uniform(0.0, self.std, 1, generator)[0])
        noise = torch.randn(image.shape, generator=generator, dtype=image.dtype)
        noise.mul_(sigma).mul_(brain_mask(image)).add_(image)
        return {**item, "image": noise}


class RandomResample(RandomTransform):
    """Blur the image as resampling does: a sub-voxel shift, a coarser grid and back.

    What every registered and resampled scan has been through, and what a network trained on
    images rendered on their own grid never saw: the image is shifted by up to ``shift``
    voxels per axis (linear interpolation; the label moves with it, by nearest neighbour),
    then sampled onto a grid ``factor`` times coarser along each axis (linear; each axis's
    factor uniform in ``factors``, one axis made ``thick`` times coarser still with
    probability ``p_thick``, as thick-slice acquisitions are) and back onto the item's grid
    (linear). The label stays on the item's grid. It works on 2D and 3D items.

    Parameters
    ----------
    factors
        ``(low, high)``: per-axis voxel-size factors of the coarse grid, ``>= 1``.
    thick
        ``(low, high)``: extra factor of the thick axis.
    p_thick
        Probability that one (random) axis is thick.
    shift
        Largest sub-voxel shift, in voxels, per axis.
    p
        Probability of applying the transform.
    """

    def __init__(
        self,
        factors: tuple[float, float] = (1.0, 1.6),
        thick: tuple[float, float] = (1.5, 2.5),
        p_thick: float = 0.3,
        shift: float = 0.5,
        p: float = 0.3,
    ) -> None:
        super().__init__(p)
        if not 1.0 <= factors[0] <= factors[1] or not 1.0 <= thick[0] <= thick[1]:
            raise ValueError(f"factors and thick must be (low, high) with 1 <= low <= high; "
                             f"got {factors!r}, {thick!r}.")  # fmt: skip
        self.factors, self.thick, self.p_thick = tuple(factors), tuple(thick), float(p_thick)
        self.shift = float(shift)

    def apply(self, item: dict, generator: torch.Generator | None) -> dict:
        shape = tuple(item["image"].shape[1:])
        n = len(shape)
        shifts = uniform(-self.shift, self.shift, n, generator)
        factor = uniform(*self.factors, n, generator)
        thick_axis = int(torch.randint(n, (), generator=generator))
        if float(uniform(0.0, 1.0, 1, generator)[0]) < self.p_thick:
            factor[thick_axis] *= float(uniform(*self.thick, 1, generator)[0])
        moved = warp(item, voxel_sampling_matrix(shape, [0.0] * (3 if n == 3 else 1),
                                                 [1.0] * n, shifts))  # fmt: skip
        coarse = [max(2, round(size / f)) for size, f in zip(shape, factor, strict=True)]
        mode = "trilinear" if n == 3 else "bilinear"
        image = F.interpolate(moved["image"][None], size=coarse, mode=mode, align_corners=False)
        image = F.interpolate(image, size=shape, mode=mode, align_corners=False)[0]
        return {**moved, "image": image.contiguous()}


class Compose:
    """Apply ``transforms`` in order, all drawing from the one generator passed in.

    Examples
    --------
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
