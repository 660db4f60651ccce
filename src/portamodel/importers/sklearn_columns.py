"""Column bookkeeping while a scikit-learn pipeline is translated into IR steps.

A :class:`Columns` object holds the model's raw input columns, the steps emitted so far and the
kind (numeric / string) of every column defined. Converters ask it for fresh unique names and
declare what kind of column they read; an input column's kind is learnt from its first reader.

>>> cols = Columns(["a", "b"])
>>> cols.fresh("a")
'a_1'
>>> cols.need_numeric("a", where="model")
>>> [f.dtype for f in cols.fields("double")]
['double', 'string']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import UnsupportedFeatureError
from ..ir import Derive, Field, FieldRef, Step, step_outputs

__all__ = ["Columns", "unsupported"]

NUMERIC, STRING, ANY = "numeric", "string", "any"


def unsupported(obj: Any, message: str, where: str) -> UnsupportedFeatureError:
    """An :class:`UnsupportedFeatureError` naming the scikit-learn class of ``obj``."""
    name = obj if isinstance(obj, str) else type(obj).__name__
    return UnsupportedFeatureError(f"{name}: {message}", location=where)


class Columns:
    """Input columns, emitted steps and the kind of every defined column."""

    def __init__(self, inputs: Sequence[str]) -> None:
        self.inputs: list[str] = list(inputs)
        self.steps: list[Step] = []
        self._kind: dict[str, str] = dict.fromkeys(self.inputs, ANY)
        self._categorical: set[str] = set()

    # -- names ----------------------------------------------------------------------------------
    def fresh(self, base: str) -> str:
        """A column name not yet defined: ``base`` itself, else ``base_1``, ``base_2``, ..."""
        if base not in self._kind:
            return base
        i = 1
        while f"{base}_{i}" in self._kind:
            i += 1
        return f"{base}_{i}"

    def fresh_many(self, bases: Sequence[str]) -> list[str]:
        out: list[str] = []
        for b in bases:
            name = self.fresh(b)
            while name in out:
                name = self.fresh(f"{name}_")
            out.append(name)
        return out

    # -- kinds ----------------------------------------------------------------------------------
    def kind(self, name: str) -> str:
        return self._kind[name]

    def _need(self, name: str, kind: str, where: str) -> None:
        have = self._kind[name]
        if have == ANY:
            self._kind[name] = kind
        elif have != kind:
            raise UnsupportedFeatureError(
                f"column {name!r} is used both as {have} and as {kind} data",
                location=where,
            )

    def need_numeric(self, name: str, *, where: str) -> None:
        """Declare that ``name`` is read as a number (an input of unknown kind becomes numeric)."""
        self._need(name, NUMERIC, where)

    def need_string(self, name: str, *, where: str) -> None:
        self._need(name, STRING, where)

    def mark_categorical(self, name: str) -> None:
        """Record that ``name`` is read as categories (one-hot / lookup) rather than as a quantity."""
        self._categorical.add(name)

    # -- steps ----------------------------------------------------------------------------------
    def add(self, step: Step, kinds: Sequence[str]) -> None:
        """Append ``step``; ``kinds`` gives the kind of each column it defines."""
        outs = step_outputs(step)
        for name, kind in zip(outs, kinds, strict=True):
            if name in self._kind:  # pragma: no cover - fresh() prevents it
                raise UnsupportedFeatureError(f"column {name!r} defined twice", location="importer")
            self._kind[name] = kind
        self.steps.append(step)

    def distinct(self, names: Sequence[str], *, where: str) -> list[str]:
        """``names`` with repeats replaced by copies, so an estimator sees distinct features."""
        seen: set[str] = set()
        out: list[str] = []
        for n in names:
            self.need_numeric(n, where=where)
            if n in seen:
                alias = self.fresh(f"{n}_copy")
                self.add(Derive(output=alias, expression=FieldRef(name=n), dtype="double"), [NUMERIC])
                n = alias
            seen.add(n)
            out.append(n)
        return out

    def fields(self, numeric_dtype: str) -> tuple[Field, ...]:
        """The model's input fields.

        Inputs nobody reads (dropped by a ColumnTransformer) are declared categorical strings: such
        a field accepts numbers and text alike, so any table scikit-learn accepts still scores.
        """
        out = []
        for name in self.inputs:
            kind = self._kind[name]
            text = kind in (STRING, ANY)
            optype = "categorical" if (name in self._categorical or text) else "continuous"
            dtype = "string" if text else numeric_dtype
            out.append(Field(name=name, dtype=dtype, optype=optype))  # type: ignore[arg-type]
        return tuple(out)
