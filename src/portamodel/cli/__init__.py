"""The ``portamodel`` command line: ``info``, ``convert``, ``validate`` and ``score``.

:func:`main` parses ``argv``, runs one subcommand and returns the exit code; it never raises (except
``SystemExit`` from nowhere) and prints errors as one line, ``portamodel: error: <message>``, on stderr.
The exit codes are listed in :mod:`portamodel.cli._errors` and in ``portamodel --help``.

>>> main(["--version"])  # doctest: +ELLIPSIS
portamodel ...
0
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from typing import TextIO

from . import convert, info, score, validate
from ._errors import EXIT_BROKEN_PIPE, EXIT_USAGE, describe_error, epilog_table, exit_code_for

__all__ = ["build_parser", "main"]

PROG = "portamodel"
SUBCOMMANDS = (info, convert, validate, score)

DESCRIPTION = """\
Trained models made portable: read PMML, ONNX or portamodel JSON, inspect, check, convert
and score them with numpy alone. Run 'portamodel COMMAND --help' for the options of a command."""


def _epilog() -> str:
    return f"""\
examples:
  portamodel info examples/iris_forest.json
  portamodel score examples/iris_forest.json examples/iris.csv -o predictions.csv
  portamodel convert model.pmml model.json
  portamodel validate model.onnx && echo sound

exit codes:
{epilog_table()}"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``portamodel`` command."""
    from .. import __version__

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the full traceback when something fails",
    )
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=_epilog(),
        formatter_class=_Formatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for module in SUBCOMMANDS:
        module.register(sub, parents=[common], formatter_class=_Formatter)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error (already printed)
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: a command is required (info, convert, validate, score)", file=sys.stderr)
        return EXIT_USAGE
    debug = bool(getattr(args, "debug", False))
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        with _warnings_to_stderr(debug):
            return run(args)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE  # like a process killed by SIGPIPE: the reader went away, nothing to report
    except (Exception, KeyboardInterrupt) as exc:
        if debug:
            traceback.print_exc(file=sys.stderr)
        print(f"{PROG}: error: {describe_error(exc)}", file=sys.stderr)
        return exit_code_for(exc)


@contextlib.contextmanager
def _warnings_to_stderr(debug: bool) -> Iterator[None]:
    """Show library warnings (for example lost information) as ``portamodel: warning: ...`` lines."""

    def show(
        message: Warning | str, category: type[Warning], filename: str, lineno: int, file: TextIO | None = None, line: str | None = None
    ) -> None:
        text = " ".join(str(message).split())
        if debug:
            text = f"{text} ({category.__name__} at {filename}:{lineno})"
        print(f"{PROG}: warning: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = show
        yield


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush stays quiet."""
    with contextlib.suppress(Exception):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
