"""Interactive viewers built on ipywidgets and `course_utils.plotting`.

`SliceViewer` shows a volume with a plane selector, a slice slider, window and level
sliders and, when a label map is given, a label-opacity slider. In JupyterLab, Colab or
VS Code you get the live widget; where no widget front end runs (GitHub, nbviewer, CI)
the same output carries a static PNG of the current view instead, so the notebook still
reads well.

Used from notebook 00 onwards.
"""

from __future__ import annotations

import base64
import io

import nibabel as nib
import numpy as np

from . import plotting

__all__ = ["SliceViewer"]


class SliceViewer:
    """Browse a 3D volume slice by slice, with window/level and a label overlay.

    Parameters
    ----------
    image
        A 3D image (reoriented to RAS+ for display) or a RAS+ array ``(X, Y, Z)``.
    label
        Optional label map on the same grid (BraTS values 0/1/2/4).
    axis
        Initial plane: 0 sagittal, 1 coronal, 2 axial.
    index
        Initial slice; defaults to the tumour's centre if there is a label, else the middle.
    title
        Shown above the image (e.g. the contrast's name).
    units
        Label of the colour bar.

    Examples
    --------
    >>> viewer = SliceViewer(np.zeros((4, 5, 6)))
    >>> viewer.slice_slider.max
    5
    """

    def __init__(
        self,
        image: nib.Nifti1Image | np.ndarray,
        label: nib.Nifti1Image | np.ndarray | None = None,
        *,
        axis: int = 2,
        index: int | None = None,
        title: str = "",
        units: str = "intensity (a.u.)",
    ) -> None:
        import ipywidgets as widgets

        self.volume, self.zooms = plotting.as_ras_array(image)
        if self.volume.ndim != 3:
            raise ValueError(
                f"SliceViewer shows 3D volumes; this one has shape {self.volume.shape}."
            )
        self.label = None if label is None else plotting.as_ras_array(label)[0]
        if self.label is not None and self.label.shape != self.volume.shape:
            raise ValueError(
                f"label shape {self.label.shape} differs from image shape {self.volume.shape}."
            )
        self.title = title
        self.units = units
        point = plotting.default_point(self.volume, self.label)
        low, high = plotting.window_limits(self.volume)
        value_range = float(np.max(self.volume) - np.min(self.volume)) or 1.0

        self.axis_buttons = widgets.ToggleButtons(
            options=[(name, axis_) for axis_, name in plotting.AXIS_NAMES.items()],
            value=axis,
            description="plane",
        )
        self.slice_slider = widgets.IntSlider(
            value=point[axis] if index is None else index,
            min=0,
            max=self.volume.shape[axis] - 1,
            description="slice",
            continuous_update=True,
        )
        self.window_slider = widgets.FloatSlider(
            value=high - low,
            min=value_range / 100,
            max=value_range,
            step=value_range / 200,
            description="window",
        )
        self.level_slider = widgets.FloatSlider(
            value=(high + low) / 2,
            min=float(np.min(self.volume)),
            max=float(np.max(self.volume)),
            step=value_range / 200,
            description="level",
        )
        self.opacity_slider = widgets.FloatSlider(
            value=0.45,
            min=0.0,
            max=1.0,
            step=0.05,
            description="labels",
            disabled=self.label is None,
        )
        self.image_widget = widgets.Image(format="png", value=self.render())
        controls = [self.axis_buttons, self.slice_slider, self.window_slider, self.level_slider]
        if self.label is not None:
            controls.append(self.opacity_slider)
        self.widget = widgets.HBox([self.image_widget, widgets.VBox(controls)])

        self.axis_buttons.observe(self.on_axis_change, names="value")
        for control in controls[1:]:
            control.observe(self.refresh, names="value")

    def on_axis_change(self, change) -> None:
        """Keep the slice slider within the new plane's range, centred on the point of interest."""
        axis = change["new"]
        point = plotting.default_point(self.volume, self.label)
        with self.slice_slider.hold_trait_notifications():
            self.slice_slider.max = self.volume.shape[axis] - 1
            self.slice_slider.value = point[axis]
        self.refresh()

    def refresh(self, _change=None) -> None:
        """Redraw the current view into the image widget."""
        self.image_widget.value = self.render()

    def figure(self):
        """The current view as a static matplotlib ``Figure``."""
        return plotting.slice_figure(
            self.volume,
            self.zooms,
            self.axis_buttons.value,
            self.slice_slider.value,
            label=self.label,
            limits=plotting.window_limits(
                self.volume, self.window_slider.value, self.level_slider.value
            ),
            alpha=self.opacity_slider.value if self.label is not None else 0.0,
            title=self.describe(),
            units=self.units,
        )

    def describe(self) -> str:
        """One line saying what is on screen, e.g. ``T1: axial slice 40 (from 0) of 94``.

        Slices are counted from 0, as NumPy indexes them: the last of 94 is slice 93.
        """
        axis = self.axis_buttons.value
        plane = plotting.AXIS_NAMES[axis]
        count = self.volume.shape[axis]
        where = f"{plane} slice {self.slice_slider.value} (from 0) of {count}"
        return f"{self.title}: {where}" if self.title else where

    def render(self) -> bytes:
        """The current view as PNG bytes."""
        buffer = io.BytesIO()
        self.figure().savefig(buffer, format="png")
        return buffer.getvalue()

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs) or {}
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        return {
            **bundle,
            "image/png": base64.b64encode(bytes(self.image_widget.value)).decode("ascii"),
            "text/plain": f"SliceViewer({self.describe()})",
        }
