"""The field's libraries beside the course's own code: MONAI and TorchIO, quietly.

Notebooks 04, 06 and 07 repeat a step the course wrote from scratch with MONAI or TorchIO and
print whether the numbers agree. Those libraries announce things that are not the lesson and
that change from release to release: deprecation and version warnings, and MONAI's log line
that no GPU DICOM decoder (nvImageCodec) is installed, which its image loader emits each time
it is built. Inside `quiet` they are silenced, so a compared output holds only the comparison.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

__all__ = ["quiet"]

#: Loggers whose warnings are noise here (MONAI's optional GPU decoders).
NOISY_LOGGERS = ("monai.data.nvimgcodec_pydicom_plugin",)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence warnings and the `NOISY_LOGGERS` below ERROR for the duration of the block.

    Errors still raise and still print; only notices are hidden.

    Examples
    --------
    >>> with quiet():
    ...     warnings.warn("a version notice")
    """
    loggers = [logging.getLogger(name) for name in NOISY_LOGGERS]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)
