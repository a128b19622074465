#!/usr/bin/env bash
# Install what tests/browser/ needs to drive JupyterLab in a real browser, only if missing:
#   - Chromium from the system's package manager (Debian/Ubuntu: the `chromium` package,
#     which provides /usr/bin/chromium);
#   - Playwright for Python, into the course's venv (.venv, or $VENV).
# It never runs `playwright install`: the tests use the system Chromium
# (executable_path="/usr/bin/chromium"), and Playwright's own browser download is not needed.
# Idempotent: a second run installs nothing. Needs root (or sudo) only to install Chromium.
# Usage: tools/install_browser.sh        (from anywhere; paths are relative to the repository)
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM=/usr/bin/chromium
VENV=${VENV:-.venv}
PYTHON="$VENV/bin/python"

if [[ -x "$CHROMIUM" ]]; then
    echo "install_browser: $CHROMIUM present ($("$CHROMIUM" --version 2>/dev/null || echo '?'))"
else
    if [[ "$(id -u)" -eq 0 ]]; then
        SUDO=""
    elif command -v sudo >/dev/null; then
        SUDO=sudo
    else
        echo "install_browser: $CHROMIUM is missing and I am not root (no sudo either):" >&2
        echo "  run 'apt-get update && apt-get install -y chromium' as root." >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null; then
        echo "install_browser: $CHROMIUM is missing and there is no apt-get here;" >&2
        echo "  install Chromium with your system's package manager." >&2
        exit 1
    fi
    echo "install_browser: $CHROMIUM missing: running apt-get update && apt-get install -y chromium"
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
    echo "install_browser: installed $("$CHROMIUM" --version 2>/dev/null)"
fi

if [[ ! -x "$PYTHON" ]]; then
    echo "install_browser: no $PYTHON: run 'make install' first (or set VENV=...)." >&2
    exit 1
fi
if "$PYTHON" -c "import playwright.sync_api" 2>/dev/null; then
    echo "install_browser: playwright present in $VENV" \
        "($("$PYTHON" -m pip show playwright 2>/dev/null | sed -n 's/^Version: //p'))"
else
    echo "install_browser: playwright missing: running $PYTHON -m pip install playwright"
    "$PYTHON" -m pip install --quiet playwright
    echo "install_browser: installed playwright" \
        "$("$PYTHON" -m pip show playwright | sed -n 's/^Version: //p')"
fi
echo "install_browser: done (browsers are not downloaded: the tests use $CHROMIUM)"
