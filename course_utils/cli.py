"""The ``course-utils`` command line (also ``python -m course_utils``).

``course-utils data`` builds (or verifies) a SynthBraTS cohort; ``course-utils student``
writes the student version of the notebooks; ``course-utils train`` trains the U-Net (also
under ``torchrun``), ``course-utils evaluate`` measures a checkpoint on whole subjects and
``course-utils predict`` segments subjects without labels (NIfTI files, DICOM series or a
folder).
Errors in the data are printed as one sentence with the fix, not as a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from . import brats, paths
from .errors import CourseDataError, EditionUnknownError
from .threads import configure_threads

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    from . import synth

    parser = argparse.ArgumentParser(
        prog="course-utils", description="Tools for the brain tumour segmentation course."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser(
        "data",
        help="build or verify a SynthBraTS cohort",
        description="Build a SynthBraTS cohort in the BraTS 2021 layout, or verify the cached "
        "one against its manifest.",
    )
    data.add_argument(
        "--out",
        type=Path,
        default=None,
        help="cohort folder (default: data/synthbrats, or $COURSE_DATA/synthbrats)",
    )
    data.add_argument("--subjects", type=int, default=synth.DEFAULT_SUBJECTS, help="how many")
    data.add_argument("--seed", type=int, default=synth.DEFAULT_SEED, help="cohort seed")
    data.add_argument("--spacing", type=float, default=2.0, help="isotropic voxel size in mm")
    data.set_defaults(handler=run_data)

    student = commands.add_parser(
        "student",
        help="write the student version of the notebooks",
        description="Write student/ from notebooks/: solution cells removed, outputs cleared.",
    )
    student.add_argument("source", nargs="?", type=Path, default=Path("notebooks"))
    student.add_argument("target", nargs="?", type=Path, default=Path("student"))
    student.set_defaults(handler=run_student)
    add_train_parser(commands)
    add_evaluate_parser(commands)
    add_predict_parser(commands)
    add_export_nnunet_parser(commands)
    add_to_dicom_seg_parser(commands)
    return parser


def add_export_nnunet_parser(commands) -> None:
    export = commands.add_parser(
        "export-nnunet",
        help="write a BraTS-layout folder as an nnU-Net v2 raw dataset",
        description="Write nnUNet_raw/DatasetNNN_Name/ (imagesTr/<case>_000k.nii.gz with k "
        "the channel FLAIR, T1, T1ce, T2; labelsTr/ with consecutive labels; dataset.json with "
        "region-based training for WT/TC/ET). Then: nnUNetv2_plan_and_preprocess -d NNN.",
    )
    export.add_argument("--data", type=Path, required=True, help="BraTS/MSD/SynthBraTS folder")
    export.add_argument(
        "--out", type=Path, required=True, help="the dataset folder, nnUNet_raw/DatasetNNN_Name"
    )
    add_edition_argument(export)
    export.add_argument("--quiet", action="store_true", help="no progress bar")
    export.set_defaults(handler=run_export_nnunet)


def add_to_dicom_seg_parser(commands) -> None:
    from .dicomseg import SEGMENT_KINDS

    seg = commands.add_parser(
        "to-dicom-seg",
        help="write a label map as a DICOM Segmentation of its source DICOM series",
        description="Write --labels (a NIfTI label map, BraTS 2021 labels unless --edition) "
        "as a DICOM Segmentation object referencing the source series in --series: one "
        "binary segment per label (necrotic core, oedema, enhancing) or per region (WT, TC, "
        "ET), each frame on its source slice.",
    )
    seg.add_argument("--labels", type=Path, required=True, help="label map (.nii.gz)")
    seg.add_argument("--series", type=Path, required=True, help="source DICOM series folder")
    seg.add_argument("--out", type=Path, required=True, help="the .dcm file to write")
    seg.add_argument("--segments", choices=SEGMENT_KINDS, default="labels",
                     help="one segment per label (default) or per region")  # fmt: skip
    add_edition_argument(seg)
    seg.set_defaults(handler=run_to_dicom_seg)


def run_to_dicom_seg(args: argparse.Namespace) -> int:
    from .datasets import GLI_EDITIONS
    from .dicomseg import write_dicom_seg

    coding = brats.BRATS_2021 if args.edition is None else GLI_EDITIONS[args.edition].coding
    path = write_dicom_seg(
        args.labels, args.series, args.out, segments=args.segments, coding=coding
    )
    print(f"wrote {path} ({args.segments}, referencing the series in {args.series})")
    return 0


def run_export_nnunet(args: argparse.Namespace) -> int:
    from .nnunet import export_nnunet

    try:
        info = export_nnunet(args.data, args.out, edition=args.edition, progress=not args.quiet)
    except ValueError as error:
        raise SystemExit(f"course-utils export-nnunet: {error}") from None
    dataset_id = int(args.out.name[len("Dataset") :][:3])
    print(f"wrote {info['numTraining']} cases to {args.out}")
    print(f"next: nnUNet_raw={args.out.parent} nnUNetv2_plan_and_preprocess -d {dataset_id}")
    return 0


PREDICT_DESCRIPTION = """\
Segment a subject without labels. Give each contrast as a NIfTI file or as the
folder of its DICOM series (one series per folder, as the scanner exports them),
or give --data for a whole dataset folder.

Contrasts on the T1ce's grid are used as they are. The others (separate series:
other voxel sizes, the patient moved between them) are co-registered rigidly to
the T1ce by mutual information and resampled onto its grid. The image is then
resampled to the checkpoint's voxel spacing, masked to the brain, normalised as
the checkpoint records and predicted by sliding windows; the labels are written
on the T1ce's grid (or --grid ras1mm), with <out>.json beside them: the
checkpoint's metadata, what was resampled, and each registration's matrix and
final mutual information.

examples:
  course-utils predict --t1 T1/ --t1ce T1CE/ --t2 T2/ --flair FLAIR/ --out case01
  course-utils predict --t1 t1.nii.gz --t1ce t1ce.nii.gz --t2 t2.nii.gz \\
      --flair flair.nii.gz --out case01
  course-utils predict --data Task01_BrainTumour --out predictions/
"""


# Long because it declares every option of `course-utils predict`, one add_argument each.
def add_predict_parser(commands) -> None:
    from .predict import GRIDS, REGISTER

    predict = commands.add_parser(
        "predict",
        help="segment subjects without labels (NIfTI files, DICOM series or a dataset folder)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=PREDICT_DESCRIPTION,
    )
    predict.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="a model.pt (default: the shipped data/checkpoints/unet_synthbrats.pt)",
    )
    predict.add_argument(
        "--data",
        type=Path,
        default=None,
        help="a BraTS 2021/2023, SynthBraTS or MSD Task01 folder (imagesTs/, imagesTr/)",
    )
    for modality in brats.MODALITIES:
        predict.add_argument(
            f"--{modality}",
            type=Path,
            default=None,
            metavar="PATH",
            help=f"the {modality} image: a NIfTI file or a folder holding its DICOM series",
        )
    predict.add_argument(
        "--out",
        type=Path,
        required=True,
        help="labels file <out>.nii.gz (with --data: a folder for <ID>_pred.nii.gz)",
    )
    predict.add_argument(
        "--grid",
        choices=GRIDS,
        default="reference",
        help="write the labels on the T1ce's own grid (default) or on a 1 mm RAS grid "
        "covering it (for thick-slice or oblique T1ce series)",
    )
    predict.add_argument(
        "--register",
        choices=REGISTER,
        default="auto",
        help="co-register the contrasts whose grid differs from the T1ce's (auto, default), "
        "every contrast (always), or none, trusting the scanner's geometry (never)",
    )
    predict.add_argument(
        "--probabilities", action="store_true", help="also write the WT/TC/ET probabilities"
    )
    predict.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads (default: the cores this process may use)",
    )
    add_edition_argument(predict)
    predict.add_argument("--quiet", action="store_true", help="no progress bar")
    predict.set_defaults(handler=run_predict)


def add_train_parser(commands) -> None:
    from .training import TrainConfig

    defaults = TrainConfig()
    train = commands.add_parser(
        "train",
        help="train the U-Net on a BraTS-layout folder",
        description="Patch-based U-Net training with whole-subject validation. Writes "
        "RUN/model.pt, RUN/last.pt, RUN/history.csv and RUN/metrics.json. The defaults are the "
        "laptop run; the same command runs under `torchrun --nproc_per_node=N`.",
    )
    train.add_argument("--data", type=Path, required=True, help="BraTS/MSD/SynthBraTS folder")
    train.add_argument("--out", type=Path, required=True, help="run folder to write")
    train.add_argument("--resume", action="store_true", help="continue the run in --out")
    add_edition_argument(train)
    for field in dataclasses.fields(defaults):
        value = getattr(defaults, field.name)
        flag = "--" + field.name.replace("_", "-")
        if isinstance(value, bool):
            train.add_argument(flag, type=parse_bool, default=value, metavar="yes|no",
                               help=f"default: {'yes' if value else 'no'}")  # fmt: skip
        elif isinstance(value, tuple):
            train.add_argument(flag, type=int, nargs="+", default=list(value),
                               help=f"default: {' '.join(map(str, value))}")  # fmt: skip
        else:
            train.add_argument(flag, type=type(value), default=value, help=f"default: {value}")
    train.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads per process (default: the cores this process may use)",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(handler=run_train)


def add_evaluate_parser(commands) -> None:
    evaluate = commands.add_parser(
        "evaluate",
        help="measure a checkpoint on whole subjects (Dice, HD95, sensitivity, specificity)",
        description="Sliding-window inference on every subject of --data, BraTS metrics per "
        "region, per subject and averaged; optionally the predictions as NIfTI.",
    )
    evaluate.add_argument("--checkpoint", type=Path, required=True, help="a model.pt")
    evaluate.add_argument("--data", type=Path, required=True, help="folder with labels")
    add_edition_argument(evaluate)
    evaluate.add_argument("--json", type=Path, default=None, help="write the results here")
    evaluate.add_argument(
        "--predictions", type=Path, default=None, help="save <id>_pred.nii.gz files here"
    )
    evaluate.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads (default: the cores this process may use)",
    )
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate.set_defaults(handler=run_evaluate)


def add_edition_argument(command: argparse.ArgumentParser) -> None:
    from .datasets import GLI_EDITIONS

    command.add_argument(
        "--edition",
        choices=sorted(GLI_EDITIONS),
        default=None,
        help="BraTS edition of a BraTS-GLI-* folder (2023 and 2024 share file names but code "
        "labels differently); refused for other layouts",
    )


def parse_bool(text: str) -> bool:
    if text.lower() in ("yes", "true", "1"):
        return True
    if text.lower() in ("no", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected yes or no, got {text!r}")


def run_train(args: argparse.Namespace) -> int:
    from .training import TrainConfig, train

    names = [field.name for field in dataclasses.fields(TrainConfig)]
    try:
        config = TrainConfig(**{name: getattr(args, name) for name in names})
    except ValueError as error:
        raise SystemExit(f"course-utils train: {error}") from None
    command = "course-utils " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    try:
        metrics = train(
            args.data, args.out, config, resume=args.resume, progress=not args.quiet,
            command=command, edition=args.edition,
        )  # fmt: skip
    except ValueError as error:
        if args.edition is None or "edition" not in str(error):
            raise
        raise SystemExit(f"course-utils train: {error}") from None
    if os.environ.get("RANK", "0") != "0":
        return 0  # under torchrun, rank 0 reports
    best = metrics["validation"]
    if best and best.get("val_dice_mean") is not None:
        scores = ", ".join(f"{r} {best[f'val_dice_{r}']:.3f}" for r in brats.REGIONS)
        print(f"best validation Dice (epoch {best['epoch']}): {scores}")
    print(f"wrote {args.out / 'model.pt'}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from .training import evaluate

    try:
        results = evaluate(
            args.checkpoint,
            args.data,
            json_path=args.json,
            predictions=args.predictions,
            edition=args.edition,
            progress=not args.quiet,
        )
    except ValueError as error:
        if args.edition is None or "edition" not in str(error):
            raise
        raise SystemExit(f"course-utils evaluate: {error}") from None
    print(f"{results['subjects']} subjects")
    for key in ("dice", "hd95_mm", "sensitivity", "specificity"):
        print(f"{key:>12}: " + "  ".join(f"{r} {v:.3f}" for r, v in results[key].items()))
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from .predict import predict_files, predict_folder

    checkpoint = args.checkpoint or paths.shipped_checkpoint()
    contrasts = {m: getattr(args, m) for m in brats.MODALITIES}
    given = [m for m, path in contrasts.items() if path is not None]
    if (args.data is None) == (not given):
        raise SystemExit("course-utils predict: pass either --data DIR or the contrast files")
    if args.edition is not None and args.data is None:
        raise SystemExit("course-utils predict: --edition goes with --data (a BraTS-GLI folder)")
    if args.data is not None:
        try:
            results = predict_folder(
                checkpoint, args.data, args.out, probabilities=args.probabilities,
                grid=args.grid, edition=args.edition, progress=not args.quiet,
            )  # fmt: skip
        except ValueError as error:
            if "edition" not in str(error):
                raise
            raise SystemExit(f"course-utils predict: {error}") from None
    else:
        results = [
            predict_files(
                checkpoint, contrasts, args.out, probabilities=args.probabilities,
                grid=args.grid, register=args.register, progress=not args.quiet,
            )
        ]  # fmt: skip
    for result in results:
        for modality, found in result.get("registration", {}).items():
            print(
                f"registered {modality} to {result['reference']}: mutual information "
                f"{found['mutual_information']:.3f}, {found['seconds']:.1f} s"
            )
        how = (
            f"resampled {result['input_spacing_mm']} -> {result['model_spacing_mm']} mm and back"
            if result["resampled"]
            else f"at {result['model_spacing_mm']} mm, no resampling"
        )
        print(f"wrote {result['outputs']['labels']} ({how})")
    return 0


def run_data(args: argparse.Namespace) -> int:
    from . import synth

    if args.subjects < 1:
        raise SystemExit("course-utils data: --subjects must be at least 1")
    root = args.out if args.out is not None else paths.synthbrats_dir()
    root = synth.ensure_dataset(root, args.subjects, args.seed, args.spacing, progress=True)
    print(
        f"SynthBraTS: {args.subjects} subjects (seed {args.seed}, {args.spacing:g} mm) in {root}"
    )
    return 0


def run_student(args: argparse.Namespace) -> int:
    from .student import make_student_notebooks

    written = make_student_notebooks(args.source, args.target)
    print(f"{args.target}/: {len(written)} student notebooks written")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    configure_threads()  # before NumPy (the parser's defaults) and torch load
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", None) is not None:
        configure_threads(args.threads)  # before train/evaluate import torch
    try:
        return args.handler(args)
    except CourseDataError as error:
        print(f"error: {error}", file=sys.stderr)
        if isinstance(error, EditionUnknownError):
            print("On the command line: --edition 2023 or --edition 2024.", file=sys.stderr)
        return 1
