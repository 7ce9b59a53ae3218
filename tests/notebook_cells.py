"""Which code cells of a chapter fold: a classifier of notebook cells, and a tool that tags them.

A reader of the rendered book sees the experiment code and the figures; the code that only draws
a figure folds behind a toggle (the ``hide-input`` tag: the figure stays, its code is one click
away). So does the install cell. The rule, applied by :func:`classify` to each code cell:

- **install**: the first code cell of the notebook (the Colab install guard). It folds.
- **hidden**: tagged ``remove-cell`` or ``remove-input``; the page never shows its code.
- **figure**: the cell *draws* (it calls ``plt.show()``, ``plt.figure()`` or a ``subplots``, or
  its metadata gives a captioned figure, ``mystnb.figure``) and does nothing else. It folds.
- **mixed**: the cell draws and also does something else (below). It is reported: split it
  into an experiment cell and a figure cell.
- **experiment**: every other cell. It never folds.

"Something else" is any of these, found by walking the cell's syntax tree (``ast``), so that the
rule does not depend on how the code is laid out:

1. it gives the rest of the chapter a value: a name that the cell binds at its top level is read
   by a later code cell, not a hidden one, before that cell binds it itself (a folded cell must
   be a leaf: a reader never needs its code to follow the chapter; a hidden assertion cell may
   read a figure's data);
2. it puts a number in the prose or the output: a call of ``glue``, ``print`` or ``display``;
3. it checks or defines: ``assert``, ``def``, ``class``, ``import``, ``global``;
4. it draws random numbers: a ``generator=`` argument, a call into ``torch.random`` /
   ``np.random`` / ``random``, or ``torch.rand``, ``randn``, ``randint``, ``randperm``,
   ``normal``, ``bernoulli``, ``multinomial``, ``manual_seed``.

Everything else is drawing: figure and axes calls, loops over them, and local variables for the
plot (grids, curves evaluated for display, labels, styles), however they are computed.

Run it as a tool, from the repository root::

    python tests/notebook_cells.py book/*.ipynb           # report: what would fold, what is mixed
    python tests/notebook_cells.py --apply book/*.ipynb   # add hide-input where the rule says

``--apply`` adds the ``hide-input`` tag to the install and figure cells and removes it from
experiment cells; it changes nothing else in the file (cell ids, metadata and formatting are
kept, as nbformat writes them). ``tests/test_notebooks.py`` checks the same rule.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

FOLD_TAG = "hide-input"
HIDDEN_TAGS = frozenset({"remove-cell", "remove-input"})

# Calls that make a figure appear: the last attribute (or the name) of the called function.
_DRAW_FUNCS = frozenset({"show", "subplots", "subplot_mosaic", "figure"})
_OUTPUT_FUNCS = frozenset({"glue", "print", "display"})
_RANDOM_FUNCS = frozenset(
    {
        "rand",
        "randn",
        "randint",
        "randperm",
        "rand_like",
        "randn_like",
        "randint_like",
        "normal",
        "bernoulli",
        "multinomial",
        "poisson",
        "manual_seed",
        "seed",
        "default_rng",
    }
)
_RANDOM_MODULES = frozenset({"random"})  # np.random.x, torch.random.x, random.x
_BUILTINS = frozenset(dir(builtins))


@dataclass
class Cell:
    """One code cell of a notebook and what the rule makes of it."""

    index: int  # position among all cells of the notebook (markdown included)
    kind: str  # "install", "hidden", "figure", "mixed" or "experiment"
    tags: list[str]
    reasons: list[str] = field(default_factory=list)  # why a drawing cell is "mixed"
    first_line: str = ""

    @property
    def should_fold(self) -> bool:
        return self.kind in ("install", "figure")

    @property
    def folded(self) -> bool:
        return FOLD_TAG in self.tags


def python_source(source: str) -> str:
    """The cell's source as plain Python (IPython magics and shell escapes translated)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return source
    return TransformerManager().transform_cell(source)


def _call_name(func: ast.expr) -> str:
    """The called function's last name: ``plt.show`` -> ``show``, ``glue`` -> ``glue``."""
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _dotted(node: ast.expr) -> list[str]:
    """``np.random.default_rng`` -> ["np", "random", "default_rng"] (calls and subscripts cut)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return parts[::-1]


class _FreeNames(ast.NodeVisitor):
    """Names a block of code reads before it binds them (its inputs), in execution order."""

    def __init__(self, bound: set[str] | None = None):
        self.bound: set[str] = set(bound or ())
        self.free: set[str] = set()

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            if node.id not in self.bound:
                self.free.add(node.id)
        else:
            self.bound.add(node.id)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            if node.target.id not in self.bound:
                self.free.add(node.target.id)
            self.bound.add(node.target.id)
        else:
            self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.visit(node.target)

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for stmt in node.body + node.orelse:
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def _comprehension(self, node, elements) -> None:
        outer = set(self.bound)
        for gen in node.generators:
            self.visit(gen.iter)
            self.visit(gen.target)
            for cond in gen.ifs:
                self.visit(cond)
        for element in elements:
            self.visit(element)
        self.bound = outer  # the comprehension's variables are its own

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self._comprehension(node, [node.elt])

    visit_SetComp = visit_ListComp
    visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._comprehension(node, [node.key, node.value])

    def _function(self, node, body: list) -> None:
        for default in node.args.defaults + [d for d in node.args.kw_defaults if d]:
            self.visit(default)
        for decorator in getattr(node, "decorator_list", []):
            self.visit(decorator)
        args = node.args
        params = {
            a.arg
            for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]
            if a is not None
        }
        local = params | {
            n.id
            for stmt in body
            for n in ast.walk(stmt)
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
        }
        inner = _FreeNames(self.bound | local)
        for stmt in body:
            inner.visit(stmt)
        self.free |= inner.free

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node, node.body)
        self.bound.add(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._function(node, [ast.Expr(node.body)])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in node.bases + node.decorator_list + [k.value for k in node.keywords]:
            self.visit(expr)
        inner = _FreeNames(self.bound)
        for stmt in node.body:
            inner.visit(stmt)
        self.free |= inner.free
        self.bound.add(node.name)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.bound.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            self.bound.add(alias.asname or alias.name)


def free_names(tree: ast.Module) -> set[str]:
    """The names a cell reads that it has not bound itself first (builtins left out)."""
    visitor = _FreeNames()
    visitor.visit(tree)
    return visitor.free - _BUILTINS


class _Bindings(ast.NodeVisitor):
    """Names bound in the namespace a block runs in; nested scopes are not entered."""

    def __init__(self):
        self.names: set[str] = set()

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load):
            self.names.add(node.id)

    def _scope(self, node) -> None:
        if hasattr(node, "name"):
            self.names.add(node.name)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scope
    visit_Lambda = visit_ListComp = visit_SetComp = visit_DictComp = _scope
    visit_GeneratorExp = _scope

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.names.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            self.names.add(alias.asname or alias.name)


def top_level_bindings(tree: ast.Module) -> set[str]:
    """The names a cell binds in the notebook's namespace (loop variables included)."""
    visitor = _Bindings()
    visitor.visit(tree)
    return visitor.names


def draws(tree: ast.Module, metadata: dict) -> bool:
    """Does the cell make a figure (show, figure, subplots; or a captioned figure's metadata)?"""
    if metadata.get("mystnb", {}).get("figure"):
        return True
    return any(
        isinstance(node, ast.Call) and _call_name(node.func) in _DRAW_FUNCS
        for node in ast.walk(tree)
    )


def side_effects(tree: ast.Module) -> list[str]:
    """What a cell does besides drawing (rules 2-4 of the module docstring), one line each."""
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", "?")
        if isinstance(node, ast.Call):
            name = _call_name(node.func)
            dotted = _dotted(node.func)
            if name in _OUTPUT_FUNCS:
                found.append(f"line {line}: calls {name}()")
            if any(k.arg == "generator" for k in node.keywords):
                found.append(f"line {line}: draws random numbers (generator=)")
            elif name in _RANDOM_FUNCS or _RANDOM_MODULES & set(dotted[:-1]):
                found.append(f"line {line}: draws random numbers ({'.'.join(dotted)})")
        elif isinstance(node, ast.Assert):
            found.append(f"line {line}: assert")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.append(f"line {line}: defines {node.name}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(f"line {line}: import")
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            found.append(f"line {line}: global")
    return found


def classify(nb) -> list[Cell]:
    """Every code cell of a notebook (an ``nbformat`` node), classified by the module's rule."""
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    trees = []
    for i, cell in code:
        try:
            trees.append(ast.parse(python_source(cell.source)))
        except SyntaxError as err:
            raise SyntaxError(f"code cell {i}: {err}") from err
    inputs = [free_names(tree) for tree in trees]
    cells = []
    for k, ((i, cell), tree) in enumerate(zip(code, trees, strict=True)):
        tags = list(cell.metadata.get("tags", []))
        lines = cell.source.strip().splitlines()
        result = Cell(i, "experiment", tags, first_line=lines[0] if lines else "")
        if k == 0:
            result.kind = "install"
        elif HIDDEN_TAGS & set(tags):
            result.kind = "hidden"
        elif draws(tree, cell.metadata):
            reasons = side_effects(tree)
            exported = top_level_bindings(tree)
            for later_k in range(k + 1, len(code)):
                if HIDDEN_TAGS & set(code[later_k][1].metadata.get("tags", [])):
                    continue  # a hidden check may read a figure's data: no reader sees it
                used = sorted(exported & inputs[later_k])
                if used:
                    reasons.append(f"binds {', '.join(used)}, read by cell {code[later_k][0]}")
                    exported -= set(used)
            result.kind = "mixed" if reasons else "figure"
            result.reasons = reasons
        cells.append(result)
    return cells


def apply_tags(path: Path) -> list[Cell]:
    """Add ``hide-input`` to the cells that fold and take it off the experiment cells."""
    nb = nbformat.read(path, as_version=4)
    cells = classify(nb)
    changed = False
    for info in cells:
        meta = nb.cells[info.index].metadata
        tags = list(meta.get("tags", []))
        if info.should_fold and FOLD_TAG not in tags:
            tags.append(FOLD_TAG)
        elif info.kind in ("experiment", "mixed") and FOLD_TAG in tags:
            tags.remove(FOLD_TAG)
        else:
            continue
        meta["tags"] = tags
        changed = True
    if changed:
        nbformat.write(nb, path)
    return classify(nbformat.read(path, as_version=4))


def report(path: Path, cells: list[Cell]) -> str:
    """A short text report: what folds, what is folded wrongly, what must be split."""
    out = [f"{path}:"]
    for c in cells:
        if c.kind == "hidden":
            continue
        state = "folded" if c.folded else "open"
        wrong = c.should_fold != c.folded and c.kind != "mixed"
        flag = "  <- should be " + ("folded" if c.should_fold else "open") if wrong else ""
        out.append(f"  cell {c.index:3d}  {c.kind:<10}  {state:<6}  {c.first_line[:50]!r}{flag}")
        out += [f"      {reason}" for reason in c.reasons]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--apply", action="store_true", help="write the hide-input tags")
    args = parser.parse_args(argv)
    totals = {"fold": 0, "folded": 0, "mixed": 0}
    for path in args.notebooks:
        if args.apply:
            cells = apply_tags(path)
        else:
            cells = classify(nbformat.read(path, as_version=4))
        print(report(path, cells))
        totals["fold"] += sum(c.should_fold for c in cells)
        totals["folded"] += sum(c.should_fold and c.folded for c in cells)
        totals["mixed"] += sum(c.kind == "mixed" for c in cells)
    print(
        f"\n{totals['fold']} cells fold by the rule ({totals['folded']} tagged hide-input); "
        f"{totals['mixed']} draw and do something else (split them)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
