"""Tests for book/_ext/latex_exercises.py: references to an exercise on another page, in LaTeX."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

EXT = Path(__file__).resolve().parents[1] / "book" / "_ext"

PAGES = {
    "index.rst": "Book\n====\n\n.. toctree::\n\n   a\n   b\n",
    "a.rst": (
        "Page A\n======\n\n.. exercise:: First\n   :label: ex-a\n\n   Do it.\n\n"
        "Same page: :numref:`ex-a`.\n"
    ),
    "b.rst": (
        "Page B\n======\n\nSee :numref:`ex-a` and :ref:`the first <ex-a>`.\n\n"
        ".. exercise:: Where does :math:`\\sigma_t` cancel?\n   :label: ex-b\n\n   Find it.\n\n"
        ".. solution:: ex-b\n\n   Here.\n"
    ),
}


def _latex(tmp_path: Path, extensions: list[str]) -> str:
    """Build the three pages with Sphinx's LaTeX builder and return the .tex file."""
    from sphinx.application import Sphinx

    src = tmp_path / "src"
    src.mkdir()
    for name, text in PAGES.items():
        (src / name).write_text(text)
    conf = f"extensions = {extensions!r}\nnumfig = True\nproject = 'x'\n"
    (src / "conf.py").write_text(conf)
    sys.path.insert(0, str(EXT))
    try:
        app = Sphinx(
            str(src),
            str(src),
            str(tmp_path / "out"),
            str(tmp_path / "doctrees"),
            "latex",
            status=None,
            warning=None,
            freshenv=True,
        )
        app.build()
    finally:
        sys.path.remove(str(EXT))
    (tex,) = (tmp_path / "out").glob("*.tex")
    return tex.read_text()


def test_cross_page_reference_points_at_the_exercise_label(tmp_path):
    """From page B, :numref: and :ref: to an exercise on page A link exercise:ex-a."""
    tex = _latex(tmp_path, ["sphinx_exercise", "latex_exercises"])
    assert r"\label{exercise:ex-a}" in tex
    assert r"\hyperref[exercise:ex-a]{Exercise 1}" in tex  # same page (sphinx-exercise)
    assert r"\hyperref[exercise:ex-a]{\DUrole{std,std-numref}{Exercise 1}}" in tex  # page B
    assert r"\hyperref[exercise:ex-a]{\DUrole{std,std-ref}{the first}}" in tex
    assert r"\detokenize{a:ex-a}" not in tex  # the label nothing defines


def test_math_in_a_linked_exercise_title_stays_math(tmp_path):
    """A solution's title links its exercise, and the title's math is typeset as math."""
    tex = _latex(tmp_path, ["sphinx_exercise", "latex_exercises"])
    titles = [line for line in tex.splitlines() if "Solution to" in line]
    assert titles, "no solution title in the LaTeX"
    # In math mode (Sphinx protects the delimiters in a title), never bare text.
    assert all(r"\(\sigma_t\protect\)" in line for line in titles), titles


def test_without_the_extension_the_reference_is_dangling(tmp_path):
    """Control: sphinx-exercise alone leaves page B's reference on a label nothing defines."""
    pytest.importorskip("sphinx_exercise")
    tex = _latex(tmp_path, ["sphinx_exercise"])
    assert r"\detokenize{a:ex-a}" in tex
