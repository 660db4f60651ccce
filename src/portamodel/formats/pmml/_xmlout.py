"""A small, fast XML text builder for the PMML writer (no lxml needed to write).

>>> x = XmlOut(indent=False)
>>> x.open("PMML", {"version": "4.4"}); x.leaf("Header", {"description": 'a "b" & c'}); x.close("PMML")
>>> x.text()
'<PMML version="4.4"><Header description="a &quot;b&quot; &amp; c"/></PMML>'
"""

from __future__ import annotations

import math
import re
from typing import Any

from ...errors import PortamodelError

__all__ = ["XmlOut", "esc", "num"]

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
_NEEDS = re.compile(r'[&<>"\n\r\t]')
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def esc(text: str) -> str:
    """Escape ``text`` for an attribute value or element text."""
    if _ILLEGAL.search(text):
        raise PortamodelError(f"{text!r} holds characters XML cannot represent")
    return _NEEDS.sub(lambda m: _ESCAPES[m.group()], text) if _NEEDS.search(text) else text


def num(x: Any) -> str:
    """A number as PMML writes it: shortest round-trip decimal; NaN / INF / -INF (xs:double)."""
    v = float(x)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "INF" if v > 0 else "-INF"
    if v.is_integer() and abs(v) < 1e16:
        return repr(v)  # "3.0" keeps it a double
    return repr(v)


class XmlOut:
    """Accumulates indented XML text."""

    def __init__(self, indent: bool = True) -> None:
        self.parts: list[str] = []
        self.depth = 0
        self.indent = indent

    def _pad(self) -> str:
        return "\t" * self.depth if self.indent else ""

    @staticmethod
    def _attrs(attrs: dict[str, Any] | None) -> str:
        if not attrs:
            return ""
        return "".join(f' {k}="{esc(v) if isinstance(v, str) else num(v)}"' for k, v in attrs.items() if v is not None)

    def open(self, tag: str, attrs: dict[str, Any] | None = None) -> None:
        self.parts.append(f"{self._pad()}<{tag}{self._attrs(attrs)}>\n" if self.indent else f"<{tag}{self._attrs(attrs)}>")
        self.depth += 1

    def close(self, tag: str) -> None:
        self.depth -= 1
        self.parts.append(f"{self._pad()}</{tag}>\n" if self.indent else f"</{tag}>")

    def leaf(self, tag: str, attrs: dict[str, Any] | None = None, text: str | None = None) -> None:
        a = self._attrs(attrs)
        nl = "\n" if self.indent else ""
        if text is None:
            self.parts.append(f"{self._pad()}<{tag}{a}/>{nl}")
        else:
            self.parts.append(f"{self._pad()}<{tag}{a}>{esc(text)}</{tag}>{nl}")

    def raw(self, text: str) -> None:
        """Append pre-built XML (already escaped) at the current depth."""
        self.parts.append(text)

    def text(self) -> str:
        return "".join(self.parts)
