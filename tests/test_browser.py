"""The built book in a browser: every page of _build/html as a reader meets it.

Build first (``jupyter-book build .``), then run
``DIFFEDU_BROWSER_TESTS=1 pytest tests/test_browser.py`` (or ``pytest --browser``).
Headless Chromium (Debian's ``chromium`` package, driven by Playwright) loads each page once from
a local web server; MathJax comes from a local copy (tests/browser_support.py) and every other
request that leaves the server is refused and reported. The tests then read what that one visit
found. A full-page screenshot of each page is left in ``_build/screenshots`` for review.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import browser_support as bs
import nbformat
import notebook_cells
import pytest

from diffedu import plot as dplot

pytestmark = pytest.mark.browser

PAGES = bs.book_pages()
SOURCED = [p for p in PAGES if p.source is not None]
NOTEBOOKS = [p for p in PAGES if p.is_notebook]
CONFIG = bs.load_config()
COLAB_BASE = CONFIG["launch_buttons"]["colab_url"].rstrip("/") + "/"
TIMEOUT_MS = 60_000

# Console errors that come from the toolchain, not from the book, each with its cause. Sphinx 7.4
# adds each inline script registered after the builder starts twice (fixed upstream in Sphinx
# 8.2, sphinx-doc/sphinx#13402; Jupyter Book 1.x needs Sphinx < 8). sphinx-thebe's inline config
# then declares `const THEBE_JS_URL` twice; the first copy has already set every value, so the
# error changes nothing on the page.
KNOWN_ERRORS = (re.compile(r"Identifier 'THEBE_JS_URL' has already been declared"),)

# Everything the page looks up in one pass, after MathJax has typeset it.
INSPECT_JS = r"""
(colabBase) => {
  const raw = /\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\end\{/;
  const skip = "script, style, pre, code, kbd, samp, textarea, mjx-container, .highlight";
  const where = (el) => {
    const tagged = el.closest("[id]");
    return `${el.tagName.toLowerCase()}.${[...el.classList].join(".")}` +
      (tagged ? ` in #${tagged.id}` : "");
  };
  const rawTex = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest(skip) || !raw.test(node.data)) continue;
    const i = node.data.search(raw);
    rawTex.push(`${where(el)}: ...${node.data.slice(Math.max(0, i - 40), i + 40).trim()}...`);
  }
  const math = [...document.querySelectorAll(".math")];
  const containers = [...document.querySelectorAll("mjx-container")];
  const red = "[style*='color: red'], [mathcolor='red']";
  const typeOf = (el) => [...el.classList].filter((c) => c !== "proof" && c !== "admonition");
  return {
    mathjaxVersion: window.MathJax && window.MathJax.version ? window.MathJax.version : null,
    mathCount: math.length,
    untypeset: math.filter((el) => !el.querySelector("mjx-container"))
      .map((el) => `${where(el)}: ${el.textContent.trim().slice(0, 80)}`),
    mathErrors: containers.filter((c) => c.querySelector("mjx-merror, [data-mjx-error]"))
      .map((c) => {
        const e = c.querySelector("[data-mjx-error]") || c.querySelector("mjx-merror");
        return `${where(c)}: ${e.getAttribute("data-mjx-error") || e.textContent.slice(0, 80)}`;
      }),
    // MathJax's noundefined extension prints an unknown macro as red text instead of failing.
    undefinedMacros: containers.map((c) => [...c.querySelectorAll(red)]
      .map((e) => e.textContent.trim()).filter((t) => t.length))
      .filter((names) => names.length).map((names) => names.join(" ")),
    rawTex: rawTex,
    images: [...document.images].map((img) => ({
      src: img.getAttribute("src"), complete: img.complete, width: img.naturalWidth,
      inFigure: !!img.closest("figure"),
    })),
    links: [...document.querySelectorAll("a[href]")]
      .filter((a) => new URL(a.href).origin === location.origin)
      .map((a) => ({href: a.href, text: a.textContent.trim().slice(0, 60)})),
    proofs: [...document.querySelectorAll(".proof.admonition")].map(typeOf),
    exercises: document.querySelectorAll(".exercise.admonition").length,
    solutions: [...document.querySelectorAll(".solution.admonition")].map((el) => ({
      id: el.id,
      button: !!el.querySelector(".admonition-title .toggle-button"),
      hidden: el.classList.contains("toggle-hidden"),
    })),
    colab: [...document.querySelectorAll("a[href]")].map((a) => a.href)
      .filter((href) => href.startsWith(colabBase)),
  };
}
"""

# Wait until every image has loaded or failed (lazy ones are told to load now), at most 20 s.
IMAGES_JS = """
() => Promise.race([
  Promise.all([...document.images].map((img) => {
    img.loading = "eager";
    return img.complete ? null : new Promise((done) => {
      img.addEventListener("load", done); img.addEventListener("error", done);
    });
  })),
  new Promise((done) => setTimeout(done, 20000)),
])
"""

# Is the admonition with this id open, its body shown?
OPENED_JS = """
(id) => {
  const box = document.getElementById(id);
  const body = box.querySelector(":scope > .admonition-title ~ *");
  return !box.classList.contains("toggle-hidden") && body !== null && body.checkVisibility();
}
"""


# Folds, sideways overflow and figure sizes (issue 13). Every <details> is opened first, so that
# folded code is measured as a reader who unfolds it sees it.
LAYOUT_JS = r"""
() => {
  const where = (el) => {
    const tagged = el.closest("[id]");
    return `${el.tagName.toLowerCase()}.${[...el.classList].join(".")}` +
      (tagged ? ` in #${tagged.id}` : "");
  };
  const cells = [...document.querySelectorAll("div.cell")];
  const folds = cells.filter((c) => c.querySelector(":scope > details.above-input"))
    .map((c) => {
      const details = c.querySelector(":scope > details.above-input");
      const input = details.querySelector(".cell_input");
      const output = c.querySelector(":scope > .cell_output");
      return {
        where: where(c),
        closed: !details.open && input !== null && !input.checkVisibility(),
        outputShown: output === null || output.checkVisibility(),
      };
    });
  const figures = [...document.querySelectorAll(".cell_output img")].map((img) => ({
    src: img.getAttribute("src"),
    natural: img.naturalWidth,
    shown: img.getBoundingClientRect().width,
  }));
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  // Code, outputs, and displayed equations (MathJax's container, and the block around it).
  const boxes = "div.highlight pre, .cell_output, .cell_output pre, .output pre, " +
    "div.math, mjx-container[display='true']";
  const overflowing = [...document.querySelectorAll(boxes)]
    .filter((el) => el.checkVisibility() && el.scrollWidth > el.clientWidth)
    .map((el) => ({
      where: where(el),
      over: el.scrollWidth - el.clientWidth,
      text: el.textContent.trim().split("\n")[0].slice(0, 60),
    }));
  return {
    folds: folds,
    figures: figures,
    overflowing: overflowing,
    pageWidth: document.scrollingElement.scrollWidth,
    windowWidth: window.innerWidth,
  };
}
"""


@dataclass
class Visit:
    """What one visit of a page found."""

    url: str
    problems: list[str] = field(default_factory=list)  # console errors, failed requests, ...
    found: dict = field(default_factory=dict)  # INSPECT_JS's answer
    solution_opens: bool | None = None  # does the first solution's toggle button open it?
    layout: dict = field(default_factory=dict)  # LAYOUT_JS's answer
    screenshot: Path | None = None


@pytest.fixture(scope="session")
def book_html() -> Path:
    root = bs.html_dir()
    if not (root / PAGES[0].html_path).is_file():
        pytest.fail(
            f"no built book in {root}: build it first with `jupyter-book build .` "
            "(or point DIFFEDU_BOOK_HTML at a built book)",
            pytrace=False,
        )
    return root


@pytest.fixture(scope="session")
def server(book_html):
    with bs.BookServer(book_html) as srv:
        yield srv


@pytest.fixture(scope="session")
def mathjax(book_html) -> tuple[str, Path]:
    """The URL folder the pages load MathJax from, and the local copy served in its place."""
    return bs.mathjax_prefix(bs.mathjax_urls(book_html)), bs.ensure_mathjax(bs.mathjax_dir())


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need Playwright: pip install playwright", pytrace=False)
    chromium = bs.chromium_path()
    if not Path(chromium).exists():
        pytest.fail(
            f"no Chromium at {chromium}: apt-get install -y chromium (or set DIFFEDU_CHROMIUM)",
            pytrace=False,
        )
    with sync_playwright() as pw:
        # Debian's Chromium, never a browser Playwright downloads (`playwright install`).
        browser = pw.chromium.launch(executable_path=chromium)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def visit(browser, server, mathjax):
    """``visit(page)`` loads a page once per session and returns what it found."""
    from playwright.sync_api import Error as PlaywrightError

    prefix, es5 = mathjax
    shots = bs.screenshot_dir()
    shots.mkdir(parents=True, exist_ok=True)
    cache: dict[str, Visit] = {}

    def load(page_info: bs.Page) -> Visit:
        if page_info.name in cache:
            return cache[page_info.name]
        result = Visit(f"{server.origin}/{page_info.html_path}")
        refused: set[str] = set()
        # A fresh context per page: each page is a reader's first visit (empty storage).
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()

        def route(r):
            url = r.request.url
            if url.startswith(server.origin + "/"):
                return r.continue_()
            if url.startswith(prefix):
                local = es5 / urlsplit(url[len(prefix) :]).path
                if local.is_file():
                    return r.fulfill(path=str(local))
                result.problems.append(f"MathJax file missing from the local copy: {url}")
                return r.fulfill(status=404)
            result.problems.append(f"request that leaves the book (refused): {url}")
            refused.add(url)
            return r.abort()

        def on_console(msg):
            if msg.type == "error" and not any(k.search(msg.text) for k in KNOWN_ERRORS):
                result.problems.append(f"console error: {msg.text} ({msg.location.get('url')})")

        def on_page_error(err):
            if not any(k.search(str(err)) for k in KNOWN_ERRORS):
                result.problems.append(f"uncaught exception: {err}")

        def on_failed(request):
            if request.url not in refused:
                result.problems.append(f"request failed: {request.url} ({request.failure})")

        def on_response(response):
            if response.status >= 400:
                result.problems.append(f"HTTP {response.status}: {response.url}")

        page.route("**/*", route)
        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        page.on("requestfailed", on_failed)
        page.on("response", on_response)
        try:
            page.goto(result.url, wait_until="load")
            if page.locator("script[src*='mathjax']").count():
                page.wait_for_function(
                    "() => window.MathJax && MathJax.version && MathJax.startup"
                    " && MathJax.startup.promise"
                )
                page.evaluate("() => MathJax.startup.promise.then(() => true)")
            page.evaluate(IMAGES_JS)
            page.evaluate("() => document.fonts.ready.then(() => true)")
            result.found = page.evaluate(INSPECT_JS, COLAB_BASE)
            result.screenshot = shots / f"{page_info.test_id}.png"
            page.screenshot(path=str(result.screenshot), full_page=True)
            # A reader opens the first solution with its toggle button.
            closed = page.locator(".solution.admonition.toggle-hidden")
            if closed.count():
                solution_id = closed.first.get_attribute("id")
                closed.first.locator(".toggle-button").click()
                result.solution_opens = page.evaluate(OPENED_JS, solution_id)
            result.layout = page.evaluate(LAYOUT_JS)
        except PlaywrightError as err:
            result.problems.append(f"the page did not finish loading: {err}")
        finally:
            context.close()
        cache[page_info.name] = result
        return result

    return load


def _ids(page_info: bs.Page) -> str:
    return page_info.test_id


@pytest.mark.parametrize("page_info", PAGES, ids=_ids)
def test_page_loads_cleanly(visit, page_info):
    """The page loads with no console error, no uncaught exception and no failed request."""
    result = visit(page_info)
    problems, shot = result.problems, result.screenshot
    assert not problems, f"{result.url}:\n" + "\n".join(problems)
    assert shot is not None and shot.stat().st_size > 0, "no screenshot was taken"


@pytest.mark.parametrize("page_info", PAGES, ids=_ids)
def test_math_is_typeset(visit, page_info):
    """MathJax typesets every equation, without errors, and no raw TeX is left in the text."""
    found = visit(page_info).found
    assert found, "the page did not load (see test_page_loads_cleanly)"
    problems = []
    if found["mathCount"] and not found["mathjaxVersion"]:
        problems.append(f"{found['mathCount']} equations, but the page does not load MathJax")
    for key, what in (
        ("untypeset", "equation left as text"),
        ("mathErrors", "MathJax error"),
        ("undefinedMacros", "undefined TeX macro"),
        ("rawTex", "raw TeX in the text (math that was never parsed)"),
    ):
        problems += [f"{what}: {item}" for item in found[key]]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page_info", PAGES, ids=_ids)
def test_images_load(visit, page_info):
    """Every image loads, and each captioned figure of a notebook is on its page."""
    found = visit(page_info).found
    assert found, "the page did not load (see test_page_loads_cleanly)"
    broken = [i["src"] for i in found["images"] if not (i["complete"] and i["width"] > 0)]
    assert not broken, "images that did not load:\n" + "\n".join(broken)
    if page_info.source is not None:
        expected = bs.named_figure_cells(page_info.source)
        figures = sum(i["inFigure"] for i in found["images"])
        assert figures >= expected, (
            f"{expected} code cells have a figure caption in {page_info.source.name}, "
            f"but the page shows {figures} figure images"
        )


@pytest.fixture(scope="session")
def fetch_ids(server):
    """``fetch_ids(path)``: the HTTP status of a path on the server and the anchors it offers."""
    cache: dict[str, tuple[int, set[str]]] = {}

    def fetch(path: str) -> tuple[int, set[str]]:
        if path not in cache:
            try:
                with urllib.request.urlopen(server.origin + path, timeout=30) as response:
                    body = response.read()
                    status = response.status
                    kind = response.headers.get_content_type()
            except urllib.error.HTTPError as err:
                cache[path] = (err.code, set())
            else:
                ids = bs.html_ids(body.decode(errors="replace")) if kind == "text/html" else set()
                cache[path] = (status, ids)
        return cache[path]

    return fetch


@pytest.mark.parametrize("page_info", PAGES, ids=_ids)
def test_internal_links_resolve(visit, fetch_ids, page_info):
    """Every link within the book reaches a file on the server, and its #anchor exists there."""
    found = visit(page_info).found
    assert found, "the page did not load (see test_page_loads_cleanly)"
    broken = []
    for link in found["links"]:
        parts = urlsplit(link["href"])
        status, ids = fetch_ids(parts.path or "/")
        if status != 200:
            broken.append(f"{link['href']} ({link['text']!r}): HTTP {status}")
        elif parts.fragment and unquote(parts.fragment) not in ids:
            broken.append(f"{link['href']} ({link['text']!r}): no #{unquote(parts.fragment)}")
    assert found["links"], "the page has no internal link at all (not even the navigation)"
    assert not broken, "broken internal links:\n" + "\n".join(broken)


@pytest.mark.parametrize("page_info", SOURCED, ids=_ids)
def test_proofs_render(visit, page_info):
    """Each prf: directive of the source renders as a proof admonition of its kind."""
    found = visit(page_info).found
    assert found, "the page did not load (see test_page_loads_cleanly)"
    expected = {
        name.removeprefix("prf:"): n
        for name, n in bs.directive_counts(page_info.source).items()
        if name.startswith("prf:")
    }
    rendered: dict[str, int] = {}
    for classes in found["proofs"]:
        # sphinx-proof's class for the kind follows "proof"; togglebutton may add its own.
        others = [c for c in classes if not c.startswith(("toggle", "dropdown"))]
        kind = others[0] if others else "proof"
        rendered[kind] = rendered.get(kind, 0) + 1
    assert rendered == expected, (
        f"prf directives in {page_info.source.name}: {expected}; rendered: {rendered}"
    )


@pytest.mark.parametrize("page_info", SOURCED, ids=_ids)
def test_exercises_render(visit, page_info):
    """Exercises and solutions of the source render; solutions are closed dropdowns that open."""
    result = visit(page_info)
    found = result.found
    assert found, "the page did not load (see test_page_loads_cleanly)"
    counts = bs.directive_counts(page_info.source)
    n_exercises = counts["exercise"] + counts["exercise-start"]
    n_solutions = counts["solution"] + counts["solution-start"]
    if page_info.is_notebook:
        assert n_exercises >= 3, (
            f"a chapter has at least 3 exercises; {page_info.source.name} has {n_exercises}"
        )
    assert found["exercises"] == n_exercises, (
        f"{n_exercises} exercises in the source, {found['exercises']} rendered"
    )
    assert len(found["solutions"]) == n_solutions, (
        f"{n_solutions} solutions in the source, {len(found['solutions'])} rendered"
    )
    shown = [s["id"] for s in found["solutions"] if not (s["button"] and s["hidden"])]
    assert not shown, f"solutions shown open, or without a toggle button: {shown}"
    if n_solutions:
        assert result.solution_opens, "a solution's toggle button does not open it"


@pytest.mark.parametrize("page_info", NOTEBOOKS, ids=_ids)
def test_colab_link(visit, page_info):
    """The chapter's Colab launch button opens this notebook on the configured repository."""
    found = visit(page_info).found
    assert found, "the page did not load (see test_page_loads_cleanly)"
    expected = bs.colab_url(page_info.source, CONFIG)
    assert found["colab"] == [expected], f"expected one Colab link {expected}"


@pytest.mark.parametrize("page_info", NOTEBOOKS, ids=_ids)
def test_search_finds_chapter(browser, server, page_info):
    """The book's search page finds each chapter by the longest word of its title."""
    from playwright.sync_api import Error as PlaywrightError

    word = max(re.findall(r"[A-Za-z]+", bs.page_title(page_info.source)), key=len)
    context = browser.new_context()
    try:
        page = context.new_page()
        # Offline: the search needs no MathJax, so every request that leaves the book is refused.
        page.route(
            "**/*",
            lambda r: r.continue_() if r.request.url.startswith(server.origin) else r.abort(),
        )
        page.goto(f"{server.origin}/search.html?q={word}", timeout=TIMEOUT_MS)
        results = page.locator("#search-results ul.search li a")
        try:
            results.first.wait_for(timeout=20_000)
        except PlaywrightError:
            pass  # no result at all: the assertion below says so
        hrefs = results.evaluate_all("links => links.map((a) => a.href)")
    finally:
        context.close()
    target = f"{server.origin}/{page_info.html_path}"
    assert any(h.split("#")[0] == target for h in hrefs), (
        f"searching {word!r} does not list {page_info.html_path}; it lists {hrefs}"
    )


# --- Reading experience (issue 13): folds, no sideways scrolling, legible figures ------------


@pytest.mark.parametrize("page_info", NOTEBOOKS, ids=_ids)
def test_plotting_code_is_folded(visit, page_info):
    """The install cell and every figure cell show folded (the figure shown), and nothing else."""
    layout = visit(page_info).layout
    assert layout, "the page did not load (see test_page_loads_cleanly)"
    nb = nbformat.read(page_info.source, as_version=4)
    expected = sum(c.should_fold for c in notebook_cells.classify(nb) if c.kind != "hidden")
    folds = layout["folds"]
    open_ = [f["where"] for f in folds if not f["closed"]]
    hidden_output = [f["where"] for f in folds if not f["outputShown"]]
    assert len(folds) == expected, (
        f"{page_info.source.name}: {expected} cells fold by the rule "
        f"(tests/notebook_cells.py), the page folds {len(folds)}"
    )
    assert not open_, "folded cells shown open:\n" + "\n".join(open_)
    assert not hidden_output, "folded cells whose output is hidden:\n" + "\n".join(hidden_output)


@pytest.mark.parametrize("page_info", PAGES, ids=_ids)
def test_nothing_scrolls_sideways(visit, page_info):
    """At a 1280-px window no code block or output is wider than its box (code folds opened),
    and the page itself does not scroll sideways."""
    layout = visit(page_info).layout
    assert layout, "the page did not load (see test_page_loads_cleanly)"
    wide = [f"{o['where']}: {o['over']} px too wide: {o['text']!r}" for o in layout["overflowing"]]
    assert layout["pageWidth"] <= layout["windowWidth"], (
        f"the page is {layout['pageWidth']} px wide in a {layout['windowWidth']}-px window"
    )
    assert not wide, f"{len(wide)} boxes scroll sideways:\n" + "\n".join(wide)


@pytest.mark.parametrize("page_info", NOTEBOOKS, ids=_ids)
def test_figure_text_is_legible(visit, page_info):
    """Every figure is shown large enough that 8-pt text in it reads as at least 8 pt."""
    layout = visit(page_info).layout
    assert layout, "the page did not load (see test_page_loads_cleanly)"
    small = []
    for fig in layout["figures"]:
        scale = fig["shown"] / fig["natural"] if fig["natural"] else 0.0
        # The PNG is at diffedu.plot.FIGURE_DPI; the browser shows it `scale` times as wide.
        text_pt = dplot.SMALLEST_FONT_PT * dplot.FIGURE_DPI / dplot.CSS_DPI * scale
        if text_pt < dplot.MIN_TEXT_PT:
            small.append(
                f"{fig['src']}: {fig['natural']} px shown at {fig['shown']:.0f} px "
                f"(scale {scale:.2f}): {dplot.SMALLEST_FONT_PT:g}-pt text at {text_pt:.1f} pt"
            )
    assert not small, "figures shrunk below legible text:\n" + "\n".join(small)
