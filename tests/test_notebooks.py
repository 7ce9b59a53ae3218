"""Tests for the book's notebooks as files: stored clean, valid, installable, and in the TOC.

Executing the notebooks is nbval's job (``pytest --nbval-lax book/``); these tests only read
them, so they run in milliseconds and hold while chapters are still being written: each
per-notebook test is parametrized over the notebooks that exist now.
"""

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
TOC = ROOT / "_toc.yml"
CONFIG = ROOT / "_config.yml"


def _notebooks() -> list[Path]:
    """Every notebook under book/, skipping checkpoints and build output."""
    skip = {".ipynb_checkpoints", "_build"}
    return sorted(p for p in BOOK.glob("**/*.ipynb") if not skip & set(p.relative_to(BOOK).parts))


def _chapter_notebooks() -> list[Path]:
    """The numbered chapters, book/NN_*.ipynb."""
    return sorted(p for p in BOOK.glob("*.ipynb") if re.fullmatch(r"\d\d_.*", p.stem))


def _toc_files(node) -> list[str]:
    """Every ``file:`` entry (and the ``root``) of a jb-book table of contents, in order."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("file", "root") and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_toc_files(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_toc_files(item))
    return found


def _load_toc():
    return yaml.safe_load(TOC.read_text(encoding="utf-8")) if TOC.exists() else None


def _resolve(entry: str) -> Path | None:
    """The file a TOC entry names: the entry itself, or with a .md / .ipynb suffix."""
    path = ROOT / entry
    for candidate in (
        path,
        path.with_name(path.name + ".ipynb"),
        path.with_name(path.name + ".md"),
    ):
        if candidate.is_file():
            return candidate
    return None


def _ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


NOTEBOOKS = _notebooks()
CHAPTERS = _chapter_notebooks()
TOC_ENTRIES = _toc_files(_load_toc()) if TOC.exists() else []


def test_chapters_are_numbered_from_01_without_gaps():
    """The chapters are book/01_*.ipynb, 02_*, ... with no number missing or repeated."""
    numbers = [int(path.stem[:2]) for path in CHAPTERS]
    assert numbers, "no chapter notebook book/NN_*.ipynb found"
    assert numbers == list(range(1, len(numbers) + 1)), [path.name for path in CHAPTERS]


SEED_LINE = 'SEED = int(os.environ.get("DIFFEDU_SEED", 0))'
# Calls that seed a random generator; their argument must derive from the chapter's seed.
_SEEDING_CALL = re.compile(r"\b(make_generator|manual_seed|default_rng|RandomState)\(([^)]*)\)")


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapter_takes_its_seed_from_the_environment(path):
    """One line of the constants cell reads DIFFEDU_SEED, and every generator derives from it.

    CI and the graders re-run each chapter at other seeds (tests/test_seeds.py): that proves
    something only if the seed reaches every random draw of the chapter.
    """
    code = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    holding = [i for i, source in enumerate(code) if SEED_LINE in source.splitlines()]
    assert len(holding) == 1, f"{path.name}: {SEED_LINE!r} must appear in exactly one cell"
    assert holding[0] <= 3, (
        f"{path.name}: the seed line belongs in the constants cell, near the top"
    )
    for i, source in enumerate(code):
        for line in source.splitlines():
            if re.match(r"\s*SEED\s*=", line):
                assert line.strip() == SEED_LINE, (
                    f"{path.name}, code cell {i}: SEED rebound: {line}"
                )
        for call in _SEEDING_CALL.finditer(source):
            assert "seed" in call.group(2).lower(), (
                f"{path.name}, code cell {i}: {call.group(0)} is not seeded from SEED"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_valid_nbformat_v4(path):
    """The notebook is nbformat version 4 and validates against its schema."""
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert nb.nbformat == 4, f"{path.name} is nbformat {nb.nbformat}"
    nbformat.validate(nb)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_stored_without_outputs(path):
    """Every code cell has no outputs and execution_count None (the build executes them)."""
    nb = nbformat.read(path, as_version=4)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: code cells {dirty} hold outputs or execution counts"


# The install guard: install only when diffedu cannot be imported, by either idiom.
_GUARDS = (
    r"try:\s*\n\s*import diffedu\b[^\n]*\n(?:.*\n)*?"
    r"\s*except\s*\(?\s*(?:ImportError|ModuleNotFoundError)",
    r"find_spec\(\s*['\"]diffedu['\"]\s*\)\s+is\s+None",
)
_PIP_INSTALL = r"pip\s+install|['\"]pip['\"]\s*,\s*['\"]install['\"]"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_first_code_cell_installs_diffedu_only_when_missing(path):
    """The first code cell is tagged hide-output and pip-installs diffedu only if it is missing."""
    nb = nbformat.read(path, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, f"{path.name} has no code cells"
    cell = code[0]
    assert "hide-output" in cell.metadata.get("tags", []), f"{path.name}: tag the cell hide-output"
    # Comments may say anything; look at the code only.
    source = "\n".join(line.split("#", 1)[0] for line in cell.source.splitlines()) + "\n"
    assert any(re.search(guard, source) for guard in _GUARDS), (
        f"{path.name}: guard the install by `try: import diffedu` / `except ImportError` "
        "or by importlib.util.find_spec('diffedu') is None"
    )
    assert re.search(_PIP_INSTALL, source), f"{path.name}: the first code cell must pip install"
    install_lines = [line for line in source.splitlines() if re.search(r"install", line)]
    assert not any(re.search(r"\b(torch|numpy)\b", line) for line in install_lines), (
        f"{path.name}: never reinstall torch or numpy in the install cell"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_install_cell_names_the_repository_url(path):
    """The install cell installs git+<repository.url of _config.yml>, the one place it is set."""
    url = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["repository"]["url"]
    nb = nbformat.read(path, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and f"git+{url}" in code[0].source, (
        f"{path.name}: the first code cell must install 'git+{url}' (see CONTRIBUTING.md)"
    )


def test_toc_is_a_jb_book_rooted_at_intro():
    """_toc.yml parses as a jb-book whose root is book/intro and whose parts list chapters."""
    toc = _load_toc()
    assert toc is not None, "_toc.yml is missing"
    assert toc.get("format") == "jb-book"
    assert toc.get("root") == "book/intro"
    assert isinstance(toc.get("parts"), list) and toc["parts"]
    for part in toc["parts"]:
        assert "caption" in part and isinstance(part.get("chapters"), list), part


@pytest.mark.parametrize("entry", TOC_ENTRIES)
def test_toc_entries_exist(entry):
    """Every file the table of contents names exists (as .md or .ipynb), so the build finds it."""
    assert _resolve(entry) is not None, f"_toc.yml lists {entry}, which does not exist yet"


def test_toc_entries_are_unique():
    """No page is listed twice in the table of contents."""
    assert len(TOC_ENTRIES) == len(set(TOC_ENTRIES)), TOC_ENTRIES


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapter_is_listed_in_toc(path):
    """Every numbered chapter book/NN_*.ipynb is listed in _toc.yml (else it is not built)."""
    entries = {entry.removesuffix(".ipynb") for entry in TOC_ENTRIES}
    assert path.relative_to(ROOT).with_suffix("").as_posix() in entries


# --- Fold, don't hide (issue 13): tests/notebook_cells.py says which cells fold --------------


def _cells(path):
    import notebook_cells

    return notebook_cells.classify(nbformat.read(path, as_version=4))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_install_and_figure_cells_fold(path):
    """The install cell and every cell that only draws a figure are tagged hide-input."""
    unfolded = [
        f"cell {c.index} ({c.kind}): {c.first_line[:60]!r}"
        for c in _cells(path)
        if c.should_fold and not c.folded
    ]
    assert not unfolded, (
        f"{path.name}: tag these hide-input (python tests/notebook_cells.py --apply):\n"
        + "\n".join(unfolded)
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_experiment_cells_stay_open(path):
    """No cell that computes (an experiment cell, or one that also draws) is folded."""
    folded = [
        f"cell {c.index} ({c.kind}): {c.first_line[:60]!r}"
        for c in _cells(path)
        if c.kind in ("experiment", "mixed") and c.folded
    ]
    assert not folded, f"{path.name}: experiment code must stay open:\n" + "\n".join(folded)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_cell_both_draws_and_computes(path):
    """A cell that draws does nothing else: no glue, print, assert, def, random draw, and no
    name that a later visible cell reads (split such a cell into an experiment and a figure)."""
    mixed = [
        f"cell {c.index}: {c.first_line[:60]!r}\n    " + "\n    ".join(c.reasons)
        for c in _cells(path)
        if c.kind == "mixed"
    ]
    assert not mixed, f"{path.name}: split these cells:\n" + "\n".join(mixed)


# matplotlib keywords that set a font size, and the smallest size a chapter may give them.
_FONT_KEYWORDS = ("fontsize", "labelsize", "title_fontsize")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_font_below_8pt(path):
    """No code cell sets a font size below diffedu.plot.SMALLEST_FONT_PT (8 pt) by a number."""
    import ast

    import notebook_cells

    from diffedu.plot import SMALLEST_FONT_PT

    nb = nbformat.read(path, as_version=4)
    small = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tree = ast.parse(notebook_cells.python_source(cell.source))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg in _FONT_KEYWORDS:
                value = node.value
                if (
                    isinstance(value, ast.Constant)
                    and isinstance(value.value, (int, float))
                    and value.value < SMALLEST_FONT_PT
                ):
                    small.append(f"cell {i}, line {node.value.lineno}: {node.arg}={value.value}")
    assert not small, f"{path.name}: fonts below {SMALLEST_FONT_PT:g} pt:\n" + "\n".join(small)


# --- No sideways scrolling (issue 13): each kind of code box has its own width ---------------

# Characters of the theme's monospace font that fit each code box of a chapter page at a
# 1280-px window, measured in Chromium (CONTRIBUTING.md, "Code that fits the column"). Ruff
# holds open cells to the widest (book/ruff.toml); the narrower boxes are checked here.
OPEN_CELL_CHARS = 77
FOLDED_CELL_CHARS = 75  # a hide-input cell: the toggle's box is 18 px narrower
SOLUTION_CELL_CHARS = 74  # a code cell inside a solution dropdown
EXERCISE_BLOCK_CHARS = 69  # a fenced code block in the markdown of an exercise box
_FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\S*.*?)\s*$")


def _too_wide_lines(path) -> list[str]:
    """Lines of a chapter's visible code longer than the box that shows them."""
    nb = nbformat.read(path, as_version=4)
    found, in_solution = [], False
    for i, cell in enumerate(nb.cells):
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type == "markdown":
            in_solution = _solution_state(cell.source, in_solution)
            found += _wide_fenced_lines(i, cell.source)
            continue
        if cell.cell_type != "code" or tags & {"remove-cell", "remove-input"}:
            continue
        if in_solution:
            limit, box = SOLUTION_CELL_CHARS, "solution cell"
        elif "hide-input" in tags:
            limit, box = FOLDED_CELL_CHARS, "folded cell"
        else:
            limit, box = OPEN_CELL_CHARS, "open cell"
        for n, line in enumerate(cell.source.splitlines(), 1):
            if len(line) > limit:
                found.append(f"cell {i} ({box}, {limit}), line {n}: {len(line)} chars")
    return found


def _solution_state(source: str, inside: bool) -> bool:
    """Whether code cells after this markdown cell sit inside a solution dropdown."""
    for line in source.splitlines():
        if "{solution-start}" in line:
            inside = True
        elif "{solution-end}" in line:
            inside = False
    return inside


def _wide_fenced_lines(index: int, source: str) -> list[str]:
    """Lines of fenced code blocks in a markdown cell wider than an exercise box shows.

    Directives (```` ```{exercise} ````, ```` ```{prf:lemma} ````) are fences too; a stack
    keeps track of which fence a closing line ends, and only code blocks are measured.
    """
    found, stack = [], []  # stack of (fence, is_code)
    for n, line in enumerate(source.splitlines(), 1):
        match = _FENCE.match(line.strip())
        if match and not (stack and stack[-1][1] and match.group(2)):
            fence, info = match.groups()
            if stack and not info and fence == stack[-1][0]:
                stack.pop()
            elif not stack or not stack[-1][1]:
                stack.append((fence, not info.startswith("{") or info.startswith("{code")))
            continue
        if stack and stack[-1][1] and len(line) > EXERCISE_BLOCK_CHARS:
            found.append(
                f"cell {index} (code block, {EXERCISE_BLOCK_CHARS}), line {n}: {len(line)} chars"
            )
    return found


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_code_fits_its_box(path):
    """No line of visible code is wider than the box it is shown in (the page never scrolls)."""
    wide = _too_wide_lines(path)
    assert not wide, f"{path.name}: lines wider than their box:\n" + "\n".join(wide)


def test_box_widths_are_told_apart():
    """The checker tells the boxes apart: a 76-character line passes open, fails folded."""
    line = "x = " + "1" * 72
    cells = [
        nbformat.v4.new_code_cell(line),
        nbformat.v4.new_code_cell(line, metadata={"tags": ["hide-input"]}),
        nbformat.v4.new_markdown_cell("```{solution-start} ex\n```"),
        nbformat.v4.new_code_cell("y = " + "2" * 71),
        nbformat.v4.new_markdown_cell("```{solution-end}\n```\n\n```python\n" + "z" * 70 + "\n```"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "nb.ipynb"
        nbformat.write(nb, path)
        wide = _too_wide_lines(path)
    assert [w.split(" (")[1].split(",")[0] for w in wide] == [
        "folded cell",
        "solution cell",
        "code block",
    ], wide
