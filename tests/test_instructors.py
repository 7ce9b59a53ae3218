"""The instructors page (book/instructors.md) agrees with the chapters it describes.

The page lists every exercise with what it practises, counts them per chapter by kind, and
names the self-check of each coding exercise. These tests read the notebooks and fail when a
chapter gains, loses or changes an exercise and the page is not updated.
"""

from __future__ import annotations

import pathlib
import re

import nbformat
import pytest

import diffedu.checks

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGE = (ROOT / "book" / "instructors.md").read_text()
NOTEBOOKS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
EXERCISE = re.compile(r"\{exercise\}[^\n]*\n:label: (\S+)")
CHECK_CALL = re.compile(r"checks\.(check_\w+)\(")


def _exercises(path: pathlib.Path) -> dict[str, str]:
    """Exercise label -> kind ('coding' if its solution calls a self-check, else 'other')."""
    nb = nbformat.read(path, as_version=4)
    kinds, current = {}, None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for label in EXERCISE.findall(cell.source):
                kinds[label], current = "other", label
        elif cell.cell_type == "code" and current and CHECK_CALL.search(cell.source):
            kinds[current] = "coding"
    return kinds


def _section(number: int) -> str:
    """The bullet list of chapter ``number`` in 'What each exercise practises'."""
    body = PAGE.split("## What each exercise practises", 1)[1]
    parts = re.split(r"^\*\*Chapter (\d+)\*\*$", body, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))[str(number)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exercise_is_described_with_its_kind(path):
    number = int(path.name[:2])
    kinds = _exercises(path)
    bullets = re.findall(
        r"^- \{ref\}`([^`]+)`( \(coding\)| \(experiment\))?:", _section(number), re.M
    )
    assert [label for label, _ in bullets] == list(kinds), (
        "exercises listed out of order or missing"
    )
    for label, tag in bullets:
        assert (tag == " (coding)") == (kinds[label] == "coding"), f"{label}: kind {kinds[label]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_table_counts_the_exercises(path):
    number = int(path.name[:2])
    bullets = re.findall(
        r"^- \{ref\}`[^`]+`( \(coding\)| \(experiment\))?:", _section(number), re.M
    )
    row = re.search(rf"^\| \{{ref\}}`{number}\. [^|]*\|[^|]*\|[^|]*\| (.*) \|$", PAGE, re.M)
    assert row, f"chapter {number} has no row in the table"
    expected = (
        f"{len(bullets)} ("
        + ", ".join(
            f"{n} {name if n == 1 else plural}"
            for n, name, plural in [
                (sum(t == "" for t in bullets), "derivation", "derivations"),
                (sum(t == " (coding)" for t in bullets), "coding", "coding"),
                (sum(t == " (experiment)" for t in bullets), "experiment", "experiments"),
            ]
            if n
        )
        + ")"
    )
    assert row.group(1) == expected


def test_every_self_check_is_in_the_table_next_to_its_exercise():
    used = {}
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        current = None
        for cell in nb.cells:
            if cell.cell_type == "markdown" and EXERCISE.search(cell.source):
                current = EXERCISE.findall(cell.source)[-1]
            elif cell.cell_type == "code" and current:
                for name in CHECK_CALL.findall(cell.source):
                    used[name] = current
    public = {name for name in dir(diffedu.checks) if name.startswith("check_")}
    assert set(used) == public, "a self-check is unused, or used but not public"
    for name, label in used.items():
        row = rf"^\| \{{func\}}`~diffedu\.checks\.{name}` \| \{{ref\}}`{label}` \|"
        assert re.search(row, PAGE, re.M), f"{name} ({label}) is missing from the checks table"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_run_time_row_is_glued_and_says_whether_the_chapter_trains(path):
    number = int(path.name[:2])
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    key = f"ch{number}_seconds"
    assert f'glue("{key}"' in code, f"{path.name} does not glue {key}"
    row = re.search(
        rf"^\| {number} \| \{{glue:text\}}`{path.name}::{key}:\.0f` s \| (yes|no) \|$", PAGE, re.M
    )
    assert row, f"chapter {number} has no glued run-time row"
    assert (row.group(1) == "yes") == ("train_score(" in code)
