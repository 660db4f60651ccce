"""``portamodel score MODEL DATA.csv -o OUT.csv``: stream a CSV through a model.

The output has one row per input row: the id column if asked (``--id-column``), the prediction
(a column named after the model's target) and, for classifiers, one ``probability(<class>)``
column per class in the model's class order. Missing predictions are empty cells.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import errno
import io
import math
import os
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError
from ..ir import Model
from ._common import FORMAT_CHOICES, add_read_option, load_model, options
from ._csv import DEFAULT_NA, Chunk, ChunkReader
from ._errors import UsageError

__all__ = ["output_header", "register", "run", "score_chunk"]

HELP = "score a CSV file with a model, writing predictions (and probabilities) as CSV"
EPILOG = f"""\
DATA.csv needs a header row naming the columns; the model's input fields are picked out by name
(other columns are ignored) and each is parsed by the field's type. Empty cells and the NA
markers ({", ".join(DEFAULT_NA)}) are missing values. The file is read in chunks of --chunk-size
rows, so it may be larger than memory. Progress goes to stderr when stderr is a terminal.

The output has the --id-column (if given), the prediction (a column named after the model's
target) and, for classifiers, one 'probability(<class>)' column per class. It is written to a
temporary file and renamed at the end, so a failed run leaves no partial OUT.csv.

examples:
  portamodel score examples/iris_forest.json examples/iris.csv -o predictions.csv
  portamodel score model.pmml data.csv --id-column id -o - | head
  zcat big.csv.gz | portamodel score model.onnx - -o scores.csv --chunk-size 100000"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _one_char(text: str) -> str:
    text = "\t" if text in ("\\t", "tab") else text
    if len(text) != 1:
        raise argparse.ArgumentTypeError(f"expected one character, got {text!r}")
    return text


def register(sub: Any, **kwargs: Any) -> None:
    p = sub.add_parser(
        "score",
        help=HELP,
        description="Score every row of a CSV file with a model and write the predictions as CSV.",
        epilog=EPILOG,
        **kwargs,
    )
    p.add_argument("model", metavar="MODEL", help="model file (.json, .pmml, .xml, .onnx, optionally .gz)")
    p.add_argument("data", metavar="DATA.csv", help="CSV file to score, with a header row; '-' reads stdin")
    p.add_argument("-o", "--output", metavar="OUT.csv", required=True, help="where to write the predictions; '-' writes to stdout")
    p.add_argument("--format", choices=FORMAT_CHOICES, help="read MODEL as this format instead of guessing")
    p.add_argument("--chunk-size", type=_positive_int, default=10_000, metavar="N", help="rows scored at a time (default: 10000)")
    p.add_argument("--id-column", metavar="COLUMN", help="copy this input column to the output, first")
    p.add_argument(
        "--delimiter", type=_one_char, default=",", metavar="CHAR", help="field separator of DATA and OUT (default: ','; 'tab' for tabs)"
    )
    p.add_argument(
        "--na-values",
        metavar="LIST",
        default=",".join(DEFAULT_NA),
        help=f"comma-separated cell texts read as missing, besides empty cells (default: {','.join(DEFAULT_NA)}; '' for none)",
    )
    p.add_argument("--no-progress", action="store_true", help="never show progress (it is shown only when stderr is a terminal)")
    add_read_option(p)
    p.set_defaults(run=run)


def output_header(model: Model, id_column: str | None) -> list[str]:
    """Column names of the output file.

    >>> from portamodel.ir import Field, LinearModel, Model, Target
    >>> m = Model(inputs=(Field(name="x"),), target=Target(name="y", task="classification", classes=("a", "b")),
    ...           estimator=LinearModel(features=("x",), coefficients=[[1.0]], intercepts=[0.0], normalization="logistic"))
    >>> output_header(m, "id")
    ['id', 'y', 'probability(a)', 'probability(b)']
    """
    names = [model.target.name]
    if model.task == "classification":
        names += [f"probability({c})" for c in model.classes]
    if id_column is not None:
        if id_column in names:
            raise UsageError(f"--id-column {id_column!r} clashes with an output column of the same name")
        names.insert(0, id_column)
    return names


def score_chunk(model: Model, chunk: Chunk) -> list[list[Any]]:
    """Output columns for one chunk: [ids], predictions, [probabilities per class].

    A classifier is evaluated once: the label is the class of the largest probability (the first
    on ties) and ``None`` where the probabilities are NaN, as :meth:`Model.predict` defines it.
    """
    try:
        if model.task == "classification":
            proba = model.predict_proba(chunk.columns)
            predictions = _labels(model, proba)
        else:
            proba = None
            predictions = _cells(np.asarray(model.predict(chunk.columns)))
    except InputError as exc:
        last = chunk.first_row + chunk.n_rows - 1
        where = f"data rows {chunk.first_row}-{last}" + (f": {exc.location}" if exc.location else "")
        raise InputError(exc.message, location=where) from exc
    if len(predictions) != chunk.n_rows:  # an evaluator bug, not a user error
        raise RuntimeError(f"the model returned {len(predictions)} predictions for {chunk.n_rows} rows")
    columns: list[list[Any]] = []
    if chunk.ids is not None:
        columns.append(chunk.ids)
    columns.append(predictions)
    if proba is not None:
        columns.extend(_cells(proba[:, k]) for k in range(proba.shape[1]))
    return columns


def _labels(model: Model, proba: NDArray[np.float64]) -> list[Any]:
    classes = list(model.classes)
    labels = [classes[k] for k in np.argmax(proba, axis=1).tolist()] if proba.shape[0] else []
    missing = np.isnan(proba).any(axis=1)
    if missing.any():
        for i in np.flatnonzero(missing).tolist():
            labels[i] = ""
    return labels


def _cells(values: NDArray[Any]) -> list[Any]:
    """Python values for csv: floats keep their shortest round-trip text; missing becomes ''."""
    if values.dtype.kind == "f":
        out = values.tolist()
        if not np.isnan(values).any():
            return out  # type: ignore[no-any-return]
        return ["" if v != v else v for v in out]
    return ["" if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in values.tolist()]


def run(args: argparse.Namespace) -> int:
    _refuse_clobbering_inputs(args)
    model = load_model(args.model, args.format, options(args.read_options))
    na_values = [v for v in args.na_values.split(",") if v != ""] if args.na_values else []
    header = output_header(model, args.id_column)
    show = not args.no_progress and sys.stderr.isatty()
    with _open_data(args.data) as (fh, total_bytes, position):
        reader = ChunkReader(fh, model.inputs, label=args.data, delimiter=args.delimiter, na_values=na_values, id_column=args.id_column)
        progress = _Progress(total_bytes, position) if show else None
        with _open_output(args.output) as out:
            writer = csv.writer(out, delimiter=args.delimiter, lineterminator="\n")
            writer.writerow(header)
            for chunk in reader.chunks(args.chunk_size):
                writer.writerows(zip(*score_chunk(model, chunk)))
                if progress:
                    progress.update(reader.rows_read)
        if progress:
            progress.finish(reader.rows_read)
    return 0


def _refuse_clobbering_inputs(args: argparse.Namespace) -> None:
    if args.model == "-" and args.data == "-":
        raise UsageError("MODEL and DATA cannot both be read from stdin ('-')")
    if args.output == "-":
        return
    out = Path(args.output)
    for name in (args.model, args.data):
        if name != "-" and out.exists() and Path(name).exists() and out.samefile(name):
            raise UsageError(f"the output {args.output!r} is also an input; choose another file")


@contextlib.contextmanager
def _open_data(name: str) -> Iterator[tuple[TextIO, int | None, Any]]:
    """(text stream, total bytes or None, callable giving bytes read so far)."""
    if name == "-":
        text = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
        try:
            yield text, None, lambda: None
        finally:
            text.detach()
        return
    path = Path(name)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a CSV file", name)
    raw = path.open("rb")  # FileNotFoundError / PermissionError carry the file name
    try:
        total = os.fstat(raw.fileno()).st_size
        with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
            yield text, total, raw.tell
    finally:
        raw.close()


@contextlib.contextmanager
def _open_output(name: str) -> Iterator[TextIO]:
    """stdout for '-', else a temporary file next to ``name`` renamed over it on success."""
    if name == "-":
        stream = sys.stdout
        buffer = getattr(stream, "buffer", None)
        if buffer is None:  # a replaced sys.stdout without bytes underneath
            yield stream
            stream.flush()
            return
        stream.flush()
        text = io.TextIOWrapper(buffer, encoding="utf-8", newline="")
        try:
            yield text
            text.flush()
        finally:
            text.detach()
        return
    target = Path(name)
    folder = target.parent
    if not folder.is_dir():
        raise FileNotFoundError(errno.ENOENT, "the output folder does not exist", str(folder))
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder; give a file name", name)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp, _new_file_mode(target))  # mkstemp makes 0600; give the mode a plain open() would
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _new_file_mode(target: Path) -> int:
    """The mode of an existing ``target``, else 0666 minus the umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


class _Progress:
    """``\\rscored 120,000 rows (45%)`` on stderr, at most five times a second."""

    def __init__(self, total: int | None, position: Any) -> None:
        self.total, self.position = total, position
        self.last = 0.0

    def update(self, rows: int) -> None:
        now = time.monotonic()
        if now - self.last >= 0.2:
            self.last = now
            self._write(rows)

    def _write(self, rows: int, end: str = "") -> None:
        pos = self.position()
        pct = f" ({min(100, 100 * pos // self.total)}%)" if self.total and pos is not None else ""
        sys.stderr.write(f"\rscored {rows:,} rows{pct}{end}")
        sys.stderr.flush()

    def finish(self, rows: int) -> None:
        self._write(rows, end="\n")
