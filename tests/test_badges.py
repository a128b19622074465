"""Binder and Colab badges: one of each in every notebook's first cell and in the README, each
opening this repository, branch main, at that very notebook."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from course_utils import REPOSITORY

REPO = Path(__file__).resolve().parents[1]
SLUG = REPOSITORY.removeprefix("https://github.com/")
BINDER_LOGO = "https://mybinder.org/badge_logo.svg"
COLAB_LOGO = "https://colab.research.google.com/assets/colab-badge.svg"
#: A badge: a markdown image wrapped in a link, ``[![alt](image)](target)``.
BADGE = re.compile(r"\[!\[[^\]]*\]\((?P<image>[^)\s]+)\)\]\((?P<target>[^)\s]+)\)")
#: Any markdown link or image target.
LINK = re.compile(r"\]\((?P<url>[^)\s]+)\)")
BINDER_LAUNCH = "https://mybinder.org/v2/"
COLAB_OPEN = "https://colab.research.google.com/github/"
NOTEBOOKS = sorted(
    path.relative_to(REPO).as_posix()
    for folder in ("notebooks", "student")
    for path in (REPO / folder).glob("*.ipynb")
)


def badge_targets(markdown: str, logo: str) -> list[str]:
    """The link targets of every badge in ``markdown`` whose image is ``logo``."""
    return [match["target"] for match in BADGE.finditer(markdown) if match["image"] == logo]


def links(markdown: str, prefix: str) -> list[str]:
    """Every link in ``markdown`` (badge or not) whose URL starts with ``prefix``."""
    return [url for url in LINK.findall(markdown) if url.startswith(prefix)]


def binder_url(path: str) -> str:
    """The Binder URL that opens ``path`` (``folder/name.ipynb``) of this repository's main."""
    return f"https://mybinder.org/v2/gh/{SLUG}/main?labpath={path.replace('/', '%2F')}"


def colab_url(path: str) -> str:
    """The Colab URL that opens ``path`` (``folder/name.ipynb``) of this repository's main."""
    return f"https://colab.research.google.com/github/{SLUG}/blob/main/{path}"


def test_the_repository_slug_is_owner_and_name():
    assert REPOSITORY == f"https://github.com/{SLUG}"
    assert re.fullmatch(r"[\w.-]+/[\w.-]+", SLUG)


def test_the_urls_are_the_ones_binder_and_colab_document():
    assert binder_url("notebooks/00_a.ipynb") == (
        f"https://mybinder.org/v2/gh/{SLUG}/main?labpath=notebooks%2F00_a.ipynb"
    )
    assert colab_url("student/00_a.ipynb") == (
        f"https://colab.research.google.com/github/{SLUG}/blob/main/student/00_a.ipynb"
    )


def test_every_course_notebook_is_checked():
    assert "notebooks/00_start_here.ipynb" in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_the_first_cell_has_one_binder_and_one_colab_badge_for_this_notebook(path):
    first = nbformat.read(REPO / path, as_version=4).cells[0]
    assert first.cell_type == "markdown"
    assert badge_targets(first.source, BINDER_LOGO) == [binder_url(path)]
    assert badge_targets(first.source, COLAB_LOGO) == [colab_url(path)]
    assert links(first.source, BINDER_LAUNCH) == [binder_url(path)]
    assert links(first.source, COLAB_OPEN) == [colab_url(path)]


def test_the_readme_badges_open_the_first_notebook():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert badge_targets(readme, BINDER_LOGO) == [binder_url("notebooks/00_start_here.ipynb")]
    assert badge_targets(readme, COLAB_LOGO) == [colab_url("notebooks/00_start_here.ipynb")]
    assert links(readme, BINDER_LAUNCH) == [binder_url("notebooks/00_start_here.ipynb")]
    assert links(readme, COLAB_OPEN) == [colab_url("notebooks/00_start_here.ipynb")]
