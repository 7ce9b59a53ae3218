"""Tests for tests/notebook_cells.py: the rule that says which code cells fold."""

import nbformat
import notebook_cells as nc
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

INSTALL = "import importlib.util\nif importlib.util.find_spec('diffedu') is None:\n    pass\n"
FIGURE = "fig, ax = diffedu.plot.subplots()\nax.plot(x, y)\nplt.show()\n"


def _kinds(*sources, tags=None):
    """The kinds classify() gives code cells with these sources (after an install cell)."""
    tags = tags or {}
    cells = [new_markdown_cell("# Title"), new_code_cell(INSTALL)]
    for i, src in enumerate(sources):
        cells.append(new_code_cell(src, metadata={"tags": tags.get(i, [])}))
    return [c.kind for c in nc.classify(new_notebook(cells=cells))][1:]


def test_install_cell_is_first_code_cell():
    """The first code cell is the install cell, whatever it holds."""
    nb = new_notebook(cells=[new_markdown_cell("# T"), new_code_cell(FIGURE)])
    assert [c.kind for c in nc.classify(nb)] == ["install"]


def test_pure_figure_cell_folds_and_plain_code_does_not():
    """A cell that only draws is a figure; a cell that draws nothing is an experiment."""
    assert _kinds(FIGURE, "x = torch.linspace(0, 1, 5)\ny = x**2\n") == ["figure", "experiment"]


@pytest.mark.parametrize(
    "draw",
    [
        "plt.show()",
        "fig = plt.figure()",
        "fig, axes = plt.subplots(1, 2)",
        "fig, axes = diffedu.plot.subplots(ncols=2)",
        "fig, axd = plt.subplot_mosaic('AB')",
    ],
)
def test_each_way_of_drawing_counts(draw):
    """show, figure, subplots (pyplot's or the book's) and subplot_mosaic all draw."""
    assert _kinds(draw) == ["figure"]


def test_captioned_figure_metadata_counts_as_drawing():
    """A cell with mystnb.figure metadata draws even if it ends with a bare `fig`."""
    cells = [new_code_cell(INSTALL), new_code_cell("fig", metadata={"mystnb": {"figure": {}}})]
    cells[1].metadata["mystnb"]["figure"] = {"caption": "c", "name": "fig-x"}
    assert [c.kind for c in nc.classify(new_notebook(cells=cells))][1:] == ["figure"]


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("glue('key', 1.0)", "calls glue()"),
        ("print(x)", "calls print()"),
        ("assert x is not None", "assert"),
        ("def helper():\n    return 1", "defines helper"),
        ("import numpy", "import"),
        ("z = q.sample(10, generator=gen)", "generator="),
        ("z = torch.randn(10)", "torch.randn"),
        ("z = np.random.default_rng(0).normal(size=3)", "random numbers"),
    ],
)
def test_drawing_plus_side_effect_is_mixed(extra, reason):
    """Glue, print, assert, def, import or a random draw next to a figure make it mixed."""
    nb = new_notebook(cells=[new_code_cell(INSTALL), new_code_cell(extra + "\n" + FIGURE)])
    (cell,) = nc.classify(nb)[1:]
    assert cell.kind == "mixed"
    assert any(reason in r for r in cell.reasons), cell.reasons


def test_name_read_by_a_later_cell_makes_it_mixed():
    """A figure cell that binds a name a later visible cell reads is mixed, and says so."""
    nb = new_notebook(
        cells=[
            new_code_cell(INSTALL),
            new_code_cell("grid = torch.linspace(0, 1, 9)\n" + FIGURE),
            new_code_cell("total = grid.sum()"),
        ]
    )
    cell = nc.classify(nb)[1]
    assert cell.kind == "mixed"
    assert cell.reasons == ["binds grid, read by cell 2"]


def test_later_cell_that_rebinds_the_name_first_does_not_count():
    """Reusing a plotting name (ax, t, grid) after binding it anew is no dependence."""
    assert _kinds("grid = 1.0\n" + FIGURE, "grid = 2.0\nprint(grid)\n") == [
        "figure",
        "experiment",
    ]


def test_hidden_reader_does_not_count():
    """A remove-cell assertion may read a figure's data; the figure still folds."""
    kinds = _kinds("curve = x**2\n" + FIGURE, "assert curve.min() >= 0", tags={1: ["remove-cell"]})
    assert kinds == ["figure", "hidden"]


def test_loop_and_comprehension_variables():
    """Loop variables reach the namespace, comprehension variables do not."""
    src = "for ax, t in zip(axes, ts):\n    ax.plot([v * t for v in x])\nplt.show()\n"
    assert _kinds(src, "print(v)") == ["figure", "experiment"]
    assert _kinds(src, "print(t)")[0] == "mixed"


def test_function_body_reads_are_inputs():
    """A later function that reads a figure cell's name as a global depends on it."""
    assert _kinds("scale = 2.0\n" + FIGURE, "def f(x):\n    return scale * x\n")[0] == "mixed"
    assert _kinds("scale = 2.0\n" + FIGURE, "def f(scale):\n    return scale\n")[0] == "figure"


def test_magics_are_translated():
    """IPython magics do not break the parser, and `%matplotlib inline` alone does not draw."""
    assert _kinds("%matplotlib inline\n" + FIGURE) == ["figure"]
    assert _kinds("%time y = x + 1") == ["experiment"]


def test_apply_tags_folds_figures_and_opens_experiments(tmp_path):
    """--apply adds hide-input where the rule says, removes it from experiments, keeps ids."""
    cells = [
        new_code_cell(INSTALL, metadata={"tags": ["hide-output"]}),
        new_code_cell(FIGURE),
        new_code_cell("y = x + 1", metadata={"tags": ["hide-input"]}),
    ]
    path = tmp_path / "nb.ipynb"
    nb = new_notebook(cells=cells)
    ids = [c.id for c in nb.cells]
    nbformat.write(nb, path)
    result = nc.apply_tags(path)
    written = nbformat.read(path, as_version=4)
    assert [c.id for c in written.cells] == ids
    assert [c.metadata.get("tags", []) for c in written.cells] == [
        ["hide-output", "hide-input"],
        ["hide-input"],
        [],
    ]
    assert [c.folded for c in result] == [True, True, False]


def test_today_notebooks_classify_without_error():
    """Every notebook of the book parses, and each has an install cell and at least one figure."""
    from test_notebooks import NOTEBOOKS

    for path in NOTEBOOKS:
        kinds = [c.kind for c in nc.classify(nbformat.read(path, as_version=4))]
        assert kinds[0] == "install", path
        assert {"figure", "mixed"} & set(kinds), path
