"""Shared fixtures: small synthetic volumes and one SynthBraTS subject per test session."""

from __future__ import annotations

from course_utils.threads import configure_threads

configure_threads()  # before NumPy and torch load, as in the notebooks and the CLI

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import synth  # noqa: E402


@pytest.fixture(scope="session")
def simulated_subject():
    """``(arrays, truth)`` of SynthBraTS subject 0 of seed 0 (see `synth.simulate`)."""
    return synth.simulate((0, 0))


@pytest.fixture(scope="session")
def subject_images():
    """``make_subject((0, 0))``: the course's worked example, as NIfTI images."""
    return synth.make_subject((0, 0))


@pytest.fixture
def ras_volume():
    """A 3D float volume of shape (6, 7, 8) whose value at (x, y, z) is 100x + 10y + z."""
    x, y, z = np.indices((6, 7, 8))
    return (100 * x + 10 * y + z).astype(np.float32)


@pytest.fixture
def oblique_image():
    """A 3D int16 image (12, 10, 8) on an oblique, anisotropic grid (RAS+ mm)."""
    from scipy.spatial.transform import Rotation

    affine = np.eye(4)
    rotation = Rotation.from_euler("xyz", [12, -7, 25], degrees=True).as_matrix()
    affine[:3, :3] = rotation @ np.diag([0.9, 1.2, 3.0])
    affine[:3, 3] = [-40.5, 22.25, -31.0]
    values = np.random.default_rng(1).integers(-500, 3000, (12, 10, 8)).astype(np.int16)
    import nibabel as nib

    return nib.Nifti1Image(values, affine)
