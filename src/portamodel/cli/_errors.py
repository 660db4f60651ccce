"""Exit codes: one per error class, and the one-line message printed for an error.

The first class in an exception's method resolution order that appears in :data:`EXIT_CODES`
decides the code, so ``LimitExceededError`` (a ``FormatError``) gets its own code.

>>> exit_code_for(errors.LimitExceededError("too deep"))
6
>>> exit_code_for(errors.FormatError("bad"))
5
>>> exit_code_for(FileNotFoundError(2, "No such file or directory", "x.json"))
3
>>> exit_code_for(RuntimeError("boom"))
1
"""

from __future__ import annotations

import errno

from .. import errors

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_CODES",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "UsageError",
    "describe_error",
    "epilog_table",
    "exit_code_for",
]

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class UsageError(Exception):
    """The command line asks for something contradictory (exit code 2, like argparse's own errors)."""


#: (exception class, exit code, what it means). Order does not matter: the most specific class wins.
EXIT_CODES: tuple[tuple[type[BaseException], int, str], ...] = (
    (OSError, 3, "a file cannot be read or written (missing, permissions, disk full)"),
    (errors.UnknownFormatError, 4, "the format cannot be told or is not known"),
    (errors.FormatError, 5, "the model file is malformed for its format"),
    (errors.LimitExceededError, 6, "the model file exceeds a safety limit (size, depth, count)"),
    (errors.IRValidationError, 7, "the model is inconsistent (shapes, indices, cyclic trees, ...)"),
    (errors.UnsupportedFeatureError, 8, "the model uses something portamodel cannot represent or evaluate"),
    (errors.ConversionLossError, 9, "writing would lose information (see --on-loss)"),
    (errors.InputError, 10, "the data does not fit the model (missing column, bad value)"),
    (errors.MissingDependencyError, 11, "an optional dependency is missing; the message names the extra"),
    (errors.PortamodelError, 12, "any other portamodel error"),
)

_BY_CLASS: dict[type[BaseException], int] = {cls: code for cls, code, _ in EXIT_CODES}


def exit_code_for(exc: BaseException) -> int:
    """The exit code for ``exc`` (:data:`EXIT_INTERNAL` for anything unexpected)."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, UsageError):
        return EXIT_USAGE
    for cls in type(exc).__mro__:
        if cls in _BY_CLASS:
            return _BY_CLASS[cls]
    return EXIT_INTERNAL


def describe_error(exc: BaseException) -> str:
    """One line saying what went wrong (no traceback)."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, (errors.PortamodelError, UsageError)):
        text = str(exc)
    elif isinstance(exc, OSError):
        reason = exc.strerror or errno.errorcode.get(exc.errno or 0, "") or str(exc)
        text = f"{exc.filename}: {reason}" if exc.filename is not None else reason
    else:
        text = f"internal error: {type(exc).__name__}: {exc} (this is a bug; rerun with --debug for a traceback)"
    return " ".join(text.split())  # one line, whatever the message held


def epilog_table() -> str:
    """The exit-code table for ``portamodel --help``."""
    rows = [
        (EXIT_OK, "success (for validate: the model is sound)"),
        (EXIT_INTERNAL, "internal error (a bug: please report it with the --debug output)"),
        (EXIT_USAGE, "bad command line (unknown option, missing argument)"),
        *sorted((code, text) for _, code, text in EXIT_CODES),
        (EXIT_INTERRUPTED, "interrupted (Ctrl-C)"),
        (EXIT_BROKEN_PIPE, "the reader of stdout went away (broken pipe, as with '| head')"),
    ]
    return "\n".join(f"  {code:>3}  {text}" for code, text in rows)
