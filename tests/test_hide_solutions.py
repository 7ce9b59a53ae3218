"""The build option that leaves solutions out (book/_ext/hide_solutions.py).

Each test builds a one-page book with Sphinx, MyST-NB and sphinx-exercise: an exercise, a
one-block solution and a gated solution that holds a code cell, as the chapters have. The
builds run in a subprocess, so the environment variable is read as it is in a real build.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap

import nbformat
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXT_DIR = ROOT / "book" / "_ext"

EXERCISE = "The exercise text EXERCISE_MARK."
PLAIN_ANSWER = "A plain answer PLAIN_MARK."
GATED_ANSWER = "A gated answer GATED_MARK."
GATED_CODE = "gated_code_mark = 1 + 1"
AFTER = "Text after the solutions AFTER_MARK."


def _page() -> nbformat.NotebookNode:
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        md("# Page\n\n```{exercise} First\n:label: ex-first\n\n" + EXERCISE + "\n```\n"),
        md("```{solution} ex-first\n\n" + PLAIN_ANSWER + "\n```\n"),
        md("```{exercise} Second\n:label: ex-second\n\nWrite code.\n```\n"),
        md("```{solution-start} ex-second\n```\n\n" + GATED_ANSWER + "\n"),
        code(GATED_CODE),
        md("```{solution-end}\n```\n"),
        md(AFTER + "\n"),
    ]
    return nb


def _build(tmp_path: pathlib.Path, env_value: str | None, extra_conf: str = "") -> tuple[int, str]:
    src, out = tmp_path / "src", tmp_path / "html"
    src.mkdir()
    nbformat.write(_page(), src / "index.ipynb")
    conf = f"""
        import sys
        sys.path.insert(0, {str(EXT_DIR)!r})
        extensions = ["myst_nb", "sphinx_exercise", "hide_solutions"]
        nb_execution_mode = "off"
        exclude_patterns = ["_build"]
        {extra_conf}
    """
    (src / "conf.py").write_text(textwrap.dedent(conf))
    env = {k: v for k, v in os.environ.items() if k != "DIFFEDU_HIDE_SOLUTIONS"}
    if env_value is not None:
        env["DIFFEDU_HIDE_SOLUTIONS"] = env_value
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", str(src), str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    html = (out / "index.html").read_text() if (out / "index.html").exists() else ""
    return proc.returncode, html + proc.stdout + proc.stderr


@pytest.mark.parametrize("env_value", [None, "0"])
def test_solutions_shown_by_default(tmp_path, env_value):
    rc, html = _build(tmp_path, env_value)
    assert rc == 0, html
    for mark in ("EXERCISE_MARK", "PLAIN_MARK", "GATED_MARK", "gated_code_mark", "AFTER_MARK"):
        assert mark in html


@pytest.mark.parametrize("env_value", ["1", "true"])
def test_switch_removes_every_solution_but_keeps_the_rest(tmp_path, env_value):
    rc, html = _build(tmp_path, env_value)
    assert rc == 0, html
    for mark in ("EXERCISE_MARK", "AFTER_MARK"):
        assert mark in html
    for mark in ("PLAIN_MARK", "GATED_MARK", "gated_code_mark"):
        assert mark not in html, f"{mark} survived DIFFEDU_HIDE_SOLUTIONS={env_value}"
    assert 'class="solution' not in html


def test_config_value_works_without_the_environment(tmp_path):
    rc, html = _build(tmp_path, None, extra_conf="diffedu_hide_solutions = True")
    assert rc == 0, html
    assert "GATED_MARK" not in html and "PLAIN_MARK" not in html


def test_unknown_switch_value_is_refused(tmp_path):
    rc, log = _build(tmp_path, "maybe")
    assert rc != 0
    assert "DIFFEDU_HIDE_SOLUTIONS" in log and "'maybe'" in log


def test_sphinx_exercise_switch_together_with_ours_is_refused(tmp_path):
    rc, log = _build(tmp_path, "1", extra_conf="hide_solutions = True")
    assert rc != 0
    assert "hide_solutions" in log and "gated" in log


def test_book_config_loads_the_extension():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    local = config["sphinx"]["local_extensions"]
    assert (ROOT / local["hide_solutions"] / "hide_solutions.py").is_file()
    # sphinx-exercise's own switch must stay off (it breaks gated solutions).
    assert not config["sphinx"].get("config", {}).get("hide_solutions", False)
