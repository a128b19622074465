"""Static figures: window/level, orientation on screen, overlays, returned figures."""

from __future__ import annotations

import matplotlib
import nibabel as nib
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from course_utils import plotting

matplotlib.use("Agg")


@pytest.mark.parametrize(
    ("window", "level", "expected"),
    [(4.0, 5.0, (3.0, 7.0)), (100.0, 0.0, (-50.0, 50.0)), (1.0, 1000.0, (999.5, 1000.5))],
)
def test_window_and_level_give_the_display_range(window, level, expected):
    assert plotting.window_limits(np.arange(10.0), window, level) == expected


def test_automatic_window_ignores_background_and_one_bright_voxel():
    volume = np.zeros((20, 20, 20))
    volume[5:15, 5:15, 5:15] = np.linspace(100, 200, 1000).reshape(10, 10, 10)
    volume[0, 0, 0] = 1e6
    low, high = plotting.window_limits(volume)
    assert 100 <= low < 105 and 195 < high <= 201


def test_axial_slices_show_right_on_the_right_and_anterior_at_the_top(ras_volume):
    plane = plotting.oriented_slice(ras_volume, axis=2, index=3)
    assert plane.shape == (7, 6)  # rows run along y (A), columns along x (R)
    assert plane[0, -1] > plane[0, 0]  # x grows to the right: right is on the right
    assert plane[-1, 0] > plane[0, 0]  # y grows upwards (origin="lower"): anterior on top


def test_a_slice_outside_the_volume_is_refused_clearly(ras_volume):
    with pytest.raises(IndexError, match="axis 2 has 8 slices"):
        plotting.oriented_slice(ras_volume, axis=2, index=8)


def test_images_are_shown_in_ras_whatever_their_storage_order(ras_volume):
    flipped = nib.Nifti1Image(ras_volume[::-1], np.diag([-1.0, 1, 1, 1]))  # stored L->R
    volume, zooms = plotting.as_ras_array(flipped)
    np.testing.assert_array_equal(volume, ras_volume)
    np.testing.assert_array_equal(zooms, [1.0, 1.0, 1.0])


def test_label_colours_are_fixed_and_background_is_transparent():
    cmap, norm = plotting.label_colormap()
    assert cmap(norm(0))[3] == 0
    for value, colour in plotting.LABEL_COLOURS.items():
        assert cmap(norm(value)) == pytest.approx(to_rgba(colour))


def test_show_orthogonal_returns_a_labelled_figure_with_three_planes(subject_images):
    figure = plotting.show_orthogonal(subject_images["t1"], label=subject_images["seg"])
    assert isinstance(figure, Figure)
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert [t.split(" ")[0] for t in titles] == ["sagittal", "coronal", "axial"]
    assert any(ax.get_ylabel() == "intensity (a.u.)" for ax in figure.axes)  # the colour bar
    assert figure.legends, "label colours need a legend"


def test_show_slice_draws_into_a_given_axes(subject_images):
    figure = Figure()
    ax = figure.subplots()
    returned = plotting.show_slice(subject_images["flair"], 2, 40, ax=ax, colorbar=False)
    assert returned is figure
    assert ax.get_title() == "axial slice 40"


def test_show_contrasts_puts_each_contrast_in_its_own_panel(subject_images):
    contrasts = {k: subject_images[k] for k in ("t1", "t1ce", "t2", "flair")}
    figure = plotting.show_contrasts(contrasts, label=subject_images["seg"])
    titles = [ax.get_title() for ax in figure.axes]
    assert titles == ["T1", "T1CE", "T2", "FLAIR", "labels on T1"]


def test_show_agreement_colours_found_extra_and_missed_voxels_and_picks_the_worst_slice():
    from matplotlib.colors import to_rgba

    image = np.zeros((6, 6, 4), np.float32)
    truth = np.zeros(image.shape, bool)
    prediction = np.zeros(image.shape, bool)
    truth[1:3, 1:3, 1] = True
    prediction[1:3, 1:3, 1] = True  # slice 1: all found
    truth[4, 4, 2] = True  # slice 2: one missed, two extra
    prediction[0, 0, 2] = prediction[5, 0, 2] = True
    figure = plotting.show_agreement(image, prediction, truth, zooms=(2.0, 2.0, 2.0))
    ax = figure.axes[0]
    assert ax.get_title() == "axial slice 2"
    overlay = ax.images[-1].get_array()  # (rows = y, columns = x, RGBA)
    assert tuple(overlay[4, 4]) == to_rgba(plotting.AGREEMENT_COLOURS["missed"], 0.8)
    assert tuple(overlay[0, 5]) == to_rgba(plotting.AGREEMENT_COLOURS["extra"], 0.8)
    assert overlay[2, 2, 3] == 0  # nothing drawn where both are empty
    with pytest.raises(ValueError, match="one grid"):
        plotting.show_agreement(image, prediction[:3], truth)
