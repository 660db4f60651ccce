"""Name resolution while reading PMML: PMML field names -> IR column names, steps emitted lazily.

A :class:`Builder` owns the growing list of IR steps and the set of column names in use. A
:class:`Scope` answers "which IR column holds PMML field ``name`` here?": a model's scope looks in
its LocalTransformations, then its MiningSchema treatments (missing-value replacement, outliers),
then the enclosing model, then the TransformationDictionary, then the DataDictionary. Derived
fields become steps only when first referenced, so unused definitions cost nothing.

>>> b = Builder()
>>> b.fresh("x"), b.fresh("x")
('x', 'x#2')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import FormatError
from ...ir import Step, step_outputs
from ._xml import Elem

__all__ = ["Builder", "Scope"]

Kind = str  # "number" | "string"


class Builder:
    """The IR steps emitted so far and what each column holds."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.names: set[str] = set()
        self.kinds: dict[str, Kind] = {}  # column -> "number" | "string"
        self.floats: set[str] = set()  # columns holding float32 values (dataType="float")
        self.cache: dict[Any, str] = {}

    def fresh(self, base: str) -> str:
        """A column name not used yet, ``base`` if possible."""
        name, i = base, 1
        while name in self.names:
            i += 1
            name = f"{base}#{i}"
        self.names.add(name)
        return name

    def add(self, step: Step, kinds: Kind | list[Kind]) -> None:
        outs = step_outputs(step)
        ks = kinds if isinstance(kinds, list) else [kinds] * len(outs)
        for o, k in zip(outs, ks):
            self.names.add(o)
            self.kinds[o] = k
        self.steps.append(step)


class Scope:
    """Field visibility of one model (see the module docstring)."""

    def __init__(
        self,
        builder: Builder,
        parent: Scope | None,
        *,
        defs: dict[str, Elem] | None = None,
        where: str = "",
    ) -> None:
        self.b = builder
        self.parent = parent
        self.defs = defs or {}
        self.where = where
        self.overrides: dict[str, Callable[[], str]] = {}
        self.resolved: dict[str, str] = {}
        self.active: set[str] = set()
        self.types: dict[str, str] = {}  # PMML dataType of names defined here
        self.emit_derived: Callable[[str, Elem, Scope], str] | None = parent.emit_derived if parent else None
        self.data_view: tuple[Any, ...] = parent.data_view if parent else ()
        self.extra: dict[str, str] = {}  # names bound directly to columns (e.g. chain outputs)
        self.global_defs: dict[str, Elem] = parent.global_defs if parent else {}  # TransformationDictionary

    def child(self, *, defs: dict[str, Elem] | None = None, where: str = "") -> Scope:
        return Scope(self.b, self, defs=defs, where=where)

    def col(self, name: str, where: str | None = None) -> str:
        """The IR column of PMML field ``name`` (emitting its steps on first use)."""
        got = self.resolved.get(name)
        if got is not None:
            return got
        if name in self.extra:
            return self.extra[name]
        if name in self.defs:
            if name in self.active:
                raise FormatError(f"derived field {name!r} is defined in terms of itself", location=where or self.where)
            self.active.add(name)
            try:
                assert self.emit_derived is not None
                col = self.emit_derived(name, self.defs[name], self)
            finally:
                self.active.discard(name)
            self.resolved[name] = col
            return col
        if name in self.overrides:
            col = self.overrides[name]()
            self.resolved[name] = col
            return col
        if self.parent is None:
            raise FormatError(f"field {name!r} is not defined", location=where or self.where)
        return self.parent.col(name, where)

    def dtype(self, name: str) -> str | None:
        """PMML dataType of ``name`` as visible here (None if unknown)."""
        s: Scope | None = self
        while s is not None:
            if name in s.types:
                return s.types[name]
            if name in s.defs:
                return s.defs[name].get("dataType")
            s = s.parent
        return None
