"""Helpers shared by the subcommands: reading a model named on the command line."""

from __future__ import annotations

import errno
import sys
from pathlib import Path

from ..ir import Model

__all__ = ["FORMAT_CHOICES", "load_model", "read_model_bytes"]

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


def load_model(name: str, format: str | None = None) -> Model:
    """Load the model named on the command line (``-`` reads stdin)."""
    import portamodel

    source, _ = read_model_bytes(name)
    return portamodel.load(source, format=format)
