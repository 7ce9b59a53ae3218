"""Shared pytest set-up: skip ``gpu`` tests without CUDA, and ``browser``, ``colab``,
``pdf`` and ``other_seed`` tests unless asked for.

The markers are declared in pyproject.toml. Browser tests (of the built book in _build/html) run
with ``pytest --browser`` or with the environment variable ``DIFFEDU_BROWSER_TESTS=1``. Colab
tests (every chapter run alone in a fresh virtual environment, tests/test_colab.py) run with
``pytest --colab`` or with ``DIFFEDU_COLAB_TESTS=1``. The other-seed run (every chapter again
at ``DIFFEDU_SEED=K``, tests/test_seeds.py) runs with ``pytest --other-seed K`` or with
``DIFFEDU_OTHER_SEED=K``. PDF tests (of the built PDF in _build/latex, tests/test_pdf.py) run
with ``pytest --pdf`` or ``DIFFEDU_PDF_TESTS=1``.
"""

from __future__ import annotations

import os

import pytest
import torch


def pytest_addoption(parser: pytest.Parser) -> None:
    try:
        parser.addoption(
            "--browser",
            action="store_true",
            default=False,
            help="run the tests marked 'browser' (also: DIFFEDU_BROWSER_TESTS=1)",
        )
    except ValueError:
        # pytest-playwright already defines --browser NAME; passing it enables the tests too.
        pass
    parser.addoption(
        "--other-seed",
        type=int,
        default=None,
        metavar="K",
        help="run the tests marked 'other_seed': every chapter at DIFFEDU_SEED=K "
        "(also: DIFFEDU_OTHER_SEED=K)",
    )
    parser.addoption(
        "--pdf",
        action="store_true",
        default=False,
        help="run the tests marked 'pdf' (also: DIFFEDU_PDF_TESTS=1)",
    )
    parser.addoption(
        "--colab",
        action="store_true",
        default=False,
        help="run the tests marked 'colab' (also: DIFFEDU_COLAB_TESTS=1)",
    )


def _browser_tests_enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("--browser")) or os.environ.get(
        "DIFFEDU_BROWSER_TESTS", ""
    ) not in ("", "0")


def _colab_tests_enabled(config: pytest.Config) -> bool:
    flag = os.environ.get("DIFFEDU_COLAB_TESTS", "")
    return bool(config.getoption("--colab")) or flag not in ("", "0")


def _other_seed(config: pytest.Config) -> int | None:
    seed = config.getoption("--other-seed")
    if seed is None and os.environ.get("DIFFEDU_OTHER_SEED", "") != "":
        value = os.environ["DIFFEDU_OTHER_SEED"]
        try:
            seed = int(value)
        except ValueError:
            raise pytest.UsageError(
                f"DIFFEDU_OTHER_SEED must be an integer; got {value!r}"
            ) from None
    return seed


@pytest.fixture
def other_seed(request: pytest.FixtureRequest) -> int:
    """The seed of the ``other_seed`` run (``--other-seed K`` or ``DIFFEDU_OTHER_SEED=K``)."""
    seed = _other_seed(request.config)
    if seed is None:
        pytest.skip("no seed given: run with --other-seed K or DIFFEDU_OTHER_SEED=K")
    return seed


def _pdf_tests_enabled(config: pytest.Config) -> bool:
    flag = os.environ.get("DIFFEDU_PDF_TESTS", "")
    return bool(config.getoption("--pdf")) or flag not in ("", "0")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    skip_browser = pytest.mark.skip(
        reason="browser test: run with --browser or DIFFEDU_BROWSER_TESTS=1"
    )
    skip_colab = pytest.mark.skip(
        reason="Colab simulation (a fresh venv, packages from the registries, minutes): "
        "run with --colab or DIFFEDU_COLAB_TESTS=1"
    )
    skip_pdf = pytest.mark.skip(
        reason="PDF test of the built book: run with --pdf or DIFFEDU_PDF_TESTS=1"
    )
    has_cuda = torch.cuda.is_available()
    browser = _browser_tests_enabled(config)
    colab = _colab_tests_enabled(config)
    skip_seed = pytest.mark.skip(
        reason="every chapter at another seed (minutes): run with --other-seed K or "
        "DIFFEDU_OTHER_SEED=K"
    )
    seeded = _other_seed(config) is not None
    pdf = _pdf_tests_enabled(config)
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip_gpu)
        if "browser" in item.keywords and not browser:
            item.add_marker(skip_browser)
        if "colab" in item.keywords and not colab:
            item.add_marker(skip_colab)
        if "other_seed" in item.keywords and not seeded:
            item.add_marker(skip_seed)
        if "pdf" in item.keywords and not pdf:
            item.add_marker(skip_pdf)


@pytest.fixture
def one_thread():
    """Run a test on one torch thread: tiny networks are fastest there, and a busy machine
    cannot stall OpenMP workers."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
