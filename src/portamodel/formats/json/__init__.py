"""portamodel's compact JSON format: the lossless dump of the IR (stdlib json + numpy only).

Every value the IR holds survives IR -> JSON -> IR bit for bit. Small arrays are plain lists
(non-finite floats spelled ``"NaN"``, ``"Infinity"``, ``"-Infinity"``); bigger ones are packed as
base64 little-endian bytes in the narrowest exact dtype, zlib-compressed when that helps. The
format is specified in ``docs/format.md``; ``schemas/portamodel-model.schema.json`` validates it.

>>> from portamodel.ir import Field, LinearModel, Model, Target
>>> model = Model(
...     inputs=(Field(name="x"),),
...     target=Target(name="y", task="regression"),
...     estimator=LinearModel(features=("x",), coefficients=[[2.0]], intercepts=[-0.0]),
... )
>>> data = write(model)
>>> sniff(data[:512]), read(data) == model
(True, True)
"""

from __future__ import annotations

import zlib

from ._common import FORMAT_NAME, VERSION
from ._reader import read
from ._writer import write

__all__ = ["EXTENSIONS", "FORMAT_NAME", "VERSION", "read", "sniff", "write"]

EXTENSIONS: tuple[str, ...] = (".json", ".json.gz")


def sniff(head: bytes) -> bool:
    """Do these first bytes look like a JSON object (plain or gzip-compressed)?

    >>> sniff(b'{"format": "portamodel", "version": 1}'), sniff(b"<PMML>")
    (True, False)
    """
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 4096)
        except zlib.error:
            return False
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")
