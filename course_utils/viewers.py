"""Interactive viewers built on ipywidgets and `course_utils.plotting`.

`SliceViewer` shows a volume with a plane selector, a slice slider, window and level
sliders and, when a label map is given, a label-opacity slider. `CompareViewer` shows a
fixed and a moving image of one grid together (a blend slider, a checkerboard, the
difference), the way a registration is judged by eye. `LiveMetricCurve` redraws a
registration's metric while it runs. In JupyterLab, Colab or VS Code you get the live
widget; where no widget front end runs (GitHub, nbviewer, CI) the same output carries a
static PNG of the current view instead, so the notebook still reads well.

Used from notebook 00 onwards (`CompareViewer` and `LiveMetricCurve`: notebook 05).
"""

from __future__ import annotations

import base64
import io

import nibabel as nib
import numpy as np

from . import plotting
from .plotting.registration import COMPARE_MODES

__all__ = ["SliceViewer", "CompareViewer", "LiveMetricCurve"]


class _PngWidget:
    """The static fallback shared by the viewers: ``widget``, ``image_widget``, ``describe``."""

    def render(self) -> bytes:
        """The current view as PNG bytes."""
        buffer = io.BytesIO()
        self.figure().savefig(buffer, format="png")
        return buffer.getvalue()

    def refresh(self, _change=None) -> None:
        """Redraw the current view into the image widget."""
        self.image_widget.value = self.render()

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs) or {}
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        return {
            **bundle,
            "image/png": base64.b64encode(bytes(self.image_widget.value)).decode("ascii"),
            "text/plain": f"{type(self).__name__}({self.describe()})",
        }


def _plane_buttons(axis: int):
    """The viewers' plane selector: sagittal, coronal, axial (array axes 0, 1, 2)."""
    import ipywidgets as widgets

    return widgets.ToggleButtons(
        options=[(name, axis_) for axis_, name in plotting.AXIS_NAMES.items()],
        value=axis,
        description="plane",
    )


def _window_level_sliders(volume: np.ndarray):
    """``(window, level)`` sliders over ``volume``'s range, set to `plotting.window_limits`."""
    import ipywidgets as widgets

    low, high = plotting.window_limits(volume)
    value_range = float(np.max(volume) - np.min(volume)) or 1.0
    window = widgets.FloatSlider(
        value=high - low,
        min=value_range / 100,
        max=value_range,
        step=value_range / 200,
        description="window",
    )
    level = widgets.FloatSlider(
        value=(high + low) / 2,
        min=float(np.min(volume)),
        max=float(np.max(volume)),
        step=value_range / 200,
        description="level",
    )
    return window, level


class SliceViewer(_PngWidget):
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
        self.axis_buttons = _plane_buttons(axis)
        point = plotting.default_point(self.volume, self.label)
        self.slice_slider = widgets.IntSlider(
            value=point[axis] if index is None else index,
            min=0,
            max=self.volume.shape[axis] - 1,
            description="slice",
            continuous_update=True,
        )
        self.window_slider, self.level_slider = _window_level_sliders(self.volume)
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


class CompareViewer(_PngWidget):
    """A fixed and a moving image of one grid, together: blend, checkerboard or difference.

    Parameters
    ----------
    fixed, moving
        3D images on the same grid (the moving one already resampled onto the fixed grid,
        e.g. a `registration.RegistrationResult`'s ``warped``), or RAS+ arrays ``(X, Y, Z)``.
    axis
        Initial plane: 0 sagittal, 1 coronal, 2 axial.
    index
        Initial slice; defaults to the middle.
    mode
        ``"blend"`` (a slider from fixed to moving), ``"checkerboard"`` (tiles taken in turn
        from each; edges must continue across tiles) or ``"difference"`` (fixed - moving).
    title
        Shown above the image.

    Each image is scaled to [0, 1] by its own window before they are combined
    (`plotting.compare_slices`), so two modalities compare.

    Examples
    --------
    >>> viewer = CompareViewer(np.zeros((4, 5, 6)), np.ones((4, 5, 6)))
    >>> viewer.describe()
    'blend 50 % moving, axial slice 3 (from 0) of 6'
    """

    def __init__(
        self,
        fixed: nib.Nifti1Image | np.ndarray,
        moving: nib.Nifti1Image | np.ndarray,
        *,
        axis: int = 2,
        index: int | None = None,
        mode: str = "blend",
        title: str = "",
    ) -> None:
        import ipywidgets as widgets

        self.fixed, self.zooms = plotting.as_ras_array(fixed)
        self.moving = plotting.as_ras_array(moving)[0]
        if self.fixed.ndim != 3 or self.fixed.shape != self.moving.shape:
            raise ValueError(
                f"fixed {self.fixed.shape} and moving {self.moving.shape} must be 3D volumes of "
                "one grid: resample the moving image onto the fixed grid first."
            )
        if mode not in COMPARE_MODES:
            raise ValueError(f"mode={mode!r}: choose one of {COMPARE_MODES}.")
        self.title = title
        self.axis_buttons = _plane_buttons(axis)
        self.slice_slider = widgets.IntSlider(
            value=self.fixed.shape[axis] // 2 if index is None else index,
            min=0,
            max=self.fixed.shape[axis] - 1,
            description="slice",
        )
        self.mode_buttons = widgets.ToggleButtons(
            options=list(COMPARE_MODES), value=mode, description="show"
        )
        self.blend_slider = widgets.FloatSlider(
            value=0.5, min=0.0, max=1.0, step=0.05, description="moving"
        )
        self.squares_slider = widgets.IntSlider(value=8, min=2, max=16, description="squares")
        self.image_widget = widgets.Image(format="png", value=self.render())
        controls = [
            self.axis_buttons,
            self.slice_slider,
            self.mode_buttons,
            self.blend_slider,
            self.squares_slider,
        ]
        self.widget = widgets.HBox([self.image_widget, widgets.VBox(controls)])
        self.axis_buttons.observe(self.on_axis_change, names="value")
        for control in controls[1:]:
            control.observe(self.refresh, names="value")

    def on_axis_change(self, change) -> None:
        """Keep the slice slider within the new plane's range, at its middle."""
        with self.slice_slider.hold_trait_notifications():
            self.slice_slider.max = self.fixed.shape[change["new"]] - 1
            self.slice_slider.value = self.fixed.shape[change["new"]] // 2
        self.refresh()

    def view(self) -> np.ndarray:
        """The combined slice on screen, float64 ``(rows, columns)`` ready for ``imshow``."""
        axis, index = self.axis_buttons.value, self.slice_slider.value
        fixed = np.take(self.fixed, index, axis=axis)
        moving = np.take(self.moving, index, axis=axis)
        return plotting.compare_slices(
            fixed,
            moving,
            self.mode_buttons.value,
            alpha=self.blend_slider.value,
            squares=self.squares_slider.value,
        ).T

    def figure(self):
        """The current view as a static matplotlib ``Figure``."""
        figure, (ax,) = plotting.new_axes(None, figsize=(4.4, 4.4))
        horizontal, vertical = plotting.PLANE_AXES[self.axis_buttons.value]
        difference = self.mode_buttons.value == "difference"
        ax.imshow(
            self.view(),
            cmap="RdBu_r" if difference else "gray",
            vmin=-0.6 if difference else 0.0,
            vmax=0.6 if difference else 1.0,
            origin="lower",
            aspect=self.zooms[vertical] / self.zooms[horizontal],
        )
        ax.set_xticks([])
        ax.set_yticks([])
        heading = f"{self.title}\n{self.describe()}" if self.title else self.describe()
        ax.set_title(heading, fontsize=9)
        return figure

    def describe(self) -> str:
        """One line saying what is on screen, e.g. ``blend 50 % moving, axial slice 47 ...``."""
        axis = self.axis_buttons.value
        where = (
            f"{plotting.AXIS_NAMES[axis]} slice {self.slice_slider.value} (from 0) of "
            f"{self.fixed.shape[axis]}"
        )
        mode = self.mode_buttons.value
        if mode == "blend":
            mode = f"blend {self.blend_slider.value:.0%} moving".replace("%", " %")
        elif mode == "checkerboard":
            mode = f"checkerboard {self.squares_slider.value} x {self.squares_slider.value}"
        else:
            mode = "fixed - moving"
        return f"{mode}, {where}"


class LiveMetricCurve:
    """A `registration.register` callback that redraws the metric as the registration runs.

    Call `show` to display it (it returns the display handle, or ``None`` outside IPython);
    `register` then calls the object as ``callback(stage, shrink, values)`` and it redraws
    every ``every`` iterations; `figure` draws the final picture
    (`plotting.show_metric_curves`).
    """

    def __init__(self, title: str, ylabel: str = "metric", every: int = 25) -> None:
        if every < 1:
            raise ValueError(f"every={every}: redraw at least every iteration (1 or more).")
        self.title, self.ylabel, self.every = title, ylabel, every
        self.curves: dict[tuple[str, int], list[float]] = {}
        self.handle = None

    def show(self):
        """Display the (empty) figure and keep its handle for the redraws."""
        from IPython.display import display

        self.handle = display(self.figure(), display_id=True)
        return self.handle

    def __call__(self, stage: str, shrink: int, values: list[float]) -> None:
        self.curves[stage, shrink] = list(values)
        if len(values) % self.every == 0 and self.handle is not None:
            self.handle.update(self.figure())

    def figure(self):
        """The curves so far as a ``Figure``."""
        from .registration import LevelHistory

        history = [LevelHistory(s, k, v) for (s, k), v in self.curves.items()]
        return plotting.show_metric_curves(history, ylabel=self.ylabel, title=self.title)
