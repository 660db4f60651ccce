"""``portamodel validate FILE``: load a model, check it is sound, say so in the exit code."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import FORMAT_CHOICES, add_read_option, load_model, options

__all__ = ["register", "run"]

HELP = "load a model and check it is sound (exit code 0 if it is)"
EPILOG = """\
A model is sound when its file parses, every invariant of the in-memory model holds (shapes agree,
indices are in range, trees are acyclic with one parent per node, classes are distinct, every
step reads columns defined before it) and an evaluation plan can be built for it. On success one
line goes to stdout; otherwise one line goes to stderr and the exit code names the problem
(see 'portamodel --help').

examples:
  portamodel validate examples/iris_forest.json
  portamodel validate --quiet model.pmml || echo "not sound: exit code $?\""""


def register(sub: Any, **kwargs: Any) -> None:
    p = sub.add_parser(
        "validate",
        help=HELP,
        description="Load a model and check that it is sound. Exit code 0 means it is.",
        epilog=EPILOG,
        **kwargs,
    )
    p.add_argument("file", metavar="FILE", help="model file; '-' reads stdin")
    p.add_argument("--format", choices=FORMAT_CHOICES, help="read FILE as this format instead of guessing")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    add_read_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model = load_model(args.file, args.format, options(args.read_options))
    _check_scores(model)
    if not args.quiet:
        est = model.estimator
        what = f"{model.family} {model.task}"
        if model.task == "classification":
            what += f" with {len(model.classes)} classes"
        print(f"{args.file}: ok ({what}, {len(model.inputs)} inputs, {type(est).__name__})", file=sys.stdout)
    return 0


def _check_scores(model: Any) -> None:
    """Build the evaluation plan by scoring zero rows (raises if the model cannot be evaluated)."""
    import numpy as np

    empty = {f.name: np.empty(0, dtype=np.float64 if f.is_numeric else object) for f in model.inputs}
    shapes = [np.shape(model.predict(empty))]
    if model.task == "classification":
        shapes.append(np.shape(model.predict_proba(empty)))
    expected = [(0,), (0, len(model.classes))][: len(shapes)]
    if shapes != expected:  # an evaluator bug, reported as an internal error
        raise RuntimeError(f"scoring zero rows gave shapes {shapes}, expected {expected}")
