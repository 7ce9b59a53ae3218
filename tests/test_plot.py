"""Tests for diffedu.plot: the figure style, the glue helper and the run-time note."""

import sys

import matplotlib as mpl
import matplotlib.pyplot as plt
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


# --- Legible figures (issue 13): sizes against the book's column ---------------------------


def _png_width(fig) -> int:
    """Pixel width of the PNG the notebook's inline backend makes of ``fig``."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight")
    return Image.open(io.BytesIO(buffer.getvalue())).size[0]


@pytest.mark.filterwarnings("ignore::diffedu.plot.LegibilityWarning")
@pytest.mark.parametrize(("ncols", "width"), [(1, 4.6), (2, 3.6), (3, 3.4), (3, None)])
def test_rendered_scale_matches_the_png_matplotlib_makes(ncols, width):
    """The image width that rendered_scale assumes is the inline PNG's, within 4 pixels."""
    import matplotlib.pyplot as plt

    dplot.use_style()
    fig, axes = dplot.subplots(ncols=ncols, width=width) if width else dplot.subplots(ncols)
    for ax in np.atleast_1d(axes):
        ax.plot([0, 1], [0, 1], label="a curve")
        ax.set(xlabel="$x$", ylabel="$y$", title="a title")
        ax.legend()
    fig_width = fig.get_size_inches()[0]
    expected_px = dplot.COLUMN_PX / dplot.rendered_scale(fig_width) if fig_width > 6 else None
    png = _png_width(fig)
    plt.close(fig)
    assert abs(png - (fig_width * dplot.FIGURE_DPI + dplot.TIGHT_MARGIN_PX)) <= 4
    if expected_px is not None:  # shrunk: the scale is the column over the PNG's width
        assert abs(expected_px - png) <= 4


def test_column_width_is_the_widest_unshrunk_figure():
    """A figure COLUMN_WIDTH_IN wide is shown at scale 1; 5% wider, it is shrunk by ~5%."""
    assert dplot.rendered_scale(dplot.COLUMN_WIDTH_IN) == 1.0
    assert dplot.rendered_scale(0.5) == 1.0
    wider = dplot.rendered_scale(1.05 * dplot.COLUMN_WIDTH_IN)
    assert 0.94 < wider < 0.96


def test_rendered_text_pt_is_nominal_times_dpi_ratio_times_scale():
    """Unshrunk text shows 110/96 times its size; shrunk text loses the scale as well."""
    assert dplot.rendered_text_pt(8, 4.0) == pytest.approx(8 * 110 / 96)
    shrunk = dplot.rendered_text_pt(10, 10.2)
    assert shrunk == pytest.approx(10 * 110 / 96 * 672 / (10.2 * 110 + 12))
    with pytest.raises(ValueError, match="size_pt"):
        dplot.rendered_text_pt(0, 4.0)
    with pytest.raises(ValueError, match="width_in"):
        dplot.rendered_scale(-1.0)


def test_smallest_font_resolves_relative_sizes():
    """Relative rcParams sizes are resolved against font.size; 8 pt caps the answer."""
    dplot.use_style()
    assert dplot.smallest_font_pt() == dplot.SMALLEST_FONT_PT
    with mpl.rc_context({"font.size": 10, "legend.fontsize": "x-small"}):
        assert dplot.smallest_font_pt() == pytest.approx(10 * 0.694, abs=0.01)


def test_subplots_share_the_column_by_default():
    """Without a width, ncols panels share COLUMN_WIDTH_IN; rows stack at the given height."""
    import matplotlib.pyplot as plt

    dplot.use_style()
    fig, axes = dplot.subplots(ncols=3, nrows=2, height=2.5)
    size = fig.get_size_inches()
    plt.close(fig)
    assert axes.shape == (2, 3)
    assert size == pytest.approx([dplot.COLUMN_WIDTH_IN, 5.0])


def test_subplots_warn_when_text_would_shrink_below_8pt():
    """Three 3.4-inch panels (the old layout) warn; panels that fit the column do not."""
    import warnings

    import matplotlib.pyplot as plt

    dplot.use_style()
    with pytest.warns(dplot.LegibilityWarning, match="nrows=2"):
        fig, _ = dplot.subplots(ncols=3, width=3.4)
    plt.close(fig)
    with warnings.catch_warnings():
        warnings.simplefilter("error", dplot.LegibilityWarning)
        for kwargs in ({"ncols": 3}, {"ncols": 2, "width": 3.4}, {"width": 4.6}):
            fig, _ = dplot.subplots(**kwargs)
            plt.close(fig)


def test_subplots_keep_the_old_call_signature():
    """Existing calls (ncols, width, height, plt.subplots keywords) work as before."""
    import matplotlib.pyplot as plt

    fig, axes = dplot.subplots(
        ncols=2, width=2.9, height=3.2, sharey=True, gridspec_kw={"width_ratios": [2.2, 1]}
    )
    size = fig.get_size_inches()
    plt.close(fig)
    assert len(axes) == 2 and size == pytest.approx([5.8, 3.2])
    for bad in ({"ncols": 0}, {"nrows": 1.5}, {"width": 0.0}, {"height": -1}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            dplot.subplots(**bad)


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


@pytest.mark.parametrize("wide", ["bottom", "top"])
def test_two_and_one_spans_the_row_of_the_two_panels(wide):
    """The wide panel reaches from the left edge of one small panel to the right edge of the
    other, in its own row; the panels come in reading order; the figure fills the column."""
    fig, (a, b, c) = dplot.subplots_two_and_one(wide=wide, height=2.5)
    fig.canvas.draw()
    try:
        boxes = [ax.get_position() for ax in (a, b, c)]
        assert len(fig.axes) == 3
        assert fig.get_figwidth() == pytest.approx(dplot.COLUMN_WIDTH_IN)
        assert fig.get_figheight() == pytest.approx(5.0)
        small = boxes[:2] if wide == "bottom" else boxes[1:]
        spanning = boxes[2] if wide == "bottom" else boxes[0]
        left, right = small
        assert left.x1 < right.x0  # side by side, left first
        assert left.y0 == pytest.approx(right.y0)
        assert spanning.x0 == pytest.approx(left.x0, abs=0.02)
        assert spanning.x1 == pytest.approx(right.x1, abs=0.02)
        if wide == "bottom":
            assert spanning.y1 < left.y0
        else:
            assert spanning.y0 > left.y1
    finally:
        plt.close(fig)


@pytest.mark.parametrize("bad", [dict(wide="left"), dict(height=0.0), dict(height="2")])
def test_two_and_one_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="wide|height"):
        dplot.subplots_two_and_one(**bad)
