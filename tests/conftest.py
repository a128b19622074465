"""Shared fixtures: small synthetic volumes and one SynthBraTS subject per test session."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from course_utils.threads import configure_threads

configure_threads()  # before NumPy and torch load, as in the notebooks and the CLI

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import synth  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def load_repo_script(relative: str):
    """A script of the repository (``benchmarks/x.py``, ``tools/y.py``) imported as a module.

    The scripts are not part of the package; the tests import them to reuse their cases and
    to check what they do, without running their ``main``.
    """
    path = REPO / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def shipped():
    """``(model, checkpoint)`` of the checkpoint shipped in ``data/checkpoints``, in eval mode."""
    from course_utils import paths, training

    return training.load_model(paths.shipped_checkpoint())


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


def corners_mm(image) -> np.ndarray:
    """World coordinates (mm) of the 8 corner voxel centres of a 3D image, ``(8, 3)``."""
    last = np.array(image.shape[:3]) - 1
    ijk = np.array(
        [[i, j, k, 1] for i in (0, last[0]) for j in (0, last[1]) for k in (0, last[2])]
    )
    return (image.affine @ ijk.T)[:3].T


@pytest.fixture(scope="session")
def dcm2niix(tmp_path_factory):
    """A function: DICOM file or folder -> the NIfTI images dcm2niix makes of it (cached).

    Runs the ``dcm2niix`` binary from its PyPI wheel once per input, uncompressed, without
    BIDS sidecars, with ``-p n`` (Philips files scaled by RescaleSlope/Intercept, as DICOM
    defines, not by Philips' private "precise" values). A file is copied alone into a
    folder first, because dcm2niix converts folders. Returns ``[]`` when it writes nothing;
    the shortest name first (the image itself, before ``..._ROI1`` overlays or ``_Eq_``).
    """
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import nibabel as nib

    binary = Path(sys.executable).with_name("dcm2niix")
    if not binary.exists():
        binary = shutil.which("dcm2niix")
    if binary is None:
        pytest.skip("dcm2niix is not installed (pip install dcm2niix)")
    cache: dict[str, list] = {}
    root = tmp_path_factory.mktemp("dcm2niix")

    def convert(path) -> list:
        path = Path(path)
        if str(path) not in cache:
            work = root / f"case{len(cache)}"
            source, out = work / "in", work / "out"
            out.mkdir(parents=True)
            if path.is_dir():
                source = path
            else:
                source.mkdir()
                shutil.copy(path, source / "file.dcm")
            subprocess.run(
                [
                    str(binary),
                    "-p",
                    "n",
                    "-z",
                    "n",
                    "-b",
                    "n",
                    "-f",
                    "%s_%e_%z",
                    "-o",
                    out,
                    source,
                ],
                capture_output=True,
                check=False,
                timeout=120,
            )
            written = sorted(out.glob("*.nii"), key=lambda p: (len(p.name), p.name))
            cache[str(path)] = [nib.load(p) for p in written]  # the image before its ROIs
        return cache[str(path)]

    return convert


@pytest.fixture(scope="session")
def gli_copy():
    """``copy(cohort, root, edition="2023")``: a BraTS 2021-layout cohort rewritten in the BraTS
    2023/2024 GLI layout (``BraTS-GLI-0000n-000/…-t2f.nii.gz``, ET = 3), same voxels."""
    import nibabel as nib

    from course_utils import brats

    def copy(cohort, root, edition: str = "2023"):
        naming = {"2023": brats.BRATS_2023_GLI_FILES, "2024": brats.BRATS_2024_GLI_FILES}[edition]
        mapping = brats.label_mapping(brats.BRATS_2021, naming.coding)
        table = np.zeros(max(mapping) + 1, np.uint8)
        table[list(mapping)] = list(mapping.values())
        folders = sorted(p for p in cohort.iterdir() if p.is_dir())
        for index, folder in enumerate(folders):
            name = f"BraTS-GLI-{index:05d}-000"
            for key in (*brats.MODALITIES, "seg"):
                image = nib.load(folder / brats.BRATS_2021_FILES.file_name(folder.name, key))
                data = np.asanyarray(image.dataobj)
                if key == "seg":
                    data = table[data]
                out = root / name / naming.file_name(name, key)
                out.parent.mkdir(parents=True, exist_ok=True)
                nib.save(nib.Nifti1Image(data, image.affine, image.header), out)
        return root

    return copy
