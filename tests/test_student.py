"""Tests for diffedu.student: the student edition keeps the self-checks and drops every solution."""

import collections
import pathlib
import re

import nbclient
import nbformat
import pytest

from diffedu.student import main, make_student_edition, strip_solutions

BOOK = pathlib.Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
CHECK_CALL = re.compile(r"checks\.check_\w+\(")


def _solution_cells(nb):
    """Code cells that lie between a {solution-start} and its {solution-end}.

    A markdown cell may close one gated solution and open the next, so the state after a cell
    is set by the last of the two directives in it.
    """
    inside, cells = False, []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            start, end = cell.source.rfind("{solution-start}"), cell.source.rfind("{solution-end}")
            if start >= 0 or end >= 0:
                inside = start > end
        elif inside and cell.cell_type == "code":
            cells.append(cell)
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
    assert "{solution" not in student_text, f"{path.name}: a solution directive survived"
    book_text = "\n".join(cell.source for cell in book_nb.cells)
    # Every exercise statement is kept, in order.
    labels = re.findall(r"\{exercise\}[^\n]*\n:label: (\S+)", book_text)
    assert labels and re.findall(r"\{exercise\}[^\n]*\n:label: (\S+)", student_text) == labels
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


def test_every_kind_of_solution_is_counted(student_dir):
    """The count strip_solutions reports is the number of solution directives in the source."""
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        expected = len(re.findall(r"\{solution(?:-start)?\}", text))
        assert strip_solutions(nb)[1] == expected, path.name


def test_cell_with_two_exercises_and_their_solutions():
    """One markdown cell that closes a solution and opens the next exercise and its solution:
    both statements stay, both answers go, and the code answer leaves a stub and its check."""
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        md(
            "````{exercise} A\n:label: ex-a\n\nSTATEMENT_A\n````\n\n"
            "```{solution-start} ex-a\n:class: dropdown\n```\n\nANSWER_A\n\n"
            "```{solution-end}\n```\n\n"
            "````{exercise} B\n:label: ex-b\n\nSTATEMENT_B\n````\n\n"
            "```{solution-start} ex-b\n:class: dropdown\n```\n\nANSWER_B"
        ),
        code("def f(x):\n    return x + 1  # ANSWER_CODE\n\n\nok = diffedu.checks.check_f(f)"),
        md("```{solution-end}\n```\n\nAFTER\n\n````{solution} ex-b\nANSWER_C\n````"),
    ]
    student, removed = strip_solutions(nb)
    text = "\n".join(c.source for c in student.cells)
    assert removed == 3
    for kept in ("STATEMENT_A", "STATEMENT_B", "AFTER", "def f(x):", "checks.check_f(f)"):
        assert kept in text
    for gone in ("ANSWER_A", "ANSWER_B", "ANSWER_CODE", "ANSWER_C", "{solution"):
        assert gone not in text
    assert text.index("STATEMENT_B") < text.index("def f(x):") < text.index("AFTER")


def test_unmatched_solution_start_is_an_error():
    """A {solution-start} with no {solution-end} is reported, not silently truncated."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("```{solution-start} ex-x\n:class: dropdown\n```")]
    with pytest.raises(ValueError, match="solution-end"):
        strip_solutions(nb)


def test_target_must_not_be_the_source(tmp_path):
    """Writing the student edition over the chapters is refused, and nothing is written."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("```{solution} ex-x\nANSWER\n```")]
    nbformat.write(nb, tmp_path / "01_x.ipynb")
    with pytest.raises(ValueError, match="target_dir must differ from source_dir"):
        make_student_edition(tmp_path, tmp_path / ".")
    assert "ANSWER" in (tmp_path / "01_x.ipynb").read_text()


def test_command_line_reports_bad_input_without_a_traceback(tmp_path, capsys):
    """The command prints a usage error naming the argument and exits with status 2."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "missing"), str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert "source_dir must be a folder of notebooks" in capsys.readouterr().err


def test_source_dir_must_hold_notebooks(tmp_path):
    """An empty or missing source folder raises a clear error naming source_dir."""
    with pytest.raises(ValueError, match="source_dir"):
        make_student_edition(tmp_path, tmp_path / "out")
    with pytest.raises(ValueError, match="source_dir"):
        make_student_edition(tmp_path / "missing", tmp_path / "out")
