"""Tests for diffedu.student: the student edition keeps the self-checks and drops every solution."""

import collections
import pathlib
import re

import nbclient
import nbformat
import pytest

from diffedu.student import make_student_edition, strip_solutions

BOOK = pathlib.Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
CHECK_CALL = re.compile(r"checks\.check_\w+\(")


def _solution_cells(nb):
    """Code cells that lie between a {solution-start} and its {solution-end}."""
    inside, cells = False, []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "{solution-start}" in cell.source:
            inside = True
        if inside and cell.cell_type == "code":
            cells.append(cell)
        if cell.cell_type == "markdown" and "{solution-end}" in cell.source:
            inside = False
    return cells


def _solution_lines(cell) -> list[str]:
    """The lines of a solution that carry its answer (not signatures, comments or checks)."""
    keep = []
    for line in cell.source.splitlines():
        text = line.strip()
        if not text or text.startswith(("def ", "#")) or CHECK_CALL.search(text):
            continue
        keep.append(text)
    return keep


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    make_student_edition(BOOK, out)
    return out


def _line_counts(cells) -> collections.Counter:
    return collections.Counter(line.strip() for c in cells for line in c.source.splitlines())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_solution_survives_and_checks_are_kept(path, student_dir):
    """No solution line is left in the student notebook (beyond copies outside solutions);
    every self-check call is kept."""
    book_nb = nbformat.read(path, as_version=4)
    student_nb = nbformat.read(student_dir / path.name, as_version=4)
    student_text = "\n".join(cell.source for cell in student_nb.cells)
    assert "{solution-start}" not in student_text and "{solution-end}" not in student_text
    solutions = _solution_cells(book_nb)
    outside = _line_counts(c for c in book_nb.cells if c.cell_type == "code" and c not in solutions)
    student = _line_counts(c for c in student_nb.cells if c.cell_type == "code")
    for cell in solutions:
        for line in _solution_lines(cell):
            assert student[line] <= outside[line], f"{path.name}: solution line survived: {line!r}"
        for call in CHECK_CALL.findall(cell.source):
            assert call in student_text, f"{path.name}: self-check {call!r} was dropped"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_student_notebook_executes_up_to_each_exercise(path, student_dir):
    """The student notebook runs to the end; each self-check reports 'not yet', never raises."""
    nb = nbformat.read(student_dir / path.name, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, resources={"metadata": {"path": str(student_dir)}}
    )
    client.execute()
    printed = "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
    n_checks = sum(len(CHECK_CALL.findall(c.source)) for c in nb.cells if c.cell_type == "code")
    assert printed.count("[not yet]") >= n_checks


def test_unmatched_solution_start_is_an_error():
    """A {solution-start} with no {solution-end} is reported, not silently truncated."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("```{solution-start} ex-x\n:class: dropdown\n```")]
    with pytest.raises(ValueError, match="solution-end"):
        strip_solutions(nb)


def test_source_dir_must_hold_notebooks(tmp_path):
    """An empty or missing source folder raises a clear error naming source_dir."""
    with pytest.raises(ValueError, match="source_dir"):
        make_student_edition(tmp_path, tmp_path / "out")
    with pytest.raises(ValueError, match="source_dir"):
        make_student_edition(tmp_path / "missing", tmp_path / "out")
