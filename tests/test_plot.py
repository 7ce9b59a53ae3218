"""Tests for diffedu.plot: the figure style and the glue helper."""

import sys

import matplotlib as mpl
import numpy as np
import pytest

import diffedu.plot as dplot


def test_use_style_sets_the_book_palette():
    """use_style puts the book's sequential palette first in the colour cycle."""
    dplot.use_style()
    cycle = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
    assert [c.lower() for c in cycle] == [c.lower() for c in dplot.SEQUENCE]


def test_sequence_colors_endpoints_and_bad_input():
    """sequence_colors runs from the first to the last palette colour; n < 1 is rejected."""
    colors = dplot.sequence_colors(5)
    assert len(colors) == 5
    assert mpl.colors.to_hex(colors[0]) == dplot.SEQUENCE[0]
    assert mpl.colors.to_hex(colors[-1]) == dplot.SEQUENCE[-1]
    with pytest.raises(ValueError, match="n must"):
        dplot.sequence_colors(0)


def test_glue_prints_without_myst_nb(monkeypatch, capsys):
    """Without myst_nb (as on Colab) glue prints name = value, numpy scalars as Python numbers."""
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # makes `import myst_nb` fail
    dplot.glue("answer", np.float64(0.25))
    assert capsys.readouterr().out.strip() == "answer = 0.25"


def test_glue_prints_markdown_as_text_without_myst_nb(monkeypatch, capsys):
    """A Markdown value (for {glue:md}) prints as its text, not as an object's repr."""
    from IPython.display import Markdown

    monkeypatch.setitem(sys.modules, "myst_nb", None)
    dplot.glue("note", Markdown("It ran in **3** s."))
    assert capsys.readouterr().out.strip() == "note = It ran in **3** s."


def test_glue_rejects_empty_name():
    """A glue name must be a non-empty string."""
    with pytest.raises(ValueError, match="name"):
        dplot.glue("", 1.0)
