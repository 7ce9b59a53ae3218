"""Sphinx extension: build the book with the exercise solutions left out.

Instructors who post the book while an assignment is open want the exercises without their
answers. sphinx-exercise has a switch for that, ``hide_solutions``, but it only knows the
one-block ``{solution}`` directive: with gated solutions (``{solution-start}`` ...
``{solution-end}``, which this book uses for every answer that contains code) the build
fails (sphinx-exercise issue #89). This extension does the removal itself, after
sphinx-exercise has merged each gated solution into a single node, so the answer's text, code
and outputs all go. The solution cells still execute, so cells further down that use them run
as before.

Switch it on with the environment variable ``DIFFEDU_HIDE_SOLUTIONS=1`` (or set
``diffedu_hide_solutions: true`` under ``sphinx: config:`` in ``_config.yml``)::

    DIFFEDU_HIDE_SOLUTIONS=1 jupyter-book build . --path-output _build/no-solutions
"""

from __future__ import annotations

import os
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.transforms import SphinxTransform
from sphinx.util.nodes import NodeMatcher
from sphinx_exercise.nodes import solution_node

ENV_VAR = "DIFFEDU_HIDE_SOLUTIONS"
CONFIG_NAME = "diffedu_hide_solutions"


def _env_default() -> bool:
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{ENV_VAR} must be 1/true/yes/on or 0/false/no/off (or unset), got {value!r}")


class RemoveSolutions(SphinxTransform):
    """Drop every solution node, gated ones included, when the switch is on."""

    # sphinx-exercise merges each {solution-start} ... {solution-end} run at priority 10.
    default_priority = 11

    def apply(self, **kwargs: Any) -> None:
        if not self.config[CONFIG_NAME]:
            return
        for node in list(self.document.findall(NodeMatcher(solution_node))):
            node.parent.remove(node)


def _refuse_exercise_switch(app: Sphinx, config: Config) -> None:
    if config[CONFIG_NAME] and config.hide_solutions:
        raise ExtensionError(
            "set diffedu_hide_solutions alone: sphinx-exercise's own hide_solutions drops only "
            "the opening {solution-start} marker, so gated solution content would stay visible"
        )


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("sphinx_exercise")
    app.add_config_value(CONFIG_NAME, _env_default(), "env", types=[bool])
    app.connect("config-inited", _refuse_exercise_switch)
    app.add_transform(RemoveSolutions)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
