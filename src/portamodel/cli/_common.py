"""Helpers shared by the subcommands: reading a model named on the command line, reader/writer options.

>>> parse_option("tree_opset=5"), parse_option("name=iris"), parse_option("embed_ir=false")
(('tree_opset', 5), ('name', 'iris'), ('embed_ir', False))
"""

from __future__ import annotations

import argparse
import errno
import json
import sys
from pathlib import Path
from typing import Any

from ..ir import Model

__all__ = ["FORMAT_CHOICES", "add_read_option", "load_model", "options", "parse_option", "read_model_bytes"]

FORMAT_CHOICES = ("json", "pmml", "onnx")


def read_model_bytes(name: str) -> tuple[bytes | Path, str]:
    """``(source, label)`` for a model argument: a path, or the bytes of stdin for ``-``."""
    if name == "-":
        return sys.stdin.buffer.read(), "<stdin>"
    path = Path(name)
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "no such file", name)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a model file", name)
    return path, name


def load_model(name: str, format: str | None = None, read_options: dict[str, Any] | None = None) -> Model:
    """Load the model named on the command line (``-`` reads stdin)."""
    import portamodel

    source, _ = read_model_bytes(name)
    return portamodel.load(source, format=format, **(read_options or {}))


def parse_option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` -> ``(key, value)``; the value is read as JSON (numbers, true/false, null) or kept as text."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key, value


def options(pairs: list[tuple[str, Any]] | None) -> dict[str, Any]:
    return dict(pairs or [])


def add_read_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--read-option",
        dest="read_options",
        metavar="KEY=VALUE",
        action="append",
        type=parse_option,
        help="pass an option to the model reader (repeatable; VALUE is read as JSON if it can be)",
    )
