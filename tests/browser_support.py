"""Support for tests/test_browser.py: the pages of the book, what their sources promise, a local
MathJax and a local web server for the built HTML.

Nothing here imports Playwright, so the test module can be collected (and skipped) on a machine
without a browser. Paths can be overridden with environment variables:

- ``DIFFEDU_BOOK_HTML``: the built book (default ``_build/html``);
- ``DIFFEDU_MATHJAX_DIR``: MathJax 3's ``es5`` folder, fetched there with ``npm pack`` when it
  holds no ``tex-mml-chtml.js`` (default ``_build/mathjax/<version>/es5``);
- ``DIFFEDU_SCREENSHOT_DIR``: where full-page screenshots go (default ``_build/screenshots``);
- ``DIFFEDU_CHROMIUM``: the browser to drive (default ``/usr/bin/chromium``, Debian's package).
"""

from __future__ import annotations

import base64
import collections
import functools
import hashlib
import html.parser
import http.server
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import yaml

REPO = Path(__file__).resolve().parents[1]

#: MathJax release served in place of the CDN (the pages ask for ``mathjax@3``, its latest 3.x).
MATHJAX_VERSION = "3.2.2"
#: The npm registry's ``dist.integrity`` of that release: the tarball is checked against it.
MATHJAX_INTEGRITY = (
    "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/"
    "O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
)

#: Pages that Sphinx and its extensions generate beside the table of contents.
GENERATED_PAGES = ("genindex", "py-modindex", "prf-prf", "search")

# A directive opens a fence at the start of a line: ```{prf:lemma} Title, :::{exercise}, ...
_DIRECTIVE = re.compile(r"^[ \t]*(?:`{3,}|:{3,})\{([\w:-]+)\}", re.MULTILINE)


def html_dir() -> Path:
    """The built book: ``DIFFEDU_BOOK_HTML``, else ``_build/html``."""
    return Path(os.environ.get("DIFFEDU_BOOK_HTML") or REPO / "_build" / "html")


def mathjax_dir() -> Path:
    """MathJax 3's ``es5`` folder: ``DIFFEDU_MATHJAX_DIR``, else under ``_build/mathjax``."""
    default = REPO / "_build" / "mathjax" / MATHJAX_VERSION / "es5"
    return Path(os.environ.get("DIFFEDU_MATHJAX_DIR") or default)


def screenshot_dir() -> Path:
    """Where screenshots go: ``DIFFEDU_SCREENSHOT_DIR``, else ``_build/screenshots``."""
    return Path(os.environ.get("DIFFEDU_SCREENSHOT_DIR") or REPO / "_build" / "screenshots")


def chromium_path() -> str:
    """The Chromium binary: ``DIFFEDU_CHROMIUM``, else Debian's ``/usr/bin/chromium``."""
    return os.environ.get("DIFFEDU_CHROMIUM") or "/usr/bin/chromium"


def load_config() -> dict:
    """The book's ``_config.yml``."""
    return yaml.safe_load((REPO / "_config.yml").read_text())


@dataclass(frozen=True)
class Page:
    """One HTML page of the book, with the source it is built from (None for generated pages)."""

    name: str  # the Sphinx docname, e.g. "book/01_diffusion"
    source: Path | None

    @property
    def html_path(self) -> str:
        return f"{self.name}.html"

    @property
    def is_notebook(self) -> bool:
        return self.source is not None and self.source.suffix == ".ipynb"

    @property
    def test_id(self) -> str:
        return self.name.rsplit("/", 1)[-1]


def _toc_files(entry) -> list[str]:
    """Every ``file:`` in a _toc.yml entry, in reading order."""
    if isinstance(entry, list):
        return [f for item in entry for f in _toc_files(item)]
    if not isinstance(entry, dict):
        return []
    files = [entry["root"]] if "root" in entry else []
    if "file" in entry:
        files.append(entry["file"])
    for key in ("parts", "chapters", "sections"):
        files += _toc_files(entry.get(key, []))
    return files


def book_pages() -> list[Page]:
    """The pages of _toc.yml, in reading order, then the generated ones."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    pages = []
    for name in _toc_files(toc):
        name = name.removesuffix(".md").removesuffix(".ipynb")
        sources = [REPO / f"{name}{ext}" for ext in (".ipynb", ".md")]
        found = [s for s in sources if s.is_file()]
        if not found:
            raise FileNotFoundError(f"_toc.yml names {name!r}, but neither .ipynb nor .md exists")
        pages.append(Page(name, found[0]))
    return pages + [Page(name, None) for name in GENERATED_PAGES]


def markdown_text(source: Path) -> str:
    """The MyST text of a page: the file itself, or a notebook's markdown cells."""
    if source.suffix == ".md":
        return source.read_text()
    nb = nbformat.read(source, as_version=4)
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def page_title(source: Path) -> str:
    """The text of a page's first level-1 heading."""
    match = re.search(r"^# (.+)$", markdown_text(source), re.MULTILINE)
    if match is None:
        raise ValueError(f"{source} has no level-1 heading")
    return match.group(1).strip()


def directive_counts(source: Path) -> collections.Counter:
    """How often each MyST directive (``prf:lemma``, ``exercise``, ...) opens in a page's source."""
    return collections.Counter(_DIRECTIVE.findall(markdown_text(source)))


def named_figure_cells(source: Path) -> int:
    """Code cells of a notebook whose metadata gives a captioned figure (``mystnb.figure``)."""
    if source.suffix != ".ipynb":
        return 0
    nb = nbformat.read(source, as_version=4)
    return sum(
        1
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("mystnb", {}).get("figure", {}).get("caption")
    )


def colab_url(source: Path, config: dict) -> str:
    """The Colab launch URL of a notebook, built from _config.yml as Jupyter Book builds it."""
    repo = config["repository"]
    org_repo = urlparse(repo["url"]).path.strip("/").removesuffix(".git")
    book_path = "/".join(p for p in (repo.get("path_to_book", "").strip("/"),) if p)
    rel = source.relative_to(REPO).as_posix()
    rel = f"{book_path}/{rel}" if book_path else rel
    base = config["launch_buttons"]["colab_url"].rstrip("/")
    return f"{base}/github/{org_repo}/blob/{repo.get('branch', 'main')}/{rel}"


# --- MathJax -------------------------------------------------------------------------------------

_MATHJAX_SRC = re.compile(r"<script[^>]*\ssrc=\"([^\"]*mathjax[^\"]*)\"", re.IGNORECASE)


def mathjax_urls(root: Path) -> set[str]:
    """Every MathJax script URL that the built pages load."""
    urls = set()
    for path in root.rglob("*.html"):
        if "_static" not in path.parts:
            urls.update(_MATHJAX_SRC.findall(path.read_text(errors="replace")))
    return urls


def mathjax_prefix(urls: set[str]) -> str:
    """The URL folder the pages load MathJax 3's es5 bundle from (served from the local copy)."""
    if len(urls) != 1:
        raise AssertionError(f"expected one MathJax script URL in the book; found {sorted(urls)}")
    (url,) = urls
    match = re.match(r"(https?://.*/mathjax@3[^/]*/es5/)[\w.-]+\.js$", url)
    if not match:
        raise AssertionError(
            f"the book loads MathJax from {url!r}; the browser test serves MathJax "
            f"{MATHJAX_VERSION}'s es5 folder and knows no other layout (update browser_support.py)"
        )
    return match.group(1)


def ensure_mathjax(es5: Path) -> Path:
    """Fetch MathJax's es5 bundle into ``es5`` with ``npm pack`` unless it is there already."""
    if (es5 / "tex-mml-chtml.js").is_file():
        return es5
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            f"MathJax is not in {es5} and npm is missing to fetch it: install npm "
            f"(apt-get install -y npm), or unpack mathjax@{MATHJAX_VERSION}'s es5/ folder there "
            "and point DIFFEDU_MATHJAX_DIR at it"
        )
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [npm, "pack", "--silent", "--pack-destination", tmp, f"mathjax@{MATHJAX_VERSION}"],
            check=True,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
        )
        (tarball,) = Path(tmp).glob("mathjax-*.tgz")
        sha512 = hashlib.sha512(tarball.read_bytes()).digest()
        digest = "sha512-" + base64.b64encode(sha512).decode()
        if digest != MATHJAX_INTEGRITY:
            raise RuntimeError(f"{tarball.name}: integrity {digest} != {MATHJAX_INTEGRITY}")
        staging = Path(tmp) / "es5"
        with tarfile.open(tarball) as tar:
            for member in tar.getmembers():
                rel = Path(member.name)
                if rel.parts[:2] != ("package", "es5") or not member.isfile() or ".." in rel.parts:
                    continue
                target = staging.joinpath(*rel.parts[2:])
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(tar.extractfile(member).read())
        es5.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(es5, ignore_errors=True)
        shutil.copytree(staging, es5)
    return es5


# --- serving the book ----------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


class BookServer:
    """A static web server for a folder on 127.0.0.1 (a free port), in a daemon thread."""

    def __init__(self, root: Path):
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> BookServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class _Ids(html.parser.HTMLParser):
    """Collects every ``id`` (and ``<a name=...>``) of an HTML document."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if value and (key == "id" or (tag == "a" and key == "name")):
                self.ids.add(value)


def html_ids(text: str) -> set[str]:
    """The anchors an HTML document offers."""
    parser = _Ids()
    parser.feed(text)
    return parser.ids
