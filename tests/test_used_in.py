"""Every docstring's "Used in:" line names chapters and sections that exist.

A docstring of the package ends with the chapters that use the function, for example::

    Used in: chapter 4, "Estimating D^delta from samples"; chapter 5, exercise "Move the bad set".

The line is a list of clauses separated by ``;``. A clause that starts with ``chapter N`` names
chapter N (``book/0N_*.ipynb``); the quoted titles that follow it must be headings of that
chapter, or, after the word ``exercise``, titles of its exercises. ``chapters 2, 4 and 5``
names chapters only. Other clauses (``every chapter's figures``, ``:func:`.subplots```) name no
section. Titles are compared with the headings as plain text: ``$``, ``\\`` and ``:math:``
dropped, so ``D^delta`` matches ``$D^\\delta$``. A renamed heading fails this test, and so does a
moved chapter.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "diffedu"
BOOK = ROOT / "book"

_USED_IN = re.compile(r"Used in:(.*?)(?:\n\s*\n|\"\"\"|$)", re.S)
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$", re.M)
_EXERCISE = re.compile(r"^`{3,}\{exercise\}\s*(.*?)\s*$", re.M)
_CHAPTER = re.compile(r"^chapter (\d+)\b(.*)$", re.S)
_CHAPTERS = re.compile(r"^chapters ([\d, ]+(?:and|to) \d+)\b")
_TITLE = re.compile(r"(exercise\s+)?\"([^\"]+)\"")


def _plain(text: str) -> str:
    """A title as plain text: math markup dropped, spaces collapsed."""
    text = re.sub(r":math:`([^`]*)`", r"\1", text)
    text = text.replace("$", "").replace("\\", "").replace("`", "")
    return " ".join(text.split())


def _chapter_files() -> dict[int, Path]:
    files = {}
    for path in sorted(BOOK.glob("[0-9][0-9]_*.ipynb")):
        files[int(path.name[:2])] = path
    return files


CHAPTER_FILES = _chapter_files()


def _titles(number: int) -> tuple[set[str], set[str]]:
    """The headings and the exercise titles of chapter ``number``, as plain text."""
    nb = nbformat.read(CHAPTER_FILES[number], as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    headings = {_plain(h) for h in _HEADING.findall(text)}
    exercises = {_plain(e) for e in _EXERCISE.findall(text)}
    return headings, exercises


def _used_in_lines() -> list[tuple[str, str]]:
    """Every "Used in:" paragraph of the package, as (where, text)."""
    found = []
    for path in sorted(PACKAGE.glob("*.py")):
        source = path.read_text()
        for match in _USED_IN.finditer(source):
            line = source.count("\n", 0, match.start()) + 1
            found.append((f"{path.name}:{line}", " ".join(match.group(1).split())))
    return found


USED_IN = _used_in_lines()


def _problems(text: str) -> list[str]:
    """What is wrong with one "Used in:" paragraph: names that do not resolve."""
    problems = []
    for clause in (c.strip().rstrip(".") for c in text.split(";")):
        if "theorem chapter" in clause or re.search(r"\bchapter \d+ and chapter", clause):
            problems.append(f"name each chapter by its number, once per clause: {clause!r}")
            continue
        many = _CHAPTERS.match(clause)
        if many:
            for number in map(int, re.findall(r"\d+", many.group(1))):
                if number not in CHAPTER_FILES:
                    problems.append(f"there is no chapter {number}: {clause!r}")
            continue
        one = _CHAPTER.match(clause)
        if not one:
            if re.search(r"\bchapter \d", clause) or '"' in clause:
                problems.append(f"start the clause with 'chapter N': {clause!r}")
            continue
        number, rest = int(one.group(1)), one.group(2).strip()
        if number not in CHAPTER_FILES:
            problems.append(f"there is no chapter {number}: {clause!r}")
            continue
        if rest and not re.match(r"^(,\s*(exercise\s+)?\"|\()", rest):
            problems.append(f'after "chapter {number}" put the quoted section title: {clause!r}')
        headings, exercises = _titles(number)
        for is_exercise, title in _TITLE.findall(rest):
            wanted = exercises if is_exercise else headings
            kind = "exercise" if is_exercise else "heading"
            if _plain(title) not in wanted:
                problems.append(f"chapter {number} has no {kind} titled {title!r}")
    return problems


def test_the_package_has_used_in_lines():
    """The parser finds the lines (a changed docstring convention must not empty this test)."""
    assert len(USED_IN) > 50, USED_IN
    assert any("exercise" in text for _, text in USED_IN)


@pytest.mark.parametrize("where, text", USED_IN, ids=[w for w, _ in USED_IN])
def test_used_in_names_existing_sections(where, text):
    problems = _problems(text)
    assert not problems, f"{where}: Used in: {text}\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "text, expected",
    [
        ('chapter 1, "The forward process"', []),
        ('chapter 1, "The forward proces"', ["has no heading"]),
        ('chapter 1, exercise "One sampler step"', []),
        ('chapter 1, exercise "The forward process"', ["has no exercise"]),
        ('chapter 4, "Estimating D^delta from samples"', []),
        ("chapter 6, the bound comparison", ["put the quoted section title"]),
        ("the theorem chapter", ["name each chapter by its number"]),
        ("chapters 2, 4 and 5", []),
        ("chapters 2 and 99", ["there is no chapter 99"]),
        ('chapter 99, "Overview"', ["there is no chapter 99"]),
        ("every chapter's constants cell", []),
        ('exercise "One sampler step"', ["start the clause with 'chapter N'"]),
    ],
)
def test_the_checker_catches_what_rots(text, expected):
    """The checker itself: a misspelt or moved title is reported, a correct one is not."""
    problems = _problems(text)
    assert len(problems) == len(expected), problems
    for problem, fragment in zip(problems, expected, strict=True):
        assert fragment in problem, problem
