"""Streaming a CSV file into column chunks typed by a model's input fields (stdlib csv, numpy).

Each cell is parsed by the dtype of the field it feeds: numbers (``double``, ``float``,
``integer``) become float64 with NaN for missing; ``boolean`` becomes 1.0 / 0.0 / NaN; ``string``
stays text with ``None`` for missing. An empty cell, or one equal to an NA marker, is missing.

>>> import io
>>> from portamodel.ir import Field
>>> fh = io.StringIO("x,colour\\n1.5,red\\nNA,\\n")
>>> reader = ChunkReader(fh, (Field(name="x"), Field(name="colour", dtype="string", optype="categorical")), label="data.csv")
>>> chunk = next(reader.chunks(100))
>>> chunk.columns["x"].tolist(), chunk.columns["colour"].tolist()
([1.5, nan], ['red', None])
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError
from ..ir import Field

__all__ = ["DEFAULT_NA", "Chunk", "ChunkReader", "parse_boolean", "parse_number"]

#: Cell texts read as missing besides the empty cell (``--na-values`` replaces them).
DEFAULT_NA: tuple[str, ...] = ("NA", "N/A", "NaN", "nan", "null", "NULL")

_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0"})


@dataclass
class Chunk:
    """Rows ``first_row .. first_row + n_rows - 1`` (1-based data rows) as typed columns."""

    columns: dict[str, NDArray[Any]]
    ids: list[str] | None
    n_rows: int
    first_row: int


class ChunkReader:
    """Read a CSV with a header row in chunks of typed columns for ``fields``.

    Columns not named by a field (or ``id_column``) are ignored. A field missing from the header, a
    row with the wrong number of cells or a cell that cannot be parsed raises :class:`InputError`
    naming the file, line and column.
    """

    def __init__(
        self,
        fh: TextIO,
        fields: Sequence[Field],
        *,
        label: str,
        delimiter: str = ",",
        na_values: Sequence[str] = DEFAULT_NA,
        id_column: str | None = None,
    ) -> None:
        self.label = label
        self.fields = tuple(fields)
        self.id_column = id_column
        self.na = frozenset(("", *na_values))
        self._reader = csv.reader(fh, delimiter=delimiter, strict=True)
        try:
            header = next(self._reader, None)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the header row: {exc}", location=f"{label}: line 1") from None
        if not header:
            raise InputError("the file is empty: expected a header row naming the columns", location=label)
        self.header = [h.strip() for h in header]
        seen: dict[str, int] = {}
        for i, name in enumerate(self.header):
            if name in seen:
                raise InputError(
                    f"column {name!r} appears twice in the header (columns {seen[name] + 1} and {i + 1})", location=f"{label}: line 1"
                )
            seen[name] = i
        missing = [f.name for f in self.fields if f.name not in seen]
        if missing:
            names = ", ".join(map(repr, missing))
            raise InputError(
                f"the header lacks column{'s' if len(missing) > 1 else ''} {names} that the model needs "
                f"(it needs: {', '.join(f.name for f in self.fields)})",
                location=f"{label}: line 1",
            )
        if id_column is not None and id_column not in seen:
            raise InputError(f"the id column {id_column!r} (--id-column) is not in the header", location=f"{label}: line 1")
        self._index = seen
        self._parsers: list[tuple[Field, int, Callable[..., NDArray[Any]]]] = [(f, seen[f.name], _parser_for(f)) for f in self.fields]
        self.rows_read = 0
        # Numbers may go through numpy's parser in one call when no NA marker reads as a number there.
        self._fast_numbers = all(_not_a_number(t) for t in self.na)

    def chunks(self, size: int) -> Iterator[Chunk]:
        """Yield chunks of at most ``size`` rows (blank lines are skipped)."""
        width = len(self.header)
        reader = self._reader
        while True:
            start_line = reader.line_num
            try:
                rows = list(itertools.islice(reader, size))
            except csv.Error as exc:
                raise InputError(f"malformed CSV: {exc}", location=f"{self.label}: line {reader.line_num}") from None
            except UnicodeDecodeError as exc:
                raise InputError(f"not UTF-8 text: {exc.reason}", location=f"{self.label}: after line {reader.line_num}") from None
            if not rows:
                return
            # Row i ends on line start_line + 1 + i unless blank lines or quoted line breaks intervene.
            exact = reader.line_num - start_line == len(rows)
            if not all(rows):
                rows = [r for r in rows if r]
                if not rows:
                    continue
            if set(map(len, rows)) != {width}:
                i = next(i for i, r in enumerate(rows) if len(r) != width)
                raise InputError(f"row has {len(rows[i])} cells but the header has {width}", location=self._where(start_line, exact, i))
            yield self._typed(rows, start_line, exact)

    def _where(self, start_line: int, exact: bool, i: int, column: str | None = None) -> str:
        at = f"line {start_line + 1 + i}" if exact else f"data row {self.rows_read + 1 + i}"
        return f"{self.label}: {at}" + (f", column {column!r}" if column is not None else "")

    def _typed(self, rows: list[list[str]], start_line: int, exact: bool) -> Chunk:
        cells = list(zip(*rows))
        columns: dict[str, NDArray[Any]] = {}
        for field, index, parse in self._parsers:

            def where(i: int, name: str = field.name) -> str:
                return self._where(start_line, exact, i, name)

            columns[field.name] = parse(cells[index], self.na, self._fast_numbers, where)
        ids = list(cells[self._index[self.id_column]]) if self.id_column is not None else None
        first = self.rows_read + 1
        self.rows_read += len(rows)
        return Chunk(columns=columns, ids=ids, n_rows=len(rows), first_row=first)


def _parser_for(field: Field) -> Callable[..., NDArray[Any]]:
    if field.dtype == "string":
        return _parse_strings
    if field.dtype == "boolean":
        return _parse_booleans
    return _parse_numbers


def parse_number(text: str) -> float:
    """A number from a cell (``float`` syntax, surrounding blanks allowed); raises ValueError.

    >>> parse_number(" 2.5e3 ")
    2500.0
    """
    return float(text)


def parse_boolean(text: str) -> float:
    """1.0 / 0.0 from true/false, yes/no, t/f, y/n, 1/0 (any case); raises ValueError.

    >>> parse_boolean("TRUE"), parse_boolean("0")
    (1.0, 0.0)
    """
    key = text.strip().lower()
    if key in _TRUE:
        return 1.0
    if key in _FALSE:
        return 0.0
    raise ValueError(text)


def _not_a_number(text: str) -> bool:
    """True if numpy reads ``text`` as NaN or refuses it (so it cannot be mistaken for a value)."""
    try:
        return bool(np.isnan(np.array([text], dtype=np.float64))[0])
    except ValueError:
        return True


def _parse_numbers(cells: Sequence[str], na: frozenset[str], fast: bool, where: Callable[[int], str]) -> NDArray[np.float64]:
    if fast:
        try:
            return np.array(cells, dtype=np.float64)  # NaN text is missing anyway
        except ValueError:
            pass  # NA markers or a bad cell: cell by cell below
    out = np.empty(len(cells), dtype=np.float64)
    for i, c in enumerate(cells):
        if c in na or c.strip() in na:
            out[i] = math.nan
            continue
        try:
            out[i] = parse_number(c)
        except ValueError:
            raise InputError(f"expected a number, got {c!r}", location=where(i)) from None
    return out


def _parse_booleans(cells: Sequence[str], na: frozenset[str], fast: bool, where: Callable[[int], str]) -> NDArray[np.float64]:
    out = np.empty(len(cells), dtype=np.float64)
    for i, c in enumerate(cells):
        if c in na or c.strip() in na:
            out[i] = math.nan
            continue
        try:
            out[i] = parse_boolean(c)
        except ValueError:
            raise InputError(f"expected a boolean (true/false, 1/0, yes/no), got {c!r}", location=where(i)) from None
    return out


def _parse_strings(cells: Sequence[str], na: frozenset[str], fast: bool, where: Callable[[int], str]) -> NDArray[np.object_]:
    out = np.empty(len(cells), dtype=object)
    out[:] = [None if c in na else c for c in cells]
    return out
