"""The PDF of the whole book: every chapter and theorem box there, no ?? and no missing figure.

Build first (``bash .ci/pdf``, or ``jupyter-book build . --builder pdflatex``), then run
``DIFFEDU_PDF_TESTS=1 pytest tests/test_pdf.py`` (or ``pytest --pdf``). The tests read
``_build/latex/book.pdf`` with poppler's ``pdftotext`` and ``pdfimages`` and LaTeX's own log,
``_build/latex/book.log`` (``DIFFEDU_BOOK_LATEX`` moves the folder).

The test that the LaTeX preamble defines the MathJax macros needs no PDF and always runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import browser_support as bs
import nbformat
import notebook_cells
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [p for p in bs.book_pages() if p.source is not None]
NOTEBOOKS = [p for p in PAGES if p.is_notebook]
CONFIG = bs.load_config()

# A sphinx-proof directive and its title: ```{prf:lemma} Girsanov on the good event (Lemma B.2)
_PROOF_BOX = re.compile(r"^[ \t]*(?:`{3,}|:{3,})\{prf:(\w+)\}[ \t]*(\S.*?)[ \t]*$", re.MULTILINE)
# LaTeX's complaints about what it could not find, in its log.
_LOG_PROBLEMS = re.compile(
    r"^(?:LaTeX Warning: (?:Reference|Citation|Hyper reference) .* undefined"
    r"|LaTeX Warning: There were undefined references"
    r"|LaTeX Warning: File .* not found"
    r"|! LaTeX Error: File .* not found"
    r"|Package pdftex\.def Error: File .* not found"
    r"|! Undefined control sequence)",
    re.MULTILINE,
)


def latex_dir() -> Path:
    """The LaTeX build folder: ``DIFFEDU_BOOK_LATEX``, else ``_build/latex``."""
    return Path(os.environ.get("DIFFEDU_BOOK_LATEX") or ROOT / "_build" / "latex")


def _normal(text: str) -> str:
    """Lower case, hyphenation at line ends undone, every run of white space one space."""
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def _found(title: str, normal_text: str) -> bool:
    """Whether a MyST title is in the PDF's normalised text.

    Inline math (``$p$``) is typeset by LaTeX in glyphs that pdftotext returns as other
    characters (mathematical italic), so each math span matches any short run of text, and
    the words around it must appear as written, in order.
    """
    words = [_normal(part) for part in re.split(r"\$[^$]*\$", title)]
    pattern = r".{1,40}?".join(re.escape(w) for w in words)
    return re.search(pattern, normal_text) is not None


def proof_boxes(source: Path) -> list[tuple[str, str]]:
    """The (kind, title) of every titled sphinx-proof box of a page's source."""
    return _PROOF_BOX.findall(bs.markdown_text(source))


def expected_figures(source: Path) -> int:
    """Code cells of a notebook that draw a figure (tests/notebook_cells.py's rule)."""
    nb = nbformat.read(source, as_version=4)
    cells = notebook_cells.classify(nb)
    return sum(c.kind in ("figure", "mixed") for c in cells)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: apt-get install -y poppler-utils", pytrace=False)
    return path


@pytest.fixture(scope="module")
def pdf() -> Path:
    path = latex_dir() / "book.pdf"
    if not path.is_file():
        pytest.fail(
            f"no PDF at {path}: build it first with `bash .ci/pdf` "
            "(or `jupyter-book build . --builder pdflatex`)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def pdf_text(pdf) -> str:
    out = subprocess.run(
        [_tool("pdftotext"), "-enc", "UTF-8", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


@pytest.mark.pdf
@pytest.mark.parametrize("page", PAGES, ids=[p.test_id for p in PAGES])
def test_page_title_in_pdf(pdf_text, page):
    """Every page of the table of contents, each chapter first, is in the PDF under its title."""
    title = bs.page_title(page.source)
    assert _found(title, _normal(pdf_text)), f"{title!r} ({page.name}) is not in the PDF"


@pytest.mark.parametrize(
    "title, text, found",
    [
        (
            "The scale on a set of mass $p$",
            "lemma 5.6.1 (the scale on a set of mass \U0001d45d)",
            True,
        ),
        ("The scale on a set of mass $p$", "the scale on a set of volume \U0001d45d", False),
        ("$W_2$ and TV", "\U0001d44a2 and tv", True),
        ("Close in TV", "close in w2", False),
    ],
)
def test_titles_with_math_are_matched_around_the_math(title, text, found):
    """The matcher of titles: math spans match glyphs, the words must all be there."""
    assert _found(title, _normal(text)) is found


@pytest.mark.pdf
@pytest.mark.parametrize("page", PAGES, ids=[p.test_id for p in PAGES])
def test_theorem_boxes_in_pdf(pdf_text, page):
    """Every titled theorem, lemma or assumption box of the source is in the PDF."""
    text = _normal(pdf_text)
    missing = [
        f"{kind}: {title}" for kind, title in proof_boxes(page.source) if not _found(title, text)
    ]
    assert not missing, "boxes missing from the PDF:\n" + "\n".join(missing)


@pytest.mark.pdf
def test_no_unresolved_reference(pdf_text):
    """No reference, equation number or citation is printed as ?? in the PDF."""
    hits = [m.start() for m in re.finditer(r"\?\?", pdf_text)]
    context = [pdf_text[max(0, i - 60) : i + 20].replace("\n", " ") for i in hits[:10]]
    assert not hits, f"{len(hits)} unresolved references (??), e.g.:\n" + "\n".join(context)


@pytest.mark.pdf
def test_latex_log_is_clean(pdf):
    """LaTeX's log names no undefined reference, missing file or undefined macro."""
    log = (latex_dir() / "book.log").read_text(errors="replace")
    problems = sorted(set(_LOG_PROBLEMS.findall(log)))
    assert not problems, "LaTeX's log (book.log) says:\n" + "\n".join(problems)


@pytest.mark.pdf
def test_every_figure_is_in_pdf(pdf, pdf_text):
    """The PDF has an image for every figure the notebooks draw and a number for each caption."""
    out = subprocess.run(
        [_tool("pdfimages"), "-list", str(pdf)], check=True, capture_output=True, text=True
    )
    # pdfimages -list: two header lines, then one row per image (soft masks are rows of type smask).
    images = [row.split() for row in out.stdout.splitlines()[2:] if row.strip()]
    n_images = sum(1 for row in images if len(row) > 2 and row[2] == "image")
    expected = sum(expected_figures(p.source) for p in NOTEBOOKS)
    assert n_images >= expected, f"the notebooks draw {expected} figures; the PDF has {n_images}"
    n_named = sum(bs.named_figure_cells(p.source) for p in NOTEBOOKS)
    numbers = set(re.findall(r"Fig\. (\d+\.\d+)", pdf_text))
    assert len(numbers) >= n_named, (
        f"{n_named} captioned figures in the notebooks; the PDF numbers {len(numbers)}"
    )
    # Every graphics file that the LaTeX source includes is in the build folder.
    tex = (latex_dir() / "book.tex").read_text(errors="replace")
    included = re.findall(
        r"\\(?:sphinxincludegraphics|includegraphics)(?:\[[^\]]*\])?\{\{?([^}]+)", tex
    )
    absent = [name for name in included if not any(latex_dir().glob(name + "*"))]
    assert not absent, "graphics that book.tex includes but _build/latex lacks:\n" + "\n".join(
        absent
    )


def test_latex_preamble_defines_the_mathjax_macros():
    """Each macro of mathjax3_config is defined, with the same body, in the LaTeX preamble."""
    sphinx = CONFIG["sphinx"]["config"]
    macros = sphinx["mathjax3_config"]["tex"]["macros"]
    preamble = sphinx.get("latex_elements", {}).get("preamble", "")
    problems = []
    for name, body in macros.items():
        args = ""
        if isinstance(body, list):
            body, n = body
            args = f"[{n}]"
        definition = f"\\providecommand{{\\{name}}}{{}}\\renewcommand{{\\{name}}}{args}{{{body}}}"
        if definition not in preamble:
            problems.append(f"{name}: expected {definition}")
    assert not problems, "sphinx.config.latex_elements.preamble lacks:\n" + "\n".join(problems)
