"""peers.quiet: the field's libraries' notices silenced for a compared output, errors kept."""

from __future__ import annotations

import logging
import warnings

import pytest

from course_utils import peers


def test_quiet_hides_warnings_and_monais_decoder_log_then_restores_them(capsys):
    logger = logging.getLogger(peers.NOISY_LOGGERS[0])
    before = logger.level
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with peers.quiet():
            warnings.warn("a version notice", FutureWarning, stacklevel=1)
            logger.warning("nvImageCodec is not available")
        assert caught == []
        warnings.warn("after the block", UserWarning, stacklevel=1)
        assert [str(w.message) for w in caught] == ["after the block"]
    assert "nvImageCodec" not in capsys.readouterr().err
    assert logger.level == before


def test_quiet_lets_errors_through():
    with pytest.raises(ValueError, match="a real error"), peers.quiet():
        raise ValueError("a real error")


def test_monais_loader_prints_nothing_inside_quiet(capfd):
    with peers.quiet():
        from monai import transforms

        transforms.LoadImaged(["image"])
    assert capfd.readouterr().err == ""
