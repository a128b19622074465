"""`TrainConfig`: every setting of a training run, checked when it is made.

The defaults are the laptop run on 2 CPU cores; ``course-utils train`` builds one from its
options, and every checkpoint records it (``"train_config"``). Sizes in voxels.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..datasets import DEFAULT_NORMALISATION, normalisation_record

__all__ = ["TrainConfig"]


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run. The defaults are the laptop run on 2 CPU cores.

    Attributes
    ----------
    epochs
        Passes over the training subjects.
    patches_per_subject
        Patches drawn from each training subject per epoch.
    patch_size
        Edge of the cubic training patch in voxels (a multiple of the network's
        `UNet.size_multiple`, 32 for the default features).
    batch_size
        Patches per optimiser step (per process under torchrun).
    learning_rate
        Peak learning rate of AdamW; it follows a cosine down to 1/100 of it.
    weight_decay
        AdamW's decoupled weight decay.
    foreground_ratio
        Probability that a patch is centred on a tumour voxel (the rest anywhere).
    validation_subjects
        Subjects held out of training and used to pick the best epoch.
    validate_every
        Validate every this many epochs (and after the last).
    overlap
        Window overlap of the sliding-window inference, in ``[0, 1)``.
    features
        `UNet` channels per level.
    norm
        `UNet` normalisation, ``"instance"`` or ``"batch"``.
    augment
        Apply `transforms.training_augmentation` to the training patches.
    normalisation
        The intensity normalisation, one of `datasets.NORMALISATIONS`; recorded in the
        checkpoint, and applied by `evaluate` and ``course-utils predict``.
    seed
        Seeds the weights, the split, the patches, the augmentation and the order.
    num_workers
        DataLoader worker processes (0: load in the training process).
    """

    epochs: int = 20
    patches_per_subject: int = 8
    patch_size: int = 64
    batch_size: int = 2
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    foreground_ratio: float = 0.7
    validation_subjects: int = 4
    validate_every: int = 5
    overlap: float = 0.25
    features: tuple[int, ...] = (8, 16, 32, 64, 128)
    norm: str = "instance"
    augment: bool = True
    normalisation: str = DEFAULT_NORMALISATION
    seed: int = 0
    num_workers: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(int(f) for f in self.features))
        positive = ("epochs", "patches_per_subject", "patch_size", "batch_size", "validate_every")
        for name in positive:
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1; got {getattr(self, name)}")
        if not 0.0 <= self.foreground_ratio <= 1.0:
            raise ValueError(f"foreground_ratio must be in [0, 1]; got {self.foreground_ratio}")
        if not 0.0 <= self.overlap < 1.0:
            raise ValueError(f"overlap must be in [0, 1); got {self.overlap}")
        normalisation_record(self.normalisation)  # ValueError for an unknown name
        if self.validation_subjects < 0:
            raise ValueError(f"validation_subjects must be >= 0; got {self.validation_subjects}")

    def model_config(self, in_channels: int = 4, out_channels: int = 3) -> dict:
        """The `UNet` keyword arguments this run trains."""
        return {
            "spatial_dims": 3,
            "in_channels": in_channels,
            "out_channels": out_channels,
            "features": list(self.features),
            "norm": self.norm,
        }
