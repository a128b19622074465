"""course_utils: the shared package of the course "Brain tumour segmentation on MRI with a U-Net".

Modules and subpackages (one idea per module; a subpackage's ``__init__`` re-exports its
modules' public names; heavy libraries are imported inside the functions that need them,
so ``import course_utils`` stays fast and headless). CONTRIBUTING.md ("Where things live")
shows them in layers: files in, data, tensors, methods, training; display and teaching beside.

- ``errors``: ``CourseDataError`` and its subclasses, raised by every bad input
- ``brats``: the BraTS vocabulary, defined once: modalities in tensor order, file names of
  BraTS 2021 / 2023 / 2024, label codings (BraTS 2021, 2023 GLI, 2024 GLI, MSD Task01),
  regions WT/TC/ET, names
- ``geometry``: LPS <-> RAS, voxel sizes from the affine, voxel <-> world coordinates
- ``paths``: where data and checkpoints live (``COURSE_DATA`` overrides)
- ``files``: atomic writes and checksums
- ``synth/``: the SynthBraTS generators' shared pieces (``versions``, ``template``,
  ``fields``), SynthBraTS 1 (``anatomy``, ``tumour``, ``contrasts``, ``subject``) and the
  cached default cohort (``cohort``: ``ensure_dataset``); ``synthbrats2/``: SynthBraTS 2,
  the default generator
- ``io``: ``load_volume`` for every format, writers; ``dicom/``: headers, raw anatomy,
  pixel values, one file as a volume, enhanced multi-frame (read: ``dicom.multiframe``,
  written: ``dicom.enhanced_mr``; both also ``course_utils.multiframe``), Siemens mosaics
  (``dicom.mosaic``, also ``course_utils.mosaic``); ``series``: DICOM series assembly;
  ``deidentify/``: PS3.15 Annex E (``annex_e`` Table E.1-1 as data, ``dates``, ``uids``,
  ``cleaner``, ``burned_in``, ``profile`` = ``anonymize``, ``folder`` = ``anonymize_series``)
- ``datasets/``: BraTS 2021 / MSD Task01 / SynthBraTS as torch datasets (``layouts``,
  ``labels`` -> regions, ``normalisation``, ``reading``, ``volume_dataset``,
  ``slice_dataset``, ``patch_dataset``); ``transforms/``: seeded 3D augmentation of image
  and label together (``generators`` ``sample_generator``, ``base`` the item contract and
  ``RandomTransform``, ``warping`` voxel-space sampling matrices and ``warp``, ``spatial``,
  ``intensity``, ``resolution`` ``RandomResample``, ``compose`` ``Compose`` and the two recipes)
- ``registration/``: rigid, affine and deformable registration in PyTorch, world mm
  (``similarity`` MSE/NCC/MI, ``spatial``, ``settings``, ``pyramid``, ``models``,
  ``optimise``, ``descent`` = ``register``, ``accuracy`` TRE, ``features`` OpenCV,
  ``simpleitk`` the reference, ``mni_pairs`` test pairs)
- ``patches/``: patch grids (``grid``), ``stitching``, ``sampling``, ``sliding_window``
  inference, ``memory``; the CPU copy machinery in the private ``_copy``
- ``unet/``: the U-Net (2D/3D): ``blocks``, ``head``, ``nets``; ``losses``: soft Dice,
  Dice + CE/BCE; ``metrics/``: ``overlap`` (Dice, sensitivity, specificity),
  ``hausdorff`` (HD95 in mm), ``regions``, ``tracker``; lesion-wise Dice and HD95 (BraTS 2023,
  defined in ``lesionwise``); ``training/``: ``course-utils
  train``/``evaluate`` (``config``, ``loop``, ``distributed`` torchrun, ``checkpoints``,
  ``evaluation``, ``run_folder``); ``inference``: prediction at the checkpoint's spacing and back,
  co-registration of separate series; ``predict/``: ``course-utils predict`` on unlabelled
  subjects (``checks``, ``reference_grid``, ``outputs``, ``subject`` = ``predict_files``,
  ``folders`` = ``predict_folder``); ``acquisition``: a subject as four moved DICOM series
  with a known answer
- ``plotting``: static figures; ``viewers``: ipywidgets viewers
- ``exercises``: the checks behind every exercise (``framework`` and one module per notebook)
- ``seeding``: ``seed_everything``; ``environment``: the install check
- ``threads``: the thread policy (cores this process may use, passive OpenMP waiting),
  applied before NumPy and torch load
- ``student``: the student version of the notebooks (solutions removed)
"""

from __future__ import annotations

from .errors import CourseDataError

__version__ = "0.1.0"
REPOSITORY = "https://github.com/mi-course/brain-tumour-unet"

__all__ = ["CourseDataError", "ensure_dataset", "seed_everything", "REPOSITORY", "__version__"]


def __getattr__(name: str):
    # Imported on first use only: seed_everything loads NumPy and ensure_dataset nibabel and
    # scipy, and `threads.configure_threads` must be able to run before NumPy loads.
    if name == "seed_everything":
        from .seeding import seed_everything

        return seed_everything
    if name == "ensure_dataset":
        from .synth import ensure_dataset

        return ensure_dataset
    raise AttributeError(f"module 'course_utils' has no attribute {name!r}")
