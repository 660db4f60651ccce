"""PMML 4.x: read what real producers write (4.0-4.4), write PMML 4.4 that real consumers accept.

Reading streams the document (trees are converted node by node while the XML is parsed, gzip is
decompressed on the fly), so a 200 MB forest loads in seconds with bounded memory. Parsing is
safe: no DTDs, no entity expansion, no network, and size / depth / count limits. Anything outside
the supported subset raises :class:`~portamodel.errors.UnsupportedFeatureError` naming the element
and its XPath. See ``docs/pmml.md`` for what is supported.

>>> from portamodel.ir import Field, LinearModel, Model, Target
>>> model = Model(inputs=(Field(name="x"),), target=Target(name="y", task="regression"),
...               estimator=LinearModel(features=("x",), coefficients=[[2.0]], intercepts=[1.0]))
>>> data = write(model)
>>> sniff(data)
True
>>> read(data).predict([[3.0]]).tolist()
[7.0]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...ir import Model

__all__ = ["EXTENSIONS", "read", "sniff", "write"]

EXTENSIONS: tuple[str, ...] = (".pmml", ".xml", ".pmml.gz", ".xml.gz")


def sniff(head: bytes) -> bool:
    """Do these first bytes look like PMML (optionally gzipped)?"""
    if head[:2] == b"\x1f\x8b":
        import zlib

        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 4096)
        except zlib.error:
            return False
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"<"):
        return False
    return b"<PMML" in text or b":PMML" in text or text.startswith((b"<?xml", b"<!--"))


def read(
    source: bytes | Path | str,
    *,
    huge_tree: bool = False,
    max_bytes: int | None = None,
    max_tree_nodes: int | None = None,
    **options: Any,
) -> Model:
    """Read a PMML document (bytes, or a path to ``.pmml`` / ``.xml``, optionally gzipped).

    ``huge_tree=True`` lifts libxml2's depth and text-size limits for trusted, very deep files;
    ``max_bytes`` caps the (decompressed) size, ``max_tree_nodes`` the nodes of one tree.
    """
    from ...errors import PortamodelError
    from ._reader import read_pmml
    from ._xml import Limits

    if options:
        raise PortamodelError(f"unknown PMML read option(s): {', '.join(sorted(options))}")
    limits = Limits(huge_tree=huge_tree)
    if max_bytes is not None:
        limits = Limits(max_bytes=max_bytes, huge_tree=huge_tree, max_tree_nodes=limits.max_tree_nodes)
    if max_tree_nodes is not None:
        limits = Limits(max_bytes=limits.max_bytes, huge_tree=huge_tree, max_tree_nodes=max_tree_nodes)
    src = Path(source) if isinstance(source, str) else source
    return read_pmml(src, limits=limits)


def write(model: Model, **options: Any) -> bytes:
    """Write ``model`` as PMML 4.4 (``on_loss="raise"|"warn"|"ignore"`` for what PMML cannot hold)."""
    from ._writer import write_pmml

    return write_pmml(model, **options)
