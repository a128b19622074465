"""Feature-based registration of 2D slices with OpenCV: ORB or SIFT keypoints and RANSAC.

`match_features` detects, describes and matches keypoints and fits an affine with RANSAC;
`slice_to_world_matrix` turns its pixel matrix into a world (mm) matrix that
`target_registration_error` can score; `draw_matches` shows the matches. OpenCV
(``opencv-python-headless``) is imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["FeatureMatch", "to_uint8", "match_features", "slice_to_world_matrix", "draw_matches"]


@dataclass
class FeatureMatch:
    """The result of `match_features` on two 2D images.

    Pixel coordinates are OpenCV's ``(x, y) = (column, row)`` of the arrays as given.

    Attributes
    ----------
    matrix
        3 x 3 matrix (last row 0 0 1) mapping fixed pixels to moving pixels, the same
        direction as `register`'s matrix; ``None`` when too few matches were found.
    fixed_points, moving_points
        ``(N, 2)`` matched keypoint positions.
    inliers
        ``(N,)`` bool: the matches RANSAC kept.
    keypoints
        How many keypoints were detected in each image.
    """

    matrix: np.ndarray | None
    fixed_points: np.ndarray
    moving_points: np.ndarray
    inliers: np.ndarray
    keypoints: tuple[int, int]


def to_uint8(image: np.ndarray) -> np.ndarray:
    """A 2D image windowed to its foreground's 0.5-99.5 percentiles and scaled to uint8."""
    from ..plotting import window_limits

    image = np.ascontiguousarray(image, np.float32)  # OpenCV misreads transposed views
    low, high = window_limits(image)
    return (np.clip((image - low) / max(high - low, 1e-12), 0, 1) * 255).astype(np.uint8)


def match_features(
    fixed: np.ndarray,
    moving: np.ndarray,
    *,
    method: Literal["orb", "sift"] = "orb",
    n_features: int = 2000,
    ratio: float = 0.8,
    upsample: int = 4,
    ransac_threshold_px: float = 1.0,
) -> FeatureMatch:
    """Feature-based 2D registration: detect, describe, match, then fit an affine with RANSAC.

    Parameters
    ----------
    fixed, moving
        2D images ``(rows, columns)``, any dtype (windowed to uint8 for OpenCV).
    method
        ``"orb"`` (binary descriptors, Hamming distance; Rublee et al., ICCV 2011) or
        ``"sift"`` (float descriptors, L2 distance; Lowe, IJCV 2004).
    n_features
        Keypoints kept per image.
    ratio
        Lowe's ratio test: keep a match only if it is clearly better than the second best.
    upsample
        Both images are enlarged this many times (cubic) before detection: a 2 mm MRI slice
        of ~100 pixels is too small for detectors tuned to photographs. Coordinates are
        reported in the original pixels.
    ransac_threshold_px
        RANSAC's inlier distance, in original pixels.

    Returns
    -------
    FeatureMatch
    """
    import cv2

    images = []
    for name, image in (("fixed", fixed), ("moving", moving)):
        if np.ndim(image) != 2:
            raise ValueError(f"the {name} image has shape {np.shape(image)}; pass a 2D slice.")
        small = to_uint8(image)
        images.append(
            cv2.resize(small, None, fx=upsample, fy=upsample, interpolation=cv2.INTER_CUBIC)
        )
    if method == "orb":
        detector = cv2.ORB_create(nfeatures=n_features, edgeThreshold=15, patchSize=31)
        norm = cv2.NORM_HAMMING
    elif method == "sift":
        detector = cv2.SIFT_create(nfeatures=n_features)
        norm = cv2.NORM_L2
    else:
        raise ValueError(f"method={method!r}: choose 'orb' or 'sift'.")
    (kp_f, des_f), (kp_m, des_m) = (detector.detectAndCompute(image, None) for image in images)
    pairs = []
    if des_f is not None and des_m is not None and len(des_m) >= 2:
        for candidates in cv2.BFMatcher(norm).knnMatch(des_f, des_m, k=2):
            if len(candidates) == 2 and candidates[0].distance < ratio * candidates[1].distance:
                pairs.append(candidates[0])
    to_original = lambda kp: (np.asarray(kp.pt) + 0.5) / upsample - 0.5  # noqa: E731
    fixed_points = np.array([to_original(kp_f[m.queryIdx]) for m in pairs]).reshape(-1, 2)
    moving_points = np.array([to_original(kp_m[m.trainIdx]) for m in pairs]).reshape(-1, 2)
    matrix, inliers = None, np.zeros(len(pairs), bool)
    if len(pairs) >= 3:
        estimate, mask = cv2.estimateAffine2D(
            fixed_points,
            moving_points,
            method=cv2.RANSAC,
            ransacReprojThreshold=ransac_threshold_px,
            maxIters=5000,
            confidence=0.999,
        )
        if estimate is not None:
            matrix = np.vstack([estimate, [0.0, 0.0, 1.0]])
            inliers = mask.ravel().astype(bool)
    return FeatureMatch(matrix, fixed_points, moving_points, inliers, (len(kp_f), len(kp_m)))


def slice_to_world_matrix(
    pixel_matrix: np.ndarray, fixed_affine: np.ndarray, moving_affine: np.ndarray | None = None
) -> np.ndarray:
    """A 2D pixel matrix of axial slices as a 4 x 4 world (mm) matrix, fixed -> moving.

    ``pixel_matrix`` (3 x 3, e.g. `FeatureMatch.matrix`) maps OpenCV pixels ``(x, y) =
    (column, row)`` of the fixed slice ``fixed_array[:, :, k]`` to pixels of the moving slice
    ``moving_array[:, :, k]``: column ``x`` is the volume's second index ``j`` and row ``y``
    its first ``i``. The slice index is left unchanged. The result can be scored with
    `target_registration_error` like a 3D registration.
    """
    moving_affine = fixed_affine if moving_affine is None else moving_affine
    in_plane = np.eye(4)
    in_plane[np.ix_([0, 1, 3], [0, 1, 3])] = np.asarray(pixel_matrix, float)
    swap = np.eye(4)[[1, 0, 2, 3]]  # (x, y) pixels <-> (i, j) voxels
    voxels = swap @ in_plane @ swap
    return np.asarray(moving_affine, float) @ voxels @ np.linalg.inv(fixed_affine)


def draw_matches(
    match: FeatureMatch, fixed: np.ndarray, moving: np.ndarray, *, max_lines: int = 60
):
    """Fixed and moving side by side (RGB uint8) with lines joining matched keypoints.

    Both images are enlarged 4 times (cubic) and separated by a white gap of 16 pixels, so
    the result is ``(4 H, 8 W + 16, 3)``. RANSAC inliers are green, rejected matches red; at
    most ``max_lines`` of each are drawn (evenly chosen).
    """
    import cv2

    scale = 4
    tiles = [
        cv2.cvtColor(
            cv2.resize(to_uint8(image), None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC),
            cv2.COLOR_GRAY2RGB,
        )
        for image in (fixed, moving)
    ]
    height = max(tile.shape[0] for tile in tiles)
    tiles = [np.pad(t, ((0, height - t.shape[0]), (0, 0), (0, 0))) for t in tiles]
    gap = np.full((height, 4 * scale, 3), 255, np.uint8)
    canvas = np.ascontiguousarray(np.hstack([tiles[0], gap, tiles[1]]))
    offset = tiles[0].shape[1] + gap.shape[1]
    for keep, colour in ((~match.inliers, (220, 40, 40)), (match.inliers, (40, 200, 60))):
        chosen = np.flatnonzero(keep)
        chosen = (
            chosen[np.linspace(0, len(chosen) - 1, min(len(chosen), max_lines)).astype(int)]
            if len(chosen)
            else chosen
        )
        for k in chosen:
            start = tuple(int(v) for v in (match.fixed_points[k] + 0.5) * scale)
            end = tuple(int(v) for v in (match.moving_points[k] + 0.5) * scale)
            end = (end[0] + offset, end[1])
            cv2.line(canvas, start, end, colour, 1, cv2.LINE_AA)
            cv2.circle(canvas, start, 3, colour, 1, cv2.LINE_AA)
            cv2.circle(canvas, end, 3, colour, 1, cv2.LINE_AA)
    return canvas
