"""Sphinx extension: references to exercises from another page resolve in the PDF.

sphinx-exercise labels an exercise in LaTeX as ``exercise:<label>`` and rewrites the references
made on the exercise's own page to that label. A reference from another page (the instructors
page, a later chapter) keeps Sphinx's ``<docname>:<label>``, which nothing defines: LaTeX prints
it as ``??``. This post-transform, for LaTeX builders only, wraps each such reference in a
hyperlink to ``exercise:<label>`` and keeps its text as Sphinx resolved it ("Exercise 1.10.3",
math and all, escaped as any text is). The HTML book is untouched.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.writers.latex import LaTeXTranslator
from sphinx_exercise.nodes import exercise_enumerable_node, exercise_latex_number_reference
from sphinx_exercise.nodes import exercise_node as exercise_plain_node


class exercise_xref(nodes.Inline, nodes.TextElement):  # noqa: N801 (docutils' node style)
    """A link to an exercise's LaTeX label; its children are the reference's text."""


def visit_exercise_xref(self: LaTeXTranslator, node: exercise_xref) -> None:
    self.body.append(rf"\hyperref[exercise:{node['label']}]{{")


def depart_exercise_xref(self: LaTeXTranslator, node: exercise_xref) -> None:
    self.body.append("}")


class CrossPageExerciseReferences(SphinxPostTransform):
    """Point references to an exercise on another page at sphinx-exercise's LaTeX label."""

    # After sphinx-exercise's own reference post-transforms (priority 20 and 22).
    default_priority = 23
    formats = ("latex",)

    def run(self, **kwargs: Any) -> None:
        registry = getattr(self.env, "sphinx_exercise_registry", {})
        exercises = (exercise_enumerable_node, exercise_plain_node)
        for node in list(self.document.findall(nodes.reference)):
            refuri = node.get("refuri", "")
            if isinstance(node, exercise_latex_number_reference) or "#" not in refuri:
                continue
            label = refuri.rpartition("#")[2]
            target = registry.get(label, {}).get("node")
            if not isinstance(target, exercises):
                continue
            new = exercise_xref(label=label)
            new.extend(node.children)
            node.replace_self(new)


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("sphinx_exercise")
    app.add_node(exercise_xref, latex=(visit_exercise_xref, depart_exercise_xref))
    app.add_post_transform(CrossPageExerciseReferences)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
