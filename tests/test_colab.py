"""A reader opens each chapter in Colab: the notebook alone, a runtime that already has torch,
numpy and matplotlib, and no diffedu until the chapter's install cell fetches it.

One fresh virtual environment per session (no system site packages) holds only those three
packages and the notebook runtime. Each chapter is copied alone into an empty folder and run from
top to bottom with that environment's Python as its kernel; its install cell installs diffedu
from the checkout under test (``DIFFEDU_INSTALL_SOURCE``). The chapter passes if every cell runs,
diffedu ends up in the environment's site-packages as a regular install, and torch and numpy are
exactly as they were. diffedu is uninstalled after each chapter, so every chapter starts from a
runtime without it, as every Colab session does.

Marked ``colab``: skipped unless ``pytest --colab`` or ``DIFFEDU_COLAB_TESTS=1``, because it
creates a virtual environment, installs packages from the registries and takes a few minutes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.colab

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))

# The torch that .ci/run installs, as a CPU build. On Linux, PyPI's torch of that version is a
# CUDA build (gigabytes of nvidia-* wheels): the local version +cpu can never match it (PyPI
# refuses local versions), only the CPU wheel, which pip's configuration finds on local disk
# here and in CI (elsewhere: PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu).
TORCH = "torch==2.13.0+cpu" if sys.platform.startswith("linux") else "torch==2.13.0"
# What Colab has before the install cell runs: torch, numpy, matplotlib, and the notebook
# runtime (ipykernel to run the kernel, nbclient and nbformat to drive it), which Colab provides.
PREINSTALLED = [TORCH, "numpy", "matplotlib", "ipykernel", "nbclient", "nbformat"]
PIP = ["-m", "pip", "--disable-pip-version-check"]
CELL_TIMEOUT_S = 900  # a chapter takes 10-35 s on an idle 2-core machine; shared ones are slower
NOTEBOOK_TIMEOUT_S = 3600
KERNEL = "diffedu-colab"

# Run by the venv's Python in an empty folder: where diffedu, torch and numpy would be imported
# from, found without importing them, with the files' identity to detect a reinstall.
INSPECT = """
import importlib.metadata, importlib.util, json, os, sysconfig

def where(name):
    spec = importlib.util.find_spec(name)
    if spec is None:
        return None
    try:  # found through a folder on sys.path, diffedu has no installed metadata
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        dist = None
    stat = os.stat(spec.origin)
    return {
        "origin": spec.origin,
        "version": dist and dist.version,
        "mtime_ns": stat.st_mtime_ns,
        "inode": stat.st_ino,
        "direct_url": json.loads(dist and dist.read_text("direct_url.json") or "null"),
    }

print(json.dumps({
    "purelib": sysconfig.get_paths()["purelib"],
    "modules": {name: where(name) for name in ("diffedu", "torch", "numpy")},
}))
"""

# Appended to the chapter in memory, after its last cell: what the kernel itself used.
PROBE = """
import json, os, sys

import diffedu

print(json.dumps({
    "prefix": sys.prefix,
    "cwd": os.getcwd(),
    "sys_path": sys.path,
    "pythonpath": os.environ.get("PYTHONPATH"),
    "diffedu": diffedu.__file__,
}))
"""

# Run by the venv's Python, in the chapter's folder: execute the notebook with nbclient, the
# probe appended, and save the executed copy (argv: notebook, probe, output, kernel, timeout).
DRIVER = """
import os, sys
from pathlib import Path

import nbclient, nbformat

notebook, probe, executed, kernel, timeout = sys.argv[1:6]
nb = nbformat.read(notebook, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell(Path(probe).read_text()))
client = nbclient.NotebookClient(
    nb, timeout=int(timeout), kernel_name=kernel, resources={"metadata": {"path": os.getcwd()}}
)
try:
    client.execute()
finally:
    nbformat.write(nb, executed)
"""


@dataclass
class Runtime:
    """The simulated Colab runtime: the venv's Python, the kernel's environment, and where
    torch and numpy were before any chapter ran."""

    venv: Path
    python: Path
    env: dict[str, str]
    scripts: Path
    source: Path
    baseline: dict


def _run(*args, env: dict[str, str], cwd: Path | None = None) -> str:
    """Run a command; fail the test with the end of its output if it fails."""
    proc = subprocess.run(
        [str(a) for a in args], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        pytest.fail(
            f"command failed (exit {proc.returncode}): {' '.join(map(str, args))}\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}",
            pytrace=False,
        )
    return proc.stdout


def _inspect(runtime: Runtime, cwd: Path) -> dict:
    return json.loads(_run(runtime.python, "-c", INSPECT, env=runtime.env, cwd=cwd))


def _snapshot(dest: Path) -> Path:
    """Copy the checkout's files that git carries (tracked, or untracked and not ignored).

    ``pip install git+URL`` builds from such a clean tree. Building from the checkout itself
    would write build/ and *.egg-info into it, and a stale build/lib could ship a module that
    the source no longer has.
    """
    if not (ROOT / ".git").exists():
        ignore = shutil.ignore_patterns(
            "_build", "build", "dist", "*.egg-info", "__pycache__", "student", ".*cache"
        )
        shutil.copytree(ROOT, dest, ignore=ignore)
        return dest
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for rel in filter(None, listed.split("\0")):
        if (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)
    return dest


def _kernel_env(venv: Path, python: Path, root: Path, source: Path) -> dict[str, str]:
    """The environment of every command in the venv: activated, headless, isolated from the
    user's Python and Jupyter configuration, and with no PYTHONPATH to find diffedu through."""
    drop = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "JUPYTER_PATH"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        VIRTUAL_ENV=str(venv),
        PATH=f"{python.parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONNOUSERSITE="1",
        DIFFEDU_INSTALL_SOURCE=str(source),
        MPLBACKEND="Agg",
        JUPYTER_PATH=str(root / "jupyter"),
        JUPYTER_CONFIG_DIR=str(root / "jupyter-config"),
        IPYTHONDIR=str(root / "ipython"),
    )
    return env


def _write_kernelspec(root: Path, python: Path) -> None:
    """A kernelspec that runs the venv's Python, found first through JUPYTER_PATH."""
    spec = root / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Colab simulation", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))


@pytest.fixture(scope="session")
def colab_venv(tmp_path_factory):
    """A fresh venv with only torch, numpy, matplotlib and the notebook runtime; removed after
    the session (it weighs about a gigabyte)."""
    root = tmp_path_factory.mktemp("colab")
    venv = root / "venv"
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    source = _snapshot(root / "diffedu-source")
    env = _kernel_env(venv, python, root, source)
    empty = root / "empty"
    empty.mkdir()
    _run(sys.executable, "-m", "venv", venv, env=env)
    _run(python, *PIP, "install", "-q", *PREINSTALLED, env=env)
    _write_kernelspec(root, python)
    scripts = root / "scripts"
    scripts.mkdir()
    (scripts / "driver.py").write_text(DRIVER)
    (scripts / "probe.py").write_text(PROBE)
    runtime = Runtime(venv, python, env, scripts, source, baseline={})
    runtime.baseline = _inspect(runtime, empty)
    yield runtime
    shutil.rmtree(venv, ignore_errors=True)


@pytest.fixture
def colab(colab_venv):
    """The session's runtime; diffedu is uninstalled again after the chapter."""
    yield colab_venv
    _run(colab_venv.python, *PIP, "uninstall", "-y", "-q", "diffedu", env=colab_venv.env)


def _last_output(executed: Path) -> dict:
    """The JSON that the probe, the executed notebook's last cell, printed."""
    cell = nbformat.read(executed, as_version=4).cells[-1]
    text = "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream")
    return json.loads(text)


def _inside(path: str | Path, folder: str | Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_runs_alone_in_a_fresh_colab_runtime(notebook, colab, tmp_path):
    """The chapter, alone in an empty folder, installs diffedu itself and runs to the end,
    leaving torch and numpy as they were."""
    folder = tmp_path / "content"  # Colab's working folder, /content
    folder.mkdir()
    shutil.copy2(notebook, folder / notebook.name)
    before = _inspect(colab, folder)
    assert before["modules"]["diffedu"] is None, (
        f"diffedu is importable before the install cell ran: {before['modules']['diffedu']}"
    )

    executed = tmp_path / "executed.ipynb"
    driver_py, probe_py = colab.scripts / "driver.py", colab.scripts / "probe.py"
    args = [colab.python, driver_py, notebook.name, probe_py, executed, KERNEL, CELL_TIMEOUT_S]
    driver = subprocess.run(
        [str(a) for a in args],
        cwd=folder,
        env=colab.env,
        capture_output=True,
        text=True,
        timeout=NOTEBOOK_TIMEOUT_S,
    )
    if driver.returncode != 0:
        message = (
            f"{notebook.name} failed in a fresh Colab runtime (executed copy: {executed}):\n"
            f"{driver.stderr[-8000:]}"
        )
        pytest.fail(message, pytrace=False)

    # The kernel ran in the venv, in the notebook's folder, and imported diffedu from the venv.
    probe = _last_output(executed)
    after = _inspect(colab, folder)
    purelib = after["purelib"]
    assert os.path.realpath(probe["prefix"]) == os.path.realpath(colab.venv), probe["prefix"]
    assert os.path.realpath(probe["cwd"]) == os.path.realpath(folder), probe["cwd"]
    assert probe["pythonpath"] is None, f"the kernel had PYTHONPATH={probe['pythonpath']}"
    assert _inside(probe["diffedu"], purelib), f"diffedu came from {probe['diffedu']}"
    for entry in probe["sys_path"]:
        path = entry or probe["cwd"]  # '' on sys.path is the working folder
        assert not _inside(path, ROOT) and not _inside(path, colab.source), (
            f"the kernel's sys.path holds {entry!r}, through which diffedu could be found"
        )

    # A regular install from DIFFEDU_INSTALL_SOURCE, not an editable one.
    installed = after["modules"]["diffedu"]
    assert installed is not None, "diffedu is not importable in the venv after the chapter"
    assert _inside(installed["origin"], purelib), installed["origin"]
    direct_url = installed["direct_url"] or {}
    assert direct_url.get("url") == colab.source.as_uri(), direct_url
    assert not direct_url.get("dir_info", {}).get("editable", False), "diffedu is editable"

    # torch and numpy untouched: same version, same file, not rewritten.
    for name in ("torch", "numpy"):
        assert after["modules"][name] == colab.baseline["modules"][name], (
            f"{name} changed during {notebook.name}: "
            f"{colab.baseline['modules'][name]} -> {after['modules'][name]}"
        )
