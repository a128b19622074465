"""Static figures: window/level, orientation on screen, overlays, returned figures."""

from __future__ import annotations

import matplotlib
import nibabel as nib
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from course_utils import plotting
from course_utils import registration as reg

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


# --- registration figures (notebook 05) ---


@pytest.fixture
def slice_pair():
    rows, columns = np.mgrid[0:32, 0:40]
    fixed = np.exp(-((rows - 16.0) ** 2 + (columns - 20.0) ** 2) / 60.0)
    return fixed, np.roll(fixed, 3, axis=0)


def titles(figure):
    return [ax.get_title() for ax in figure.axes if ax.get_title()]


def test_compare_slices_blends_tiles_and_subtracts_scaled_slices():
    ramp = np.tile(np.linspace(0.1, 1.0, 8), (8, 1))
    brighter = 5 * ramp  # another scanner's units: the same slice once each is scaled
    scaled = plotting.compare_slices(ramp, ramp, "blend", alpha=0.0)
    assert scaled.min() == 0.0 and scaled.max() == 1.0
    assert plotting.compare_slices(ramp, brighter, "difference") == pytest.approx(0 * ramp)
    assert plotting.compare_slices(ramp, brighter, "blend", alpha=0.3) == pytest.approx(scaled)
    flipped = ramp[:, ::-1]
    board = plotting.compare_slices(ramp, flipped, "checkerboard", squares=2)
    other = plotting.compare_slices(flipped, flipped, "blend", alpha=0.0)
    assert np.array_equal(board[:4, :4], scaled[:4, :4])  # tiles alternate between the two
    assert np.array_equal(board[:4, 4:], other[:4, 4:])
    assert np.array_equal(board[4:, 4:], scaled[4:, 4:])


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"mode": "overlay"}, "mode"),
        ({"mode": "blend", "alpha": 1.5}, "alpha"),
    ],
)
def test_compare_slices_refuses_unknown_views(slice_pair, arguments, message):
    with pytest.raises(ValueError, match=message):
        plotting.compare_slices(*slice_pair, **arguments)


def test_compare_slices_refuses_slices_of_two_grids(slice_pair):
    with pytest.raises(ValueError, match="resample"):
        plotting.compare_slices(slice_pair[0], slice_pair[1][:-1])


def test_fixed_moving_figure_names_its_three_panels(slice_pair):
    figure = plotting.show_fixed_moving(*slice_pair, titles=["fixed: A", "moving: B"], title="T")
    assert titles(figure) == ["fixed: A", "moving: B", "overlay: fixed magenta, moving green"]
    assert figure._suptitle.get_text() == "T"


def test_comparison_figure_has_a_checkerboard_and_a_difference_per_image(slice_pair):
    fixed, moving = slice_pair
    figure = plotting.show_comparisons(fixed, {"before": moving, "after": fixed})
    assert titles(figure) == [
        "before: checkerboard",
        "before: fixed − moving",
        "after: checkerboard",
        "after: fixed − moving",
    ]
    assert figure.axes[-1].get_ylabel() == "intensity difference"  # the colour bar


def test_image_row_shows_slices_transposed_and_pictures_as_they_are(slice_pair):
    picture = np.zeros((5, 7, 3), np.uint8)
    figure = plotting.show_images({"slice": slice_pair[0], "picture": picture}, title="row")
    assert titles(figure) == ["slice", "picture"]
    assert figure.axes[0].images[0].get_array().shape == slice_pair[0].T.shape
    assert figure.axes[1].images[0].get_array().shape == picture.shape
    with pytest.raises(ValueError, match="2D slice or an RGB picture"):
        plotting.show_images({"volume": np.zeros((3, 3, 3, 3))})


def test_warped_lattices_draw_the_lattice_over_the_image(slice_pair):
    lattice = np.zeros_like(slice_pair[0])
    lattice[::8] = 1.0
    figure = plotting.show_warped_lattices({"identity": (slice_pair[0], lattice)})
    assert titles(figure) == ["identity"] and len(figure.axes[0].images) == 2


def test_joint_histogram_is_labelled_and_refuses_a_vector():
    figure = plotting.show_joint_histogram(np.full((4, 4), 1 / 16), xlabel="T1", ylabel="FLAIR")
    ax = figure.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("T1", "FLAIR")
    assert figure.axes[1].get_ylabel() == "log10 p"
    with pytest.raises(ValueError, match="2D"):
        plotting.show_joint_histogram(np.ones(4))


def test_cost_landscapes_put_moves_in_rows_metrics_in_columns_pairs_as_lines():
    xs = np.linspace(-1, 1, 5)
    landscape = {
        (metric, pair, move): xs**2
        for metric in ("mse", "mi")
        for pair in ("A", "B")
        for move in ("shift (mm)", "rotation (°)")
    }
    figure = plotting.show_cost_landscapes(
        landscape, {"shift (mm)": xs, "rotation (°)": xs}, title="L"
    )
    assert len(figure.axes) == 4
    first, last = figure.axes[0], figure.axes[-1]
    assert (first.get_xlabel(), first.get_ylabel()) == ("shift (mm)", "MSE")
    assert first.get_title() == "MSE (lower is better)"
    assert (last.get_xlabel(), last.get_title()) == ("rotation (°)", "MI (higher is better)")
    assert [line.get_label() for line in first.get_lines()[:2]] == ["A", "B"]


def test_metric_curves_follow_each_level_one_after_the_other():
    history = [
        reg.LevelHistory("affine", 4, [0.1, 0.5, 0.6]),
        reg.LevelHistory("affine", 2, [0.5]),
    ]
    ax = plotting.show_metric_curves(history, ylabel="NCC", title="curve").axes[0]
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["affine, shrink 4", "affine, shrink 2"]
    assert list(lines[1].get_xdata()) == [3]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("iteration", "NCC", "curve")


def test_deformation_figure_shows_size_jacobian_and_arrows():
    field = np.zeros((8, 8, 3, 3), np.float32)
    field[..., 0] = 1.0
    jacobian = np.ones((8, 8, 3))
    figure = plotting.show_deformation(field, jacobian, np.zeros((8, 8, 3)), 1)
    assert titles(figure)[:3] == [
        "displacement magnitude",
        "Jacobian determinant\n(<1: maps onto a smaller moving region)",
        "registered; u × 2",
    ]
    assert {ax.get_ylabel() for ax in figure.axes} >= {"|u| (mm)", "det J"}
    with pytest.raises(ValueError, match="one grid"):
        plotting.show_deformation(field, jacobian[:4], np.zeros((8, 8, 3)), 1)
