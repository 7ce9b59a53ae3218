"""The student edition: the chapters with every solution removed and the self-checks kept.

Run as ``python -m diffedu.student book/ student/``. Each notebook of the source folder is
written to the target folder with every solution removed: one-block ``{solution}`` directives
(the answers to derivations) and the content between ``{solution-start}`` and
``{solution-end}`` (prose and code). Where a solution defined a function that a
self-check from :mod:`diffedu.checks` tests, the student gets the function's signature with
an empty body and the same self-check call, which prints a hint until the exercise is done.
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import re
from dataclasses import dataclass, field

import nbformat

_START = re.compile(r"^(`{3,}|:{3,})\{solution-start\}.*$", re.MULTILINE)
_END = re.compile(r"^(`{3,}|:{3,})\{solution-end\}[^\n]*\n(`{3,}|:{3,})[ \t]*$", re.MULTILINE)
# A one-block {solution} directive: from its opening fence to the first line that is the same
# fence alone (inner code fences are shorter, as MyST requires).
_ONE_BLOCK = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{solution\}.*?^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL
)
_REMOVED = "*The solution is removed in the student edition; write yours in the cell below.*"
_REMOVED_TEXT = "*The solution is removed in the student edition.*"


def _stub(code: str) -> str | None:
    """Signatures of the solution's top-level functions with empty bodies, plus its checks."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    lines = code.splitlines()
    stubs = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            header = "\n".join(lines[node.lineno - 1 : node.body[0].lineno - 1])
            stubs.append(f"{header}\n    # Your code here.\n    raise NotImplementedError")
    checks = [ast.get_source_segment(code, node) for node in tree.body if _is_check_call(node)]
    if not stubs and not checks:
        return None
    return "\n\n\n".join(stubs) + ("\n\n\n" + "\n".join(checks) if checks else "")


def _is_check_call(node: ast.stmt) -> bool:
    """``check_x(f)`` or ``name = check_x(f)``, with the check from diffedu.checks."""
    call = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
    if not isinstance(call, ast.Call):
        return False
    name = ast.unparse(call.func)
    return name.startswith(("diffedu.checks.check_", "checks.check_", "check_"))


@dataclass
class _Reading:
    """Where the reader is in a notebook: inside a gated solution or not, and what it removed."""

    inside: bool = False  # between {solution-start} and {solution-end}
    removed: int = 0  # solutions removed so far
    code: list = field(default_factory=list)  # code cells of the gated solution being read
    names: set = field(default_factory=set)  # names that removed solution code defined


def strip_solutions(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, int]:
    """Return a copy of ``nb`` without solutions, and the number of solutions removed.

    A markdown cell may hold several directives (an exercise, a whole gated solution, the next
    exercise and the start of its solution), so each cell is read as a stream: text outside a
    gated solution is kept, with its one-block solutions replaced by a note; text and code cells
    inside are dropped, and each closed gated solution leaves a note and a stub cell.
    """
    out = nbformat.v4.new_notebook(metadata=nb.metadata)
    reading = _Reading()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            out.cells.extend(_strip_markdown(cell, reading))
        elif not reading.inside:
            out.cells.append(cell)
        elif cell.cell_type == "code":
            reading.code.append(cell.source)
            reading.names |= _defined_names(cell.source)
    if reading.inside:
        raise ValueError("a {solution-start} directive has no matching {solution-end}")
    out.cells = _without_solution_asserts(out.cells, reading.names)
    return out, reading.removed


def _strip_markdown(cell, reading: _Reading) -> list:
    """The cells that replace one markdown cell: itself if untouched, else its kept pieces."""
    pieces = _markdown_pieces(cell.source, reading)
    if pieces == [cell.source]:
        return [cell]  # untouched: keep the cell as it is (id, metadata)
    cells = []
    for piece in pieces:
        if not isinstance(piece, str):
            cells.append(piece)
        elif piece.strip():
            cells.append(nbformat.v4.new_markdown_cell(piece.strip()))
    return cells


def _markdown_pieces(text: str, reading: _Reading) -> list:
    """Read one markdown cell as a stream: the text kept (str) and stub cells, in order."""
    pieces = []
    while True:
        if reading.inside:
            end = _END.search(text)
            if end is None:
                return pieces  # the whole rest of the cell is solution
            pieces += _close_solution(reading)
            text = text[end.end() :]
        start = _START.search(text)
        outside = text if start is None else text[: start.start()]
        kept, n = _ONE_BLOCK.subn(_REMOVED_TEXT, outside)
        reading.removed += n
        pieces.append(kept)
        if start is None:
            return pieces
        reading.inside, reading.code = True, []
        text = text[start.end() :]


def _close_solution(reading: _Reading) -> list:
    """At {solution-end}: a note, and a code cell of stubs and checks if the solution had code."""
    reading.inside, reading.removed = False, reading.removed + 1
    if not reading.code:
        return [_REMOVED_TEXT]
    stubs = [s for s in (_stub(code) for code in reading.code) if s]
    return [_REMOVED, nbformat.v4.new_code_cell("\n\n\n".join(stubs))]


def _without_solution_asserts(cells: list, names: set) -> list:
    """Drop hidden build assertions, after the first exercise, that test what a solution made."""
    first = next((i for i, c in enumerate(cells) if c.source == _REMOVED), len(cells))
    return cells[:first] + [c for c in cells[first:] if not _asserts_on(c, names)]


def _defined_names(code: str) -> set[str]:
    """Names a solution cell defines at top level (functions and assigned variables)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def _asserts_on(cell, names: set[str]) -> bool:
    """A hidden build assertion (tag ``remove-cell``) about what a removed solution computed."""
    if cell.cell_type != "code" or "remove-cell" not in cell.metadata.get("tags", []):
        return False
    return any(re.search(rf"\b{re.escape(name)}\b", cell.source) for name in names)


def make_student_edition(source_dir, target_dir) -> list[pathlib.Path]:
    """Write the student edition of every notebook in ``source_dir`` to ``target_dir``."""
    source_dir, target_dir = pathlib.Path(source_dir), pathlib.Path(target_dir)
    if not source_dir.is_dir():
        raise ValueError(f"source_dir must be a folder of notebooks; got {str(source_dir)!r}")
    notebooks = sorted(source_dir.glob("*.ipynb"))
    if not notebooks:
        raise ValueError(f"source_dir holds no .ipynb files: {str(source_dir)!r}")
    if target_dir.resolve() == source_dir.resolve():
        raise ValueError(
            "target_dir must differ from source_dir (the student edition would overwrite the "
            f"chapters and their solutions); got {str(target_dir)!r} for both"
        )
    target_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        student, removed = strip_solutions(nbformat.read(path, as_version=4))
        nbformat.write(student, target_dir / path.name)
        print(f"{path.name}: {removed} solutions removed")
        written.append(target_dir / path.name)
    return written


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m diffedu.student", description=__doc__)
    parser.add_argument("source_dir", help="folder of chapter notebooks, e.g. book/")
    parser.add_argument("target_dir", help="where to write the student edition, e.g. student/")
    args = parser.parse_args(argv)
    try:
        make_student_edition(args.source_dir, args.target_dir)
    except ValueError as err:
        parser.error(str(err))  # a usage message and exit status 2, not a traceback


if __name__ == "__main__":
    main()
