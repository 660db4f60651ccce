"""The table of file formats and how a format is chosen.

A format is a module (``portamodel.formats.<name>``) exposing::

    EXTENSIONS: tuple[str, ...]                  # e.g. (".pmml", ".xml", ".pmml.gz")
    def sniff(head: bytes) -> bool               # do these first bytes look like this format?
    def read(source: bytes | Path, **options) -> Model
    def write(model: Model, **options) -> bytes

Modules are imported only when used, so ``import portamodel`` stays light. The choice is: the
explicit ``format`` argument, else the file extension, else the first bytes.

>>> format_for(path="model.pmml.gz")
'pmml'
>>> format_for(head=b'{"format": "portamodel"')
'json'
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

from ..errors import UnknownFormatError

__all__ = ["FORMATS", "format_for", "get_format"]

#: name -> module path. A new format is one new folder plus one line here.
FORMATS: dict[str, str] = {
    "json": "portamodel.formats.json",
    "pmml": "portamodel.formats.pmml",
    "onnx": "portamodel.formats.onnx",
}

# Extension table kept here (not in the modules) so detection imports nothing heavy.
_EXTENSIONS: dict[str, str] = {
    ".json": "json",
    ".json.gz": "json",
    ".pmml": "pmml",
    ".xml": "pmml",
    ".pmml.gz": "pmml",
    ".xml.gz": "pmml",
    ".onnx": "onnx",
}


def get_format(name: str) -> ModuleType:
    """The module implementing format ``name``."""
    key = name.lower().lstrip(".")
    if key not in FORMATS:
        raise UnknownFormatError(f"unknown format {name!r}; known formats: {', '.join(FORMATS)}")
    return importlib.import_module(FORMATS[key])


def format_for(*, format: str | None = None, path: str | os.PathLike[str] | None = None, head: bytes | None = None) -> str:
    """Choose a format name: explicit, else by extension, else by the first bytes."""
    if format is not None:
        get_format(format)  # validates the name
        return format.lower().lstrip(".")
    if path is not None:
        name = Path(path).name.lower()
        for ext in sorted(_EXTENSIONS, key=len, reverse=True):
            if name.endswith(ext):
                return _EXTENSIONS[ext]
    if head is not None:
        found = _sniff(head)
        if found:
            return found
    where = str(path) if path is not None else "input"
    raise UnknownFormatError(
        f"cannot tell the format (known extensions: {', '.join(sorted(_EXTENSIONS))}); pass format=",
        location=where,
    )


def _sniff(head: bytes) -> str | None:
    if head[:2] == b"\x1f\x8b":  # gzip: look inside
        import zlib

        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 512)
        except zlib.error:
            return None
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return "json"
    if text.startswith(b"<"):
        return "pmml"
    if text[:1] in (b"\x08", b"\x12", b"\x1a", b"\x22", b"\x3a", b"\x42"):  # protobuf ModelProto tags
        return "onnx"
    return None
