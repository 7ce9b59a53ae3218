"""The book's page helpers: the figure style, glue for numbers, the run-time note.

One colour convention, a few axis helpers, :func:`glue` for numbers quoted in the prose and
:func:`run_time_note` for the sentence that opens every chapter that trains. matplotlib is
imported here and in notebooks only; the rest of the package never plots.
"""

from __future__ import annotations

import os
import warnings

import matplotlib as mpl
import matplotlib.pyplot as plt
import torch
from matplotlib.font_manager import FontProperties

from ._validation import as_int, check_nonnegative

#: One colour per role, used by every chapter (the true distribution or score, an
#: estimate such as a learned score or a bound, and samples drawn by a sampler).
COLORS = {
    "target": "#1f3b73",
    "estimate": "#d1495b",
    "samples": "#edae49",
    "reference": "#66a182",
    "muted": "#8d8d8d",
}

#: A sequential palette for curves indexed by a parameter (t, m, n_steps, ...).
SEQUENCE = ["#1f3b73", "#2e6f95", "#3f9fa8", "#66a182", "#a7b655", "#edae49", "#d1495b"]

_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "lines.linewidth": 1.6,
    "image.cmap": "viridis",
}


def use_style() -> None:
    """Apply the book's matplotlib style (call once, in a chapter's imports cell)."""
    mpl.rcParams.update(_STYLE)
    mpl.rcParams["axes.prop_cycle"] = mpl.cycler(color=SEQUENCE)


def sequence_colors(n: int) -> list:
    """``n`` colours along the book's sequential palette, for curves indexed by a parameter."""
    n = as_int(n, "n", minimum=1)
    cmap = mpl.colors.LinearSegmentedColormap.from_list("diffedu", SEQUENCE)
    return [cmap(i / max(n - 1, 1)) for i in range(n)]


#: Resolution, in pixels per inch, of the PNG a chapter's figure becomes in the book (the
#: style's ``figure.dpi``; the notebook's inline backend renders at the figure's dpi).
FIGURE_DPI = 110

#: Pixels per inch of CSS, the unit a browser lays pages out in.
CSS_DPI = 96

#: Widest figure image the book shows at its own size, in CSS pixels (the figure column of
#: a chapter page in a 1280-px-wide Chromium window). A wider image is shrunk to it.
COLUMN_PX = 672

#: Pixels that ``bbox_inches="tight"`` adds to a constrained-layout figure's width (its
#: 0.1-inch pads less the layout's own margins, measured on the book's figures).
TIGHT_MARGIN_PX = 12

#: Widest figure, in inches, that the book shows unshrunk (6.0 inches).
COLUMN_WIDTH_IN = round((COLUMN_PX - TIGHT_MARGIN_PX) / FIGURE_DPI, 2)

#: Smallest text a reader should meet in a figure, in points as the browser renders it.
MIN_TEXT_PT = 8.0

#: Smallest font size a chapter passes to matplotlib (``fontsize=8`` for a crowded legend).
SMALLEST_FONT_PT = 8.0


class LegibilityWarning(UserWarning):
    """A figure that the book would shrink until its text is smaller than :data:`MIN_TEXT_PT`."""


def _check_width(width_in) -> float:
    if isinstance(width_in, bool) or not isinstance(width_in, (int, float)) or width_in <= 0:
        raise ValueError(f"width_in must be a positive number of inches; got {width_in!r}")
    return float(width_in)


def rendered_scale(width_in: float) -> float:
    r"""The factor by which the book shrinks a figure ``width_in`` inches wide.

    .. math:: s(w) = \min\Bigl(1, \frac{C}{w D + m}\Bigr)

    for a width of :math:`w` inches, the column :math:`C` = :data:`COLUMN_PX`, the resolution
    :math:`D` = :data:`FIGURE_DPI` and the margin :math:`m` = :data:`TIGHT_MARGIN_PX`: the
    image is :math:`w D + m` pixels wide, and the page shows it at most :math:`C` CSS pixels
    wide.

    Args:
        width_in: The figure's width in inches (``figsize[0]``).

    Returns:
        The scale, in (0, 1]; 1 for a figure of at most :data:`COLUMN_WIDTH_IN` inches.

    Used in: every chapter's figures (the rule is in CONTRIBUTING.md, section Figures).
    """
    width_in = _check_width(width_in)
    return min(1.0, COLUMN_PX / (width_in * FIGURE_DPI + TIGHT_MARGIN_PX))


def rendered_text_pt(size_pt: float, width_in: float) -> float:
    r"""The size, in points on the reader's screen, of ``size_pt``-point text in a figure.

    .. math:: f \cdot \frac{D}{96} \cdot s(w)

    for a font of :math:`f` points, :math:`D` = :data:`FIGURE_DPI`, 96 CSS pixels per inch
    (:data:`CSS_DPI`) and the scale :math:`s(w)` of :func:`.rendered_scale`.

    matplotlib draws a point as ``FIGURE_DPI / 72`` pixels, and the browser shows a CSS point
    as ``CSS_DPI / 72`` pixels, so unshrunk text is ``110 / 96 = 1.15`` times its nominal size.

    Args:
        size_pt: The font size given to matplotlib, in points.
        width_in: The figure's width in inches.

    Returns:
        The rendered size in points (compare with :data:`MIN_TEXT_PT`).

    Used in: :func:`.subplots`, and the browser test of the built book.
    """
    if isinstance(size_pt, bool) or not isinstance(size_pt, (int, float)) or size_pt <= 0:
        raise ValueError(f"size_pt must be a positive number of points; got {size_pt!r}")
    return size_pt * FIGURE_DPI / CSS_DPI * rendered_scale(width_in)


def smallest_font_pt() -> float:
    """The smallest font size, in points, that the current rcParams give figure text.

    Tick labels, axis labels, titles and legends, with relative sizes (``"small"``) resolved
    against ``font.size``, and never more than :data:`SMALLEST_FONT_PT`, the size a chapter may
    still pass to a legend.

    Returns:
        The size in points.

    Used in: :func:`.subplots`.
    """
    keys = (
        "font.size",
        "axes.titlesize",
        "axes.labelsize",
        "xtick.labelsize",
        "ytick.labelsize",
        "legend.fontsize",
    )
    sizes = [FontProperties(size=mpl.rcParams[k]).get_size_in_points() for k in keys]
    return min([SMALLEST_FONT_PT, *sizes])


def subplots(
    ncols: int = 1, nrows: int = 1, width: float | None = None, height: float = 3.0, **kwargs
):
    """``plt.subplots`` with panels sized to the book's column; returns ``(fig, axes)``.

    The figure is ``width * ncols`` by ``height * nrows`` inches, with constrained layout. By
    default the panels share the column: ``width = COLUMN_WIDTH_IN / ncols``, so the book shows
    the figure at its own size. A wider figure is shrunk to the column (:func:`.rendered_scale`);
    when that would make the smallest text (:func:`.smallest_font_pt`) render below
    :data:`MIN_TEXT_PT` points, a :class:`LegibilityWarning` says so: use fewer columns per row
    (``nrows=2``), or narrower panels.

    Args:
        ncols: Panels per row.
        nrows: Rows of panels.
        width: Width of one panel in inches; ``None`` shares :data:`COLUMN_WIDTH_IN`.
        height: Height of one panel in inches.
        **kwargs: Passed on to ``plt.subplots`` (``sharey``, ``gridspec_kw``, ...).

    Returns:
        The figure and its axes, as ``plt.subplots`` returns them.

    Raises:
        ValueError: If ``ncols`` or ``nrows`` is not a positive integer, or ``width`` or
            ``height`` not a positive number.

    Used in: every chapter's figures (the rule is in CONTRIBUTING.md, section Figures).
    """
    for name, value in (("ncols", ncols), ("nrows", nrows)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    if width is None:
        width = COLUMN_WIDTH_IN / ncols
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{name} must be a positive number of inches; got {value!r}")
    fig_width = width * ncols
    smallest = smallest_font_pt()
    shown = rendered_text_pt(smallest, fig_width)
    if shown < MIN_TEXT_PT:
        warnings.warn(
            f"a figure {fig_width:.2f} in wide is shrunk to the book's column "
            f"({COLUMN_WIDTH_IN} in) by {rendered_scale(fig_width):.2f}, so its "
            f"{smallest:g}-pt text shows at {shown:.1f} pt (< {MIN_TEXT_PT:g} pt): "
            f"use narrower panels or nrows=2",
            LegibilityWarning,
            stacklevel=2,
        )
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=(fig_width, height * nrows), **kwargs)


def subplots_two_and_one(wide: str = "bottom", height: float = 3.0):
    """Three panels in the column: two side by side, and one as wide as both below or above.

    A layout for a figure whose third panel needs the room of a whole row (a curve against
    time beside two snapshots): :func:`.subplots` with two rows of two panels, where the
    ``wide`` row is one panel spanning the column. The figure is
    :data:`COLUMN_WIDTH_IN` wide, so nothing in it is shrunk.

    Args:
        wide: ``"bottom"`` (two panels, then the wide one) or ``"top"`` (the wide one first).
        height: Height of each row in inches.

    Returns:
        ``(fig, (ax_a, ax_b, ax_c))``, the panels in reading order: left to right, top to
        bottom.

    Raises:
        ValueError: If ``wide`` is neither ``"bottom"`` nor ``"top"``, or ``height`` is not a
            positive number.

    Used in: chapter 1, "A target with a closed-form score"; chapter 2, "Tweedie's formula";
    chapter 3, "Figure 1 of the paper"; chapter 4, "An experiment: scores that are terrible
    in L^2".
    """
    if wide not in ("bottom", "top"):
        raise ValueError(f'wide must be "bottom" or "top"; got {wide!r}')
    fig, axes = subplots(ncols=2, nrows=2, height=height)
    row = 1 if wide == "bottom" else 0
    grid = axes[row, 0].get_gridspec()
    for ax in axes[row]:
        ax.remove()
    spanning = fig.add_subplot(grid[row, :])
    if wide == "bottom":
        return fig, (axes[0, 0], axes[0, 1], spanning)
    return fig, (spanning, axes[1, 0], axes[1, 1])


def square_limits(ax, lim: float) -> None:
    """Fixed, equal limits and equal aspect for a 2-D scatter or field plot."""
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")


def glue(name: str, value, display: bool = False):
    """Store a computed number for the book's prose (``{glue:text}`name:.3f```).

    Inside the book build this is ``myst_nb.glue``; elsewhere (Colab, a plain Jupyter kernel)
    it prints ``name = value`` so a reader still sees the number the text quotes. NumPy
    scalars are turned into Python numbers, which ``{glue:text}`` formats reliably.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string; got {name!r}")
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        shown = value._repr_markdown_() if hasattr(value, "_repr_markdown_") else value
        print(f"{name} = {shown}")
        return None
    return myst_glue(name, value, display=display)


def run_time_note(seconds, device) -> str:
    """A sentence for a chapter's opening note: how long it ran, and on what hardware.

    Args:
        seconds: the chapter's wall-clock run time, a finite number ``>= 0``.
        device: the device the chapter computed on (``torch.device`` or a string such as
            ``"cpu"`` or ``"cuda"``).

    Returns:
        For example "When this page was built, the chapter ran in 31 s from its imports to its
        last cell, on a CPU with 2 cores, using 1 torch thread."

    Used in: the opening note of every chapter that trains, through ``{glue:md}``.
    """
    seconds = check_nonnegative(seconds, "seconds")
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a torch.device or a string; got {type(device).__name__}")
    device = torch.device(device)
    if device.type == "cuda":
        where = f"a {torch.cuda.get_device_name(device)} GPU"
    else:
        threads = torch.get_num_threads()
        cores = os.cpu_count() or 1
        where = (
            f"a CPU with {cores} core{'s' * (cores != 1)}, "
            f"using {threads} torch thread{'s' * (threads != 1)}"
        )
    return (
        f"When this page was built, the chapter ran in {seconds:.0f} s from its imports to its "
        f"last cell, on {where}."
    )
