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
