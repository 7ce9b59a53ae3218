"""The book's page helpers: the figure style, glue for numbers, the run-time note.

One colour convention, a few axis helpers, :func:`glue` for numbers quoted in the prose and
:func:`run_time_note` for the sentence that opens every chapter that trains. matplotlib is
imported here and in notebooks only; the rest of the package never plots.
"""

from __future__ import annotations

import os

import matplotlib as mpl
import matplotlib.pyplot as plt
import torch

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


def subplots(ncols: int = 1, nrows: int = 1, width: float = 3.4, height: float = 3.0, **kwargs):
    """``plt.subplots`` sized per panel, with constrained layout; returns ``(fig, axes)``."""
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), **kwargs)


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
