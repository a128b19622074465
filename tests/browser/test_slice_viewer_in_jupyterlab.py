"""End to end: the slice viewer works in JupyterLab in a real (headless) browser.

The unit tests check `SliceViewer` from Python; this test checks what a student sees. It starts
JupyterLab on 127.0.0.1 with a random token and throw-away settings, opens a copy of
`slice_viewer.ipynb` (next to this file) in headless Chromium driven by Playwright and runs every
cell from the Run menu. Then, with the keyboard, it moves the viewer's "slice" slider five steps
and its "labels" (overlay opacity) slider down to 0. After each move it waits for the kernel to
send the new image and asserts that the picture changed twice over: the PNG behind the `<img>`
(fetched from its `src`, a blob: URL) and a screenshot of the `<img>` element as the browser
draws it; with the labels at 0 the overlay's colours must be gone from the screen.

Screenshots and logs go to `artifacts/browser/` (gitignored; emptied at the start of each run):
the image element at each step, the PNG the kernel sent at each step, a screenshot of the page
at the end (or on failure, with `failure.txt` saying what the page showed), the timings, the
server's log and the browser console. Runs in one checkout take turns (a lock file), since they
share that folder.

Needs Chromium at /usr/bin/chromium (or $COURSE_CHROMIUM, e.g. a Chrome) and Playwright for
Python: `tools/install_browser.sh` installs both (it never runs `playwright install`). Without
them the test is skipped, unless COURSE_REQUIRE_BROWSER=1, which turns the skip into a failure
(CI sets it).
COURSE_BROWSER_NOTEBOOK=notebooks/00_start_here.ipynb runs the same checks on another notebook
whose first viewer has a label overlay.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
NOTEBOOK = Path(os.environ.get("COURSE_BROWSER_NOTEBOOK", "tests/browser/slice_viewer.ipynb"))
ARTIFACTS = ROOT / "artifacts" / "browser"
LOCK = ROOT / "artifacts" / ".browser-test.lock"
REQUIRE_BROWSER = os.environ.get("COURSE_REQUIRE_BROWSER", "") not in ("", "0")

# Every wait is bounded (seconds). A cold kernel (first import of torch, nibabel, ...) is slow.
LOCK_WAIT_S = 600
SERVER_START_S = 60
KERNEL_IDLE_S = 120
RUN_ALL_S = 240
RENDER_S = 60
SETTLE_S = 0.75  # the image counts as final once unchanged this long with the kernel idle
SLICE_STEPS = 5  # ArrowRight presses on the slice slider (step 1)

# Throw-away user settings: no autosave (the run must not write to the notebook), no news
# or update checks (no network, no toast over the page).
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
}


def require_browser() -> None:
    """Skip (or fail, under COURSE_REQUIRE_BROWSER=1) when Playwright or Chromium is missing."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("Playwright for Python (pip install playwright)")
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} (apt-get install chromium, or set COURSE_CHROMIUM)")
    if missing:
        reason = f"the browser test needs {' and '.join(missing)}: run tools/install_browser.sh"
        if REQUIRE_BROWSER:
            pytest.fail(f"{reason} (COURSE_REQUIRE_BROWSER=1: not skipping)", pytrace=False)
        pytest.skip(reason)


class Timer:
    """Named checkpoints since creation, written to artifacts/browser/timings.txt."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.marks: list[tuple[str, float]] = []

    def mark(self, name: str) -> None:
        self.marks.append((name, time.monotonic() - self.start))
        lines = [f"{seconds:7.2f} s  {label}" for label, seconds in self.marks]
        (ARTIFACTS / "timings.txt").write_text("\n".join(lines) + "\n")


@contextlib.contextmanager
def exclusive_run(timeout_s: float):
    """One browser test at a time per checkout: runs share artifacts/browser/ and the notebook
    copy in it (a second `pytest` started meanwhile waits here, at most `timeout_s`)."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; run unlocked
        yield
        return
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK, "a") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another browser test run held {LOCK} for {timeout_s} s")
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def artifacts():
    require_browser()  # first, so that a skipped run leaves earlier artefacts alone
    with exclusive_run(LOCK_WAIT_S):
        shutil.rmtree(ARTIFACTS, ignore_errors=True)
        ARTIFACTS.mkdir(parents=True)
        yield ARTIFACTS


@pytest.fixture(scope="module")
def timer(artifacts) -> Timer:
    return Timer()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def api(server: dict, path: str, method: str = "GET", timeout: float = 5) -> bytes:
    request = urllib.request.Request(
        f"{server['url']}{path}",
        method=method,
        headers={"Authorization": f"token {server['token']}"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def stop_server(process: subprocess.Popen, server: dict, runtime: Path) -> None:
    """Shut the kernels down, then the server's process group; kill leftover kernels by PID."""
    if server.get("url") and process.poll() is None:
        try:
            for kernel in json.loads(api(server, "/api/kernels")):
                api(server, f"/api/kernels/{kernel['id']}", method="DELETE", timeout=15)
        except Exception as error:  # the server may be half-dead: go on to the signals
            print(f"could not shut the kernels down through the API: {error!r}")
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)  # the server's own group (start_new_session=True)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    # Kernels run in their own session; any left behind name our runtime folder's connection
    # file on their command line, so they can be found and stopped by PID.
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if str(runtime) in cmdline and int(proc.name) != os.getpid():
            print(f"killing leftover kernel {proc.name}")
            try:
                os.kill(int(proc.name), signal.SIGKILL)
            except ProcessLookupError:
                pass


def start_server(port: int, token: str, env: dict, log_path: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={ROOT}",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    with open(log_path, "wb") as log:
        # Started directly (not through a shell or the `jupyter` launcher), so the PID is the
        # server's own, and it leads its own process group.
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for_server(process: subprocess.Popen, server: dict) -> bool:
    """True once the server's API answers to the token; False if the server exits first."""
    deadline = time.monotonic() + SERVER_START_S
    while process.poll() is None:
        try:
            json.loads(api(server, "/api/status", timeout=2))
            return True
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                pytest.fail(
                    f"jupyter lab did not answer on {server['url']} within {SERVER_START_S} s:"
                    f"\n{log_tail(server['log'])}",
                    pytrace=False,
                )
            time.sleep(0.25)
    return False


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory, artifacts, timer):
    """A JupyterLab server on 127.0.0.1, isolated from the user's settings; always stopped."""
    home = tmp_path_factory.mktemp("jupyter")
    runtime = home / "runtime"
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "user-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "IPYTHONDIR": str(home / "ipython"),
        "PYTHONUNBUFFERED": "1",
    }
    for plugin, values in LAB_SETTINGS.items():
        target = home / "user-settings" / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    # No build check: it makes the first page load wait ~10 s and can only say "up to date".
    page_config = home / "config" / "labconfig" / "page_config.json"
    page_config.parent.mkdir(parents=True, exist_ok=True)
    page_config.write_text(json.dumps({"buildCheck": False, "buildAvailable": False}))

    # Open a fresh copy, so nothing the browser does can touch the committed notebook.
    source = ROOT / NOTEBOOK
    assert source.is_file(), f"no notebook {source}"
    copy = artifacts / source.name
    shutil.copyfile(source, copy)

    token = secrets.token_hex(24)
    log_path = artifacts / "jupyter-server.log"
    server = {"token": token, "notebook": copy.relative_to(ROOT).as_posix(), "log": log_path}
    process = None
    try:
        for _attempt in range(3):  # a free port can be taken before the server binds it
            port = free_port()
            server["url"] = f"http://127.0.0.1:{port}"
            process = start_server(port, token, env, log_path)
            if wait_for_server(process, server):
                break
            if "already in use" not in log_tail(log_path):
                pytest.fail(
                    f"jupyter lab exited with code {process.returncode}:\n{log_tail(log_path)}",
                    pytrace=False,
                )
        else:
            pytest.fail(f"jupyter lab found no free port:\n{log_tail(log_path)}", pytrace=False)
        timer.mark(f"server answers (pid {process.pid}, {server['url']})")
        yield server
    finally:
        if process is not None:
            stop_server(process, server, runtime)
            timer.mark(f"server stopped (exit code {process.returncode})")


@pytest.fixture(scope="module")
def browser(jupyter_lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, artifacts):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(RENDER_S * 1000)
    console = open(artifacts / "browser-console.log", "w")
    page.on("console", lambda message: console.write(f"[{message.type}] {message.text}\n"))
    page.on("pageerror", lambda error: console.write(f"[pageerror] {error}\n"))
    try:
        yield page
    finally:
        context.close()
        console.close()


def describe_page(page, server: dict) -> str:
    """What the page showed, for a failure message; also saves a full-page screenshot."""
    parts = []
    try:
        page.screenshot(path=str(ARTIFACTS / "page_failure.png"), full_page=True, timeout=15000)
        parts.append(f"full-page screenshot: {ARTIFACTS / 'page_failure.png'}")
    except Exception as error:
        parts.append(f"(no screenshot: {error!r})")
    queries = {
        "url": "location.href",
        "status bar": "document.querySelector('#jp-main-statusbar')?.innerText",
        "dialogs": "[...document.querySelectorAll('.jp-Dialog')].map(e => e.innerText)",
        "error outputs": (
            '[...document.querySelectorAll(\'.jp-OutputArea-output[data-mime-type*="stderr"],'
            ' .jp-OutputArea-output[data-mime-type*="error"]\')].map(e => e.innerText)'
        ),
        "viewer controls": (
            "[...document.querySelectorAll('.widget-hslider')].map(e => e.innerText)"
        ),
        "visible text (start)": "document.body.innerText.slice(0, 1500)",
    }
    for name, script in queries.items():
        try:
            parts.append(f"{name}: {page.evaluate(script)}")
        except Exception as error:
            parts.append(f"{name}: (unavailable: {error!r})")
    parts.append(f"server log (end):\n{log_tail(server['log'])}")
    report = "\n".join(parts)
    (ARTIFACTS / "failure.txt").write_text(report)
    return report


def kernel_idle(page) -> bool:
    """The status bar's kernel item reads "<kernel name> | Idle"."""
    item = page.locator(
        "#jp-main-statusbar .jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$")
    )
    return item.count() > 0


def image_bytes(page, img) -> tuple[str, bytes] | None:
    """The image's current `src` and the PNG behind it (a blob: or data: URL), or None."""
    fetched = page.evaluate(
        """async (img) => {
            const src = img.getAttribute('src');
            if (!src) return null;
            try {
                await img.decode();  // decoded, ready to paint: the screenshot shows this src
                const buffer = await (await fetch(src)).arrayBuffer();
                return {src, bytes: Array.from(new Uint8Array(buffer))};
            } catch (error) {
                return null;  // revoked by a newer image meanwhile
            }
        }""",
        img.element_handle(),
    )
    if fetched is None:
        return None
    return fetched["src"], bytes(fetched["bytes"])


def settled_image(page, img, *, unlike: str | None = None) -> tuple[str, bytes]:
    """Wait for a new `src` (if `unlike` is given), then for the kernel to be idle and the
    `src` to stay unchanged for SETTLE_S; return the src and its PNG bytes."""
    deadline = time.monotonic() + RENDER_S
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        src = img.get_attribute("src")
        if src != last:
            last, since = src, time.monotonic()
        elif (
            src
            and src != unlike
            and time.monotonic() - since >= SETTLE_S
            and kernel_idle(page)
            and (current := image_bytes(page, img)) is not None
            and current[0] == src
        ):
            return current
        time.sleep(0.1)
    raise AssertionError(
        f"the viewer's image did not settle within {RENDER_S} s"
        + (" (its src never changed)" if last == unlike else f" (last src {last!r})")
    )


def screenshot_pixels(img, path: Path) -> np.ndarray:
    """Screenshot the `<img>` element as the browser draws it; save it; return its pixels."""
    png = img.screenshot(path=str(path), animations="disabled", timeout=RENDER_S * 1000)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def changed_fraction(before: np.ndarray, after: np.ndarray) -> float:
    assert before.shape == after.shape, f"screenshot size changed: {before.shape} {after.shape}"
    return float(np.mean(np.any(before != after, axis=-1)))


def colour_fraction(pixels: np.ndarray) -> float:
    """Share of clearly coloured (not grey) pixels: the image and colour bar are grey, only
    the label overlay is coloured."""
    spread = pixels.max(axis=-1).astype(int) - pixels.min(axis=-1).astype(int)
    return float(np.mean(spread > 40))


def slider(viewer, name: str):
    """The viewer's slider whose description label reads `name`."""
    label = viewer.page.locator("label.widget-label", has_text=re.compile(rf"^\s*{name}\s*$"))
    return viewer.locator(".widget-hslider").filter(has=label)


def press(control, key: str, times: int) -> None:
    """Press `key` on a slider's handle, as a keyboard user would."""
    handle = control.locator(".noUi-handle")
    handle.focus()
    for _ in range(times):
        handle.press(key)
        time.sleep(0.05)


def test_slice_viewer_redraws_when_its_sliders_move_in_jupyterlab(
    jupyter_lab, page, artifacts, timer
):
    from playwright.sync_api import expect

    server = jupyter_lab
    try:
        page.goto(
            f"{server['url']}/lab/tree/{server['notebook']}?token={server['token']}",
            wait_until="domcontentloaded",
            timeout=RENDER_S * 1000,
        )
        # A cold kernel can take a while; Run All before it is idle has timed out before.
        status = page.locator("#jp-main-statusbar .jp-StatusBar-TextItem")
        expect(status.filter(has_text=re.compile(r"\| Idle$"))).to_have_count(
            1, timeout=KERNEL_IDLE_S * 1000
        )
        timer.mark("notebook open, kernel idle")

        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        labels_label = page.locator("label.widget-label", has_text=re.compile(r"^\s*labels\s*$"))
        viewer = page.locator(".jp-OutputArea-output .widget-hbox").filter(has=labels_label).first
        # Wait for the viewer, or stop early at a cell's traceback.
        traceback = page.locator(
            '.jp-OutputArea-output[data-mime-type*="stderr"]',
            has_text="Traceback (most recent call last)",
        )
        viewer.or_(traceback).first.wait_for(state="visible", timeout=RUN_ALL_S * 1000)
        assert not traceback.count(), f"a cell failed:\n{traceback.first.inner_text()}"
        img = viewer.locator("img.widget-image").first
        img.wait_for(state="visible")
        src0, png0 = settled_image(page, img)
        pixels0 = screenshot_pixels(img, artifacts / "01_initial_screenshot.png")
        (artifacts / "01_initial_src.png").write_bytes(png0)
        timer.mark("cells run, viewer shown")

        # Move the slice slider: the readout follows at once, then the kernel redraws.
        slice_control = slider(viewer, "slice")
        first_slice = int(slice_control.locator(".widget-readout").inner_text())
        last_slice = int(
            float(slice_control.locator(".noUi-handle").get_attribute("aria-valuemax"))
        )
        new_slice = min(first_slice + SLICE_STEPS, last_slice)
        assert new_slice != first_slice, "the slice slider is already at its end"
        press(slice_control, "ArrowRight", SLICE_STEPS)
        expect(slice_control.locator(".widget-readout")).to_have_text(
            str(new_slice), timeout=RENDER_S * 1000
        )
        src1, png1 = settled_image(page, img, unlike=src0)
        pixels1 = screenshot_pixels(img, artifacts / f"02_slice_{new_slice}_screenshot.png")
        (artifacts / f"02_slice_{new_slice}_src.png").write_bytes(png1)
        assert png1 != png0, "moving the slice slider left the PNG in <img src> unchanged"
        slice_change = changed_fraction(pixels0, pixels1)
        assert slice_change > 0.01, f"slice {first_slice}->{new_slice}: {slice_change:.2%} changed"
        timer.mark(f"slice {first_slice} -> {new_slice}: {slice_change:.1%} of pixels changed")

        # Turn the label overlay off (opacity 0.45 -> 0.00, step 0.05): the colours go.
        labels_control = slider(viewer, "labels")
        opacity = float(labels_control.locator(".widget-readout").inner_text())
        assert opacity > 0, "the labels slider starts at 0: nothing to turn off"
        assert colour_fraction(pixels1) > 0.001, "no coloured (label) pixels on screen"
        press(labels_control, "ArrowLeft", round(opacity / 0.05))
        expect(labels_control.locator(".widget-readout")).to_have_text(
            "0.00", timeout=RENDER_S * 1000
        )
        src2, png2 = settled_image(page, img, unlike=src1)
        pixels2 = screenshot_pixels(img, artifacts / "03_labels_0.00_screenshot.png")
        (artifacts / "03_labels_0.00_src.png").write_bytes(png2)
        assert png2 != png1, "moving the labels slider left the PNG in <img src> unchanged"
        label_change = changed_fraction(pixels1, pixels2)
        assert label_change > 0.001, f"labels {opacity} -> 0: {label_change:.2%} changed"
        assert colour_fraction(pixels2) < 0.0001, "coloured pixels remain with the labels off"
        timer.mark(
            f"labels {opacity:.2f} -> 0.00: {label_change:.1%} of pixels changed, coloured "
            f"{colour_fraction(pixels1):.1%} -> {colour_fraction(pixels2):.2%}"
        )

        viewer.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "04_page_final.png"), full_page=True)
    except Exception:
        print(describe_page(page, server))
        raise
