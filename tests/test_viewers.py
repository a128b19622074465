"""SliceViewer, headless: controls, redraws and the static fallback."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from course_utils.viewers import SliceViewer


@pytest.fixture
def viewer(subject_images):
    return SliceViewer(subject_images["t1ce"], subject_images["seg"], title="T1ce")


def test_the_viewer_starts_on_the_tumour(viewer, subject_images):
    seg = np.asarray(subject_images["seg"].dataobj)
    assert viewer.slice_slider.value == round(np.argwhere(seg > 0)[:, 2].mean())
    assert viewer.slice_slider.max == seg.shape[2] - 1


def test_moving_the_slider_or_opacity_redraws_the_image(viewer):
    first = bytes(viewer.image_widget.value)
    viewer.slice_slider.value += 5
    moved = bytes(viewer.image_widget.value)
    assert moved != first and moved.startswith(b"\x89PNG")
    viewer.opacity_slider.value = 0.0
    assert bytes(viewer.image_widget.value) != moved


def test_changing_the_plane_updates_the_slider_range(viewer, subject_images):
    viewer.axis_buttons.value = 0
    assert viewer.slice_slider.max == subject_images["t1ce"].shape[0] - 1
    assert viewer.describe().startswith("T1ce: sagittal slice")


def test_without_a_widget_front_end_the_output_carries_a_static_image(viewer):
    bundle = viewer._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == f"SliceViewer({viewer.describe()})"


def test_a_label_on_another_grid_is_refused(subject_images):
    with pytest.raises(ValueError, match="label shape"):
        SliceViewer(subject_images["t1"], np.zeros((4, 4, 4)))


def test_a_viewer_without_labels_has_no_opacity_control(subject_images):
    viewer = SliceViewer(subject_images["t2"])
    assert viewer.opacity_slider not in viewer.widget.children[1].children


# --- CompareViewer and LiveMetricCurve (notebook 05) ---


@pytest.fixture
def compare_viewer(subject_images):
    from course_utils.viewers import CompareViewer

    return CompareViewer(subject_images["t1"], subject_images["t2"], title="T1 vs T2")


def test_compare_viewer_builds_its_controls(compare_viewer, subject_images):
    controls = compare_viewer.widget.children[1].children
    assert compare_viewer.mode_buttons in controls and compare_viewer.blend_slider in controls
    assert compare_viewer.slice_slider.max == subject_images["t1"].shape[2] - 1
    assert bytes(compare_viewer.image_widget.value).startswith(b"\x89PNG")


def test_each_control_of_the_compare_viewer_redraws(compare_viewer):
    seen = [bytes(compare_viewer.image_widget.value)]
    compare_viewer.blend_slider.value = 0.0
    seen.append(bytes(compare_viewer.image_widget.value))
    compare_viewer.mode_buttons.value = "checkerboard"
    seen.append(bytes(compare_viewer.image_widget.value))
    compare_viewer.squares_slider.value = 4
    seen.append(bytes(compare_viewer.image_widget.value))
    assert len(set(seen)) == 4
    assert compare_viewer.describe().startswith("checkerboard 4 x 4, axial slice")


def test_the_compare_viewer_shows_what_compare_slices_computes(compare_viewer):
    from course_utils import plotting

    compare_viewer.mode_buttons.value = "difference"
    k = compare_viewer.slice_slider.value
    expected = plotting.compare_slices(
        compare_viewer.fixed[:, :, k], compare_viewer.moving[:, :, k], "difference"
    ).T
    assert np.array_equal(compare_viewer.view(), expected)
    compare_viewer.blend_slider.value = 1.0
    compare_viewer.mode_buttons.value = "blend"  # all moving: the moving slice, scaled
    moving = plotting.compare_slices(
        compare_viewer.moving[:, :, k], compare_viewer.moving[:, :, k], "blend"
    ).T
    assert np.allclose(compare_viewer.view(), moving)


def test_the_compare_viewer_follows_a_change_of_plane(compare_viewer, subject_images):
    compare_viewer.axis_buttons.value = 0
    assert compare_viewer.slice_slider.max == subject_images["t1"].shape[0] - 1
    assert "sagittal slice" in compare_viewer.describe()


def test_without_a_widget_front_end_the_compare_viewer_carries_a_static_image(compare_viewer):
    bundle = compare_viewer._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
    assert bundle["text/plain"] == f"CompareViewer({compare_viewer.describe()})"


@pytest.mark.parametrize(
    "moving, arguments, message",
    [
        (np.zeros((4, 4, 4)), {}, "one grid"),
        (None, {"mode": "overlay"}, "mode"),
    ],
)
def test_the_compare_viewer_refuses_what_it_cannot_show(
    subject_images, moving, arguments, message
):
    from course_utils.viewers import CompareViewer

    moving = subject_images["t2"] if moving is None else moving
    with pytest.raises(ValueError, match=message):
        CompareViewer(subject_images["t1"], moving, **arguments)


def test_live_metric_curve_collects_each_level_and_draws_them():
    from course_utils.viewers import LiveMetricCurve

    curve = LiveMetricCurve("affine", ylabel="NCC", every=2)
    curve("affine", 4, [0.1, 0.2])  # no display: nothing to update, no error
    curve("affine", 2, [0.3])
    ax = curve.figure().axes[0]
    assert [line.get_label() for line in ax.get_lines()] == [
        "affine, shrink 4",
        "affine, shrink 2",
    ]
    assert (ax.get_ylabel(), ax.get_title()) == ("NCC", "affine")
    with pytest.raises(ValueError, match="every"):
        LiveMetricCurve("x", every=0)
