"""SimpleITK, the reference: the same registration with ``ImageRegistrationMethod``.

`to_simpleitk` converts an image (RAS+ affine to LPS origin, spacing and direction),
`simpleitk_matrix` converts a SimpleITK transform back to a 4 x 4 RAS+ matrix, and
`register_simpleitk` runs SimpleITK's registration configured as its own notebooks teach, and
`register_simpleitk_bspline` adds SimpleITK's B-spline deformable step on top of a linear
result. SimpleITK is imported inside the functions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Literal

import nibabel as nib
import numpy as np

from ..geometry import LPS_TO_RAS, voxel_sizes
from .pyramid import normalise_intensity
from .result import LevelHistory, RegistrationResult
from .settings import Metric
from .spatial import check_image, image_values, resample

__all__ = ["to_simpleitk", "simpleitk_matrix", "register_simpleitk", "register_simpleitk_bspline"]


def to_simpleitk(image: nib.Nifti1Image):
    """A ``SimpleITK.Image`` (float32) with the same voxels and physical placement (LPS)."""
    import SimpleITK as sitk

    values = normalise_intensity(image_values(check_image(image, "input")))
    result = sitk.GetImageFromArray(np.ascontiguousarray(values.transpose(2, 1, 0)))
    lps = LPS_TO_RAS @ np.asarray(image.affine, float)  # RAS -> LPS: the same flip
    spacing = voxel_sizes(lps)
    result.SetSpacing(spacing.tolist())
    result.SetOrigin(lps[:3, 3].tolist())
    result.SetDirection((lps[:3, :3] / spacing).ravel().tolist())
    return result


def simpleitk_matrix(transform) -> np.ndarray:
    """A SimpleITK transform (affine-like, fixed -> moving, LPS) as a 4 x 4 RAS+ matrix.

    SimpleITK's transforms are ``x -> A (x - c) + c + t`` with centre ``c`` in LPS mm; flipping
    x and y on both sides gives the same mapping in RAS+.
    """
    import SimpleITK as sitk

    if isinstance(transform, sitk.CompositeTransform):
        transform = transform.GetNthTransform(0)
    linear = np.asarray(transform.GetMatrix(), float).reshape(3, 3)
    centre = np.asarray(transform.GetCenter(), float)
    lps = np.eye(4)
    lps[:3, :3] = linear
    lps[:3, 3] = np.asarray(transform.GetTranslation(), float) + centre - linear @ centre
    return LPS_TO_RAS @ lps @ LPS_TO_RAS


def register_simpleitk(
    fixed: nib.Nifti1Image,
    moving: nib.Nifti1Image,
    *,
    transform: Literal["rigid", "affine"] = "affine",
    metric: Metric = "ncc",
    levels: Sequence[int] = (4, 2, 1),
    iterations: int = 200,
    sampling: float = 0.05,
    bins: int = 50,
    seed: int = 1,
    threads: int = 2,
) -> RegistrationResult:
    """SimpleITK's ``ImageRegistrationMethod`` on the same images: the reference to beat.

    Configured as SimpleITK's own notebooks teach: centred-transform initialisation by image
    moments; Mattes mutual information (``bins`` bins), correlation or mean squares,
    evaluated on a random ``sampling`` fraction of the voxels (seeded); linear
    interpolation; a pyramid of shrink ``levels`` smoothed by ``shrink / 2`` voxels (none at
    full resolution); ``RegularStepGradientDescent`` (step 2 mm halved when the direction
    turns, down to 0.001, at most ``iterations`` per level) with parameter scales from
    physical shifts. (The plain ``GradientDescent`` with a convergence window, also common
    in tutorials, stopped after about ten iterations here, millimetres short of the answer.)
    Both images are scaled to [0, 1] as `register` does. ``seed`` seeds the sampling (it must
    not be 0, which SimpleITK reads as "seed from the clock"). Returns a `RegistrationResult`
    with the fixed -> moving RAS+ matrix and the metric at each iteration of each level.
    """
    import SimpleITK as sitk

    if seed == sitk.sitkWallClock:
        raise ValueError("seed=0 makes SimpleITK seed from the clock; pass a positive seed.")
    start = time.perf_counter()
    fixed_sitk, moving_sitk = to_simpleitk(fixed), to_simpleitk(moving)
    kind = sitk.Euler3DTransform() if transform == "rigid" else sitk.AffineTransform(3)
    initial = sitk.CenteredTransformInitializer(
        fixed_sitk, moving_sitk, kind, sitk.CenteredTransformInitializerFilter.MOMENTS
    )
    method = sitk.ImageRegistrationMethod()
    method.SetNumberOfThreads(threads)
    if metric == "mi":
        method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=bins)
    elif metric == "ncc":
        method.SetMetricAsCorrelation()
    else:
        method.SetMetricAsMeanSquares()
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(sampling, seed)  # seed 0 would mean "use the clock"
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=2.0,
        minStep=1e-3,
        numberOfIterations=iterations,
        relaxationFactor=0.5,
        gradientMagnitudeTolerance=1e-8,
    )
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel(list(levels))
    method.SetSmoothingSigmasPerLevel([s / 2 if s > 1 else 0.0 for s in levels])
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    method.SetInitialTransform(initial, inPlace=False)
    values: list[list[float]] = []
    method.AddCommand(sitk.sitkMultiResolutionIterationEvent, lambda: values.append([]))
    method.AddCommand(sitk.sitkIterationEvent, lambda: values[-1].append(method.GetMetricValue()))
    final = method.Execute(fixed_sitk, moving_sitk)
    matrix = simpleitk_matrix(final)
    history = [LevelHistory(transform, s, v) for s, v in zip(levels, values, strict=False)]
    return RegistrationResult(
        matrix=matrix,
        warped=resample(moving, fixed, matrix),
        history=history,
        fixed_affine=np.asarray(fixed.affine, float),
        seconds=time.perf_counter() - start,
    )


def register_simpleitk_bspline(
    fixed: nib.Nifti1Image,
    moving: nib.Nifti1Image,
    initial: RegistrationResult,
    *,
    grid_mm: float = 40.0,
    iterations: int = 20,
    shrink: int = 4,
    sampling: float = 0.2,
    bins: int = 32,
    seed: int = 1,
    threads: int = 1,
) -> RegistrationResult:
    """SimpleITK's B-spline deformable step on top of a linear registration ``initial``.

    A cubic B-spline transform with control points about every ``grid_mm`` mm over the fixed
    image (``BSplineTransformInitializer``) is optimised with Mattes mutual information
    (``bins`` bins, a seeded random ``sampling`` fraction of the voxels) by L-BFGS-B for at
    most ``iterations`` iterations at one pyramid level (``shrink``, smoothed by
    ``shrink / 2`` voxels), while ``initial``'s matrix stays fixed as the moving image's
    initial transform: fixed point ``x`` maps to ``initial.matrix @ (x + u(x))``, the same
    convention as `register`'s deformable result. The optimisation runs on ``threads`` threads
    (ITK's global default, restored afterwards): with 1 the result is the same from run to
    run, as the metric's sums are then added in one order; with more it is not. Returns a
    `RegistrationResult` whose ``displacement`` is ``u``, ``(X, Y, Z, 3)`` float32 mm (RAS+)
    on the fixed grid.
    """
    import SimpleITK as sitk

    if seed == sitk.sitkWallClock:
        raise ValueError("seed=0 makes SimpleITK seed from the clock; pass a positive seed.")
    if grid_mm <= 0 or iterations < 1 or shrink < 1:
        raise ValueError(
            f"grid_mm={grid_mm}, iterations={iterations}, shrink={shrink}: all must be positive."
        )
    start = time.perf_counter()
    fixed_sitk, moving_sitk = to_simpleitk(fixed), to_simpleitk(moving)
    extent = np.asarray(fixed_sitk.GetSize()) * np.asarray(fixed_sitk.GetSpacing())
    mesh = [max(1, int(round(e / grid_mm))) for e in extent]
    bspline = sitk.BSplineTransformInitializer(fixed_sitk, mesh, order=3)
    method = _bspline_method(bins, sampling, seed, iterations, shrink)
    method.SetMovingInitialTransform(_simpleitk_affine(initial.matrix))
    method.SetInitialTransform(bspline, inPlace=True)
    values: list[float] = []
    method.AddCommand(sitk.sitkIterationEvent, lambda: values.append(method.GetMetricValue()))
    default_threads = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
    try:
        method.Execute(fixed_sitk, moving_sitk)
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(default_threads)
    displacement = _ras_displacement(bspline, fixed_sitk)
    matrix = np.asarray(initial.matrix, float)
    return RegistrationResult(
        matrix=matrix,
        warped=resample(moving, fixed, matrix, displacement=displacement),
        history=[LevelHistory("deformable", shrink, [-v for v in values])],
        displacement=displacement,
        fixed_affine=np.asarray(fixed.affine, float),
        seconds=time.perf_counter() - start,
    )


def _simpleitk_affine(matrix: np.ndarray):
    """A 4 x 4 RAS+ fixed -> moving matrix as a ``SimpleITK.AffineTransform`` (LPS)."""
    import SimpleITK as sitk

    lps = LPS_TO_RAS @ np.asarray(matrix, float) @ LPS_TO_RAS
    linear = sitk.AffineTransform(3)
    linear.SetMatrix(lps[:3, :3].ravel().tolist())
    linear.SetTranslation(lps[:3, 3].tolist())
    return linear


def _bspline_method(bins: int, sampling: float, seed: int, iterations: int, shrink: int):
    """The ``ImageRegistrationMethod`` of `register_simpleitk_bspline`, without transforms.

    Mattes mutual information on a seeded random ``sampling`` fraction, linear interpolation,
    L-BFGS-B for at most ``iterations``, one pyramid level ``shrink`` smoothed by
    ``shrink / 2`` voxels.
    """
    import SimpleITK as sitk

    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=bins)
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(sampling, seed)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsLBFGSB(
        gradientConvergenceTolerance=1e-5,
        numberOfIterations=iterations,
        maximumNumberOfCorrections=5,
    )
    method.SetShrinkFactorsPerLevel([shrink])
    method.SetSmoothingSigmasPerLevel([shrink / 2 if shrink > 1 else 0.0])
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    return method


def _ras_displacement(bspline, fixed_sitk) -> np.ndarray:
    """A B-spline transform sampled on the fixed grid: float32 ``(X, Y, Z, 3)`` RAS+ mm."""
    import SimpleITK as sitk

    field_sitk = sitk.TransformToDisplacementField(
        bspline,
        sitk.sitkVectorFloat64,
        fixed_sitk.GetSize(),
        fixed_sitk.GetOrigin(),
        fixed_sitk.GetSpacing(),
        fixed_sitk.GetDirection(),
    )
    lps_field = sitk.GetArrayFromImage(field_sitk).transpose(2, 1, 0, 3)  # (X, Y, Z, 3) LPS
    return (lps_field @ LPS_TO_RAS[:3, :3]).astype(np.float32)  # vectors: LPS -> RAS
