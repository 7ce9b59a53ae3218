"""Tests for diffedu.plot: the figure style, the glue helper and the run-time note."""

import sys

import matplotlib as mpl
import numpy as np
import pytest
import torch

import diffedu
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


def test_run_time_note_on_cpu(monkeypatch):
    """On the CPU the note gives the rounded seconds, the core count and the thread count."""
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    note = diffedu.run_time_note(30.6, "cpu")
    assert note == (
        "When this page was built, the chapter ran in 31 s from its imports to its last cell, "
        "on a CPU with 2 cores, using 1 torch thread."
    )


def test_run_time_note_names_the_gpu(monkeypatch):
    """On CUDA the note names the card."""
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H100")
    note = diffedu.run_time_note(torch.tensor(4.2), torch.device("cuda"))
    assert note.endswith("ran in 4 s from its imports to its last cell, on a NVIDIA H100 GPU.")


@pytest.mark.parametrize(
    ("seconds", "device", "error", "match"),
    [
        (-1.0, "cpu", ValueError, "seconds must be >= 0"),
        (float("nan"), "cpu", ValueError, "seconds must be finite"),
        ("10", "cpu", TypeError, "seconds must be a real number"),
        (10.0, 0, TypeError, "device must be a torch.device or a string; got int"),
    ],
)
def test_run_time_note_rejects_bad_input(seconds, device, error, match):
    """Negative, non-finite or non-numeric seconds and a non-device are rejected by name."""
    with pytest.raises(error, match=match):
        diffedu.run_time_note(seconds, device)
