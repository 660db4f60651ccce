"""portamodel JSON -> IR. Strict: anything off raises FormatError with a JSON path (docs/format.md).

>>> read(b'{"format": "portamodel", "version": 2}')
Traceback (most recent call last):
...
portamodel.errors.FormatError: $.version: format version 2 is not supported; this portamodel reads version 1
"""

from __future__ import annotations

import binascii
import json
import math
import os
import re
import sys
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ..._threads import run_all, usable_cpus
from ...errors import FormatError, IRValidationError, LimitExceededError, PortamodelError
from ...ir import (
    AGGREGATIONS,
    DATA_TYPES,
    FUNCTIONS,
    MLP,
    NORMALIZATIONS,
    OPTYPES,
    Affine,
    Apply,
    Constant,
    DenseLayer,
    Derive,
    Field,
    FieldRef,
    Impute,
    LinearModel,
    Lookup,
    Metadata,
    Model,
    OneHot,
    Target,
    TreeEnsemble,
)
from ...ir.fields import INVALID_POLICIES, TASKS
from ...ir.mlp import ACTIVATIONS, COMPUTE_DTYPES
from ._common import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_TREE_DEPTH,
    ESTIMATOR_TYPES,
    FLOAT_DTYPES,
    FORMAT_NAME,
    INT_DTYPES,
    NON_FINITE,
    STEP_TYPES,
    VERSION,
    is_extension_key,
)

__all__ = ["read"]

_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 20
_METADATA_KEYS = ("name", "description", "producer", "producer_version", "version", "created")


def read(
    source: bytes | bytearray | memoryview | str | os.PathLike[str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_tree_depth: int = DEFAULT_MAX_TREE_DEPTH,
    **options: Any,
) -> Model:
    """Read a portamodel JSON document (plain or gzip) from bytes or a file path.

    ``max_bytes`` caps the (decompressed) document size and, separately, the total bytes of
    decoded arrays; ``max_depth`` caps the nesting of expressions, ``max_tree_depth`` the depth of
    trees (scoring takes a step per level). A limit exceeded raises
    :class:`~portamodel.errors.LimitExceededError`; any other defect raises
    :class:`~portamodel.errors.FormatError` whose location is a JSON path such as
    ``$.estimator.threshold``.
    """
    if options:
        raise PortamodelError(f"unknown option(s) for the json reader: {', '.join(sorted(options))}")
    for name, value in (("max_bytes", max_bytes), ("max_depth", max_depth), ("max_tree_depth", max_tree_depth)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PortamodelError(f"{name} must be a positive integer, got {value!r}")
    label, data = _load_bytes(source, max_bytes)
    return _Reader(label, max_bytes, max_depth, max_tree_depth).document(data)


# -- getting the bytes ------------------------------------------------------------------------


def _load_bytes(source: object, max_bytes: int) -> tuple[str | None, bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if data[:2] == _GZIP_MAGIC:
            return None, _gunzip(_slices(data), max_bytes, None)
        return None, data
    if not isinstance(source, (str, os.PathLike)):
        raise PortamodelError(f"expected bytes or a file path, got {type(source).__name__}")
    path = Path(source)
    label = str(path)
    if path.exists() and not path.is_file():
        raise PortamodelError("not a regular file", location=label)
    try:
        with path.open("rb") as fh:
            head = fh.read(2)
            fh.seek(0)
            if head == _GZIP_MAGIC:
                return label, _gunzip(iter(lambda: fh.read(_CHUNK), b""), max_bytes, label)
            # the size the file has now in one read, anything it grew by since in chunks:
            # read(max_bytes + 1) would reserve max_bytes (1 GiB) up front, which fails with
            # MemoryError under an address-space limit even for a tiny file
            size = min(os.fstat(fh.fileno()).st_size, max_bytes + 1)
            data = fh.read(size)
            if len(data) == size:
                rest = b"".join(_capped_chunks(fh, max_bytes + 1 - size))
                data = data + rest if rest else data
    except OSError as exc:
        raise PortamodelError(f"cannot read file: {exc.strerror or exc}", location=label) from None
    if len(data) > max_bytes:
        raise LimitExceededError(f"file is larger than max_bytes={max_bytes}", location=label)
    return label, data


def _capped_chunks(fh: Any, limit: int) -> Iterator[bytes]:
    """At most ``limit`` bytes of ``fh``, in chunks of at most ``_CHUNK``."""
    while limit > 0:
        chunk = fh.read(min(_CHUNK, limit))
        if not chunk:
            return
        limit -= len(chunk)
        yield chunk


def _slices(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for i in range(0, len(data), _CHUNK):
        yield bytes(view[i : i + _CHUNK])


def _gunzip(chunks: Iterable[bytes], cap: int, label: str | None) -> bytes:
    """Decompress (possibly multi-member) gzip, refusing more than ``cap`` bytes of output."""
    where = label or "input"
    out = bytearray()
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        for chunk in chunks:
            while chunk:
                out += d.decompress(chunk, cap + 1 - len(out))
                if len(out) > cap:
                    raise LimitExceededError(f"gzip content is larger than max_bytes={cap}", location=where)
                if d.eof:
                    chunk = d.unused_data
                    if chunk and chunk[:2] != _GZIP_MAGIC:
                        raise FormatError("trailing bytes after the gzip stream", location=where)
                    if chunk:
                        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                else:
                    chunk = d.unconsumed_tail
    except zlib.error as exc:
        raise FormatError(f"corrupt gzip data ({exc})", location=where) from None
    if not d.eof:
        raise FormatError("truncated gzip data", location=where)
    return bytes(out)


# -- markers the JSON hooks leave for the walker, which knows the path ------------------------


class _BadNumber:
    """A NaN / Infinity literal or a float literal that overflows to infinity (not valid JSON)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _Duplicate:
    """An object that repeats a key."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key


def _describe(v: object) -> str:
    if isinstance(v, _BadNumber):
        return f"the literal {v.text} (not valid JSON; see the NaN rule in docs/format.md)"
    if isinstance(v, _Duplicate):
        return f"an object with the duplicate key {v.key!r}"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return f"the number {v!r}"
    if isinstance(v, str):
        return f"the string {v[:40]!r}"
    if isinstance(v, list):
        return "a list"
    return "an object"


_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def _b64decode(text: str) -> bytes:
    """Strict standard base64 of an ASCII str (no copy to bytes first: these can be megabytes)."""
    if len(text) % 4 or text.endswith("==="):
        raise binascii.Error("length not a multiple of 4 or excess padding")
    if sys.version_info >= (3, 11):
        return binascii.a2b_base64(text, strict_mode=True)
    if not _BASE64.fullmatch(text):  # pragma: no cover - Python 3.10
        raise binascii.Error("not strict base64")
    return binascii.a2b_base64(text)  # pragma: no cover


def _ir_location(exc: IRValidationError, cls: type, kwargs: dict[str, Any], path: str) -> tuple[str, str]:
    """Turn an IR location (``TreeEnsemble.threshold[3]``, ``OneHot('c').outputs[1]``,
    ``Model.steps[2] (Derive)``) into a JSON path below ``path``; else keep it in the message."""
    loc, msg = exc.location or "", exc.message
    name = cls.__name__
    prefixes = [name] + [f"{name}({kwargs[k]!r})" for k in ("input", "output") if isinstance(kwargs.get(k), str)]
    if cls in (Field, Target) and isinstance(kwargs.get("name"), str):
        prefixes.append(f"{name.lower()} {kwargs['name']!r}")
    for prefix in sorted(prefixes, key=len, reverse=True):
        rest = loc[len(prefix) :]
        if loc.startswith(prefix) and (not rest or rest[0] in ".["):
            match = re.fullmatch(r"(.*) \(\w+\)", rest)
            return msg, path + (match.group(1) if match else rest)
    return (f"{loc}: {msg}" if loc else msg), path


#: Total payload (bytes) from which the packed arrays of an estimator are decoded on several threads.
_PARALLEL_DECODE_BYTES = 1 << 22


class _Packed(NamedTuple):
    """A packed array whose object has been checked: what :meth:`_Reader.unpack` decodes."""

    path: str
    dtype: np.dtype[Any]
    shape: tuple[int, ...]
    nbytes: int
    compression: str | None
    text: str


# -- the walker -------------------------------------------------------------------------------


class _Reader:
    def __init__(self, label: str | None, max_bytes: int, max_depth: int, max_tree_depth: int = DEFAULT_MAX_TREE_DEPTH) -> None:
        self.label = label
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.max_tree_depth = max_tree_depth
        self.array_bytes = 0
        self.markers = 0  # markers created by the JSON hooks; any left unvisited sit in x- keys

    # errors
    def where(self, path: str) -> str:
        return f"{self.label}: {path}" if self.label else path

    def error(self, message: str, path: str) -> FormatError:
        return FormatError(message, location=self.where(path))

    # parsing
    def document(self, data: bytes) -> Model:
        if data.startswith(_BOM):
            data = data[3:]
        if len(data) > self.max_bytes:
            raise LimitExceededError(f"document is larger than max_bytes={self.max_bytes}", location=self.label)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormatError(f"not UTF-8 (byte {exc.start})", location=self.label) from None
        try:
            root = json.loads(
                text,
                object_pairs_hook=self._pairs,
                parse_constant=self._constant,
                parse_float=self._float,
            )
        except RecursionError:
            raise LimitExceededError("JSON nested too deeply", location=self.label) from None
        except json.JSONDecodeError as exc:
            raise FormatError(f"not valid JSON: {exc.msg}", location=self.where(f"line {exc.lineno} column {exc.colno}")) from None
        except ValueError as exc:  # e.g. an integer literal with thousands of digits
            raise FormatError(f"not valid JSON: {exc}", location=self.label) from None
        try:
            model = self.model(root, "$")
        except RecursionError:  # only with a max_depth raised far beyond the default
            raise LimitExceededError("nested too deeply to build", location=self.label) from None
        if self.markers:
            raise FormatError(
                "a duplicate key or a NaN/Infinity literal inside an extension (x-) key",
                location=self.label,
            )
        return model

    def _pairs(self, pairs: list[tuple[str, Any]]) -> Any:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                self.markers += 1
                return _Duplicate(key)
            seen.add(key)
        raise AssertionError("unreachable")  # pragma: no cover

    def _constant(self, text: str) -> _BadNumber:
        self.markers += 1
        return _BadNumber(text)

    def _float(self, text: str) -> float | _BadNumber:
        value = float(text)
        if math.isfinite(value):
            return value
        self.markers += 1
        return _BadNumber(text)

    # typed accessors
    def obj(self, v: Any, path: str, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()) -> dict[str, Any]:
        if not isinstance(v, dict):
            if isinstance(v, _Duplicate):
                raise self.error(f"duplicate key {v.key!r}", path)
            raise self.error(f"expected an object, got {_describe(v)}", path)
        for key in v:
            if key not in required and key not in optional and not is_extension_key(key):
                known = ", ".join(required + optional)
                raise self.error(f"unknown key {key!r} (known keys: {known}; extensions start with 'x-')", path)
        for key in required:
            if key not in v:
                raise self.error(f"missing required key {key!r}", path)
        return v

    def str_(self, v: Any, path: str) -> str:
        if not isinstance(v, str):
            raise self.error(f"expected a string, got {_describe(v)}", path)
        return v

    def names(self, v: Any, path: str) -> tuple[str, ...]:
        return tuple(self.str_(x, f"{path}[{i}]") for i, x in enumerate(self.list_(v, path)))

    def choice(self, v: Any, choices: tuple[str, ...], path: str) -> str:
        if not isinstance(v, str) or v not in choices:
            raise self.error(f"expected one of {', '.join(map(repr, choices))}; got {_describe(v)}", path)
        return v

    def bool_(self, v: Any, path: str) -> bool:
        if not isinstance(v, bool):
            raise self.error(f"expected true or false, got {_describe(v)}", path)
        return v

    def number(self, v: Any, path: str) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.error(f"expected a number, got {_describe(v)}", path)
        try:
            return float(v)
        except OverflowError:
            raise self.error("number out of range", path) from None

    def list_(self, v: Any, path: str) -> list[Any]:
        if not isinstance(v, list):
            raise self.error(f"expected a list, got {_describe(v)}", path)
        return v

    def value(self, v: Any, path: str, *, allow_null: bool = False) -> Any:
        """A category / constant: string, boolean, integer, float or {"float": "NaN"}."""
        if isinstance(v, (str, bool, int, float)):
            return v
        if v is None and allow_null:
            return None
        if isinstance(v, dict) and set(v) == {"float"}:
            tag = v["float"]
            if isinstance(tag, str) and tag in NON_FINITE:
                return NON_FINITE[tag]
            raise self.error(f"expected one of {', '.join(map(repr, NON_FINITE))}; got {_describe(tag)}", f"{path}.float")
        kinds = "a string, boolean, number, " + ("null, " if allow_null else "") + '{"float": "NaN"}'
        raise self.error(f"expected {kinds}; got {_describe(v)}", path)

    def values(self, v: Any, path: str) -> tuple[Any, ...]:
        return tuple(self.value(x, f"{path}[{i}]") for i, x in enumerate(self.list_(v, path)))

    # arrays
    def array(self, v: Any, path: str, kind: str, ndim: int) -> NDArray[Any]:
        """A float ("f") or integer ("i") array: a plain (nested) list or a packed object."""
        if isinstance(v, list):
            return self.list_array(v, path, kind, ndim)
        if isinstance(v, (dict, _Duplicate)):
            return self.packed(v, path, kind, ndim)
        raise self.error(f"expected an array (a list or a packed object), got {_describe(v)}", path)

    def list_array(self, v: list[Any], path: str, kind: str, ndim: int) -> NDArray[Any]:
        shape: tuple[int, ...]
        if ndim == 1:
            flat, shape = v, (len(v),)
        else:
            width = None
            flat = []
            for i, row in enumerate(v):
                row = self.list_(row, f"{path}[{i}]")
                if width is None:
                    width = len(row)
                elif len(row) != width:
                    raise self.error(f"rows differ in length ({width} and {len(row)})", f"{path}[{i}]")
                flat.extend(row)
            shape = (len(v), width or 0)
        good = (int, float) if kind == "f" else (int,)
        if not all(type(x) in good for x in flat):
            flat = [self.element(x, i, path, kind, shape) for i, x in enumerate(flat)]
        try:
            arr = np.array(flat, dtype=np.float64 if kind == "f" else np.int64)
        except OverflowError:
            raise self.error("a number is out of range", path) from None
        return arr.reshape(shape)

    def element(self, x: Any, i: int, path: str, kind: str, shape: tuple[int, ...]) -> Any:
        if kind == "f" and type(x) in (int, float):
            return x
        if kind == "f" and isinstance(x, str) and x in NON_FINITE:
            return NON_FINITE[x]
        if kind == "i" and type(x) is int:
            return x
        at = f"{path}[{i}]" if len(shape) == 1 else f"{path}[{i // max(shape[1], 1)}][{i % max(shape[1], 1)}]"
        want = 'a number or one of "NaN", "Infinity", "-Infinity"' if kind == "f" else "an integer"
        raise self.error(f"expected {want}, got {_describe(x)}", at)

    def packed(self, v: Any, path: str, kind: str, ndim: int) -> NDArray[Any]:
        return self.unpack(self.packed_header(v, path, kind, ndim))

    def arrays(self, specs: list[tuple[Any, str, str, int]]) -> list[NDArray[Any]]:
        """Several arrays ``(value, path, kind, ndim)`` (see :meth:`array`). Their headers are checked
        in order; the payloads of large packed arrays are then decoded on a few threads (zlib lets
        go of the GIL), and the first error in order is raised, as one by one would."""
        out: list[Any] = [None] * len(specs)
        headers: list[tuple[int, _Packed]] = []
        failed: PortamodelError | None = None
        for i, (v, path, kind, ndim) in enumerate(specs):
            try:
                if isinstance(v, (dict, _Duplicate)):
                    headers.append((i, self.packed_header(v, path, kind, ndim)))
                else:
                    out[i] = self.array(v, path, kind, ndim)
            except PortamodelError as exc:
                failed = exc  # the arrays before it are decoded first: their errors come first
                break
        big = sum(h.nbytes for _, h in headers) >= _PARALLEL_DECODE_BYTES
        # the costliest payloads first (base64 text plus decoded bytes), so that threads finish
        # together; results and the first error still go by the arrays' order
        by_cost = (
            sorted(range(len(headers)), key=lambda j: -(headers[j][1].nbytes + len(headers[j][1].text))) if big else range(len(headers))
        )
        decoded = run_all(self._try_unpack, [headers[j][1] for j in by_cost], min(4, usable_cpus()) if big else 1)
        results: list[Any] = [None] * len(headers)
        for j, arr in zip(by_cost, decoded):
            results[j] = arr
        for (i, _), arr in zip(headers, results):
            if isinstance(arr, PortamodelError):
                raise arr
            out[i] = arr
        if failed is not None:
            raise failed
        return out

    def _try_unpack(self, h: _Packed) -> NDArray[Any] | PortamodelError:
        try:
            return self.unpack(h)
        except PortamodelError as exc:
            return exc

    def packed_header(self, v: Any, path: str, kind: str, ndim: int) -> _Packed:
        """Check a packed array's object (everything but its payload) and its declared size."""
        o = self.obj(v, path, required=("dtype", "shape", "base64"), optional=("compression",))
        allowed = FLOAT_DTYPES if kind == "f" else INT_DTYPES
        dtype = np.dtype(self.choice(o["dtype"], allowed, f"{path}.dtype"))
        shape_list = self.list_(o["shape"], f"{path}.shape")
        if len(shape_list) != ndim:
            raise self.error(f"expected a {ndim}-D shape, got {len(shape_list)} dimensions", f"{path}.shape")
        shape = []
        for i, s in enumerate(shape_list):
            if isinstance(s, bool) or not isinstance(s, int) or s < 0:
                raise self.error(f"expected a non-negative integer, got {_describe(s)}", f"{path}.shape[{i}]")
            if s > self.max_bytes:
                raise LimitExceededError(f"dimension {s} exceeds max_bytes={self.max_bytes}", location=self.where(f"{path}.shape[{i}]"))
            shape.append(s)
        nbytes = math.prod(shape) * dtype.itemsize
        self.array_bytes += nbytes
        if self.array_bytes > self.max_bytes:
            raise LimitExceededError(
                f"arrays declare more than max_bytes={self.max_bytes} bytes in total (this one {nbytes})",
                location=self.where(f"{path}.shape"),
            )
        compression = o.get("compression")
        if compression is not None:
            self.choice(compression, ("zlib",), f"{path}.compression")
        text = self.str_(o["base64"], f"{path}.base64")
        if compression is None and len(text) != 4 * ((nbytes + 2) // 3):
            raise self.error(
                f"base64 text of {len(text)} characters cannot hold shape {shape} of {dtype.str} ({nbytes} bytes)",
                f"{path}.base64",
            )
        return _Packed(path, dtype, tuple(shape), nbytes, compression, text)

    def unpack(self, h: _Packed) -> NDArray[Any]:
        """Decode a checked packed array (any thread: it changes nothing on the reader)."""
        try:
            raw = _b64decode(h.text)
        except (binascii.Error, ValueError) as exc:
            raise self.error(f"bad base64 ({exc})", f"{h.path}.base64") from None
        if h.compression == "zlib":
            raw = self.inflate(raw, h.nbytes, f"{h.path}.base64")
        if len(raw) != h.nbytes:
            raise self.error(f"holds {len(raw)} bytes but shape {list(h.shape)} of {h.dtype.str} needs {h.nbytes}", f"{h.path}.base64")
        return np.frombuffer(raw, dtype=h.dtype).reshape(h.shape)

    def inflate(self, raw: bytes, nbytes: int, path: str) -> bytes:
        d = zlib.decompressobj()
        try:
            out = d.decompress(raw, nbytes + 1)
        except zlib.error as exc:
            raise self.error(f"corrupt zlib data ({exc})", path) from None
        if len(out) > nbytes or d.unconsumed_tail:
            raise self.error(f"decompresses to more than the {nbytes} bytes its shape needs", path)
        if not d.eof:
            raise self.error("truncated zlib data", path)
        if d.unused_data:
            raise self.error("trailing bytes after the zlib data", path)
        return out

    # building IR objects
    def build(self, cls: type, path: str, **kwargs: Any) -> Any:
        try:
            return cls(**kwargs)
        except IRValidationError as exc:
            raise self.error(*_ir_location(exc, cls, kwargs, path)) from None
        except (TypeError, ValueError, OverflowError, IndexError, KeyError) as exc:
            raise self.error(f"invalid {cls.__name__}: {exc}", path) from None

    # -- the document -------------------------------------------------------------------------
    def model(self, v: Any, path: str) -> Model:
        if not isinstance(v, dict):
            raise self.error(f"expected a JSON object at the top level, got {_describe(v)}", path)
        if v.get("format") != FORMAT_NAME:
            raise self.error(f'not a portamodel model: expected "format": "{FORMAT_NAME}"', path)
        version = v.get("version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise self.error(f"expected an integer format version, got {_describe(version)}", f"{path}.version")
        if version != VERSION:
            raise self.error(f"format version {version} is not supported; this portamodel reads version {VERSION}", f"{path}.version")
        o = self.obj(v, path, required=("format", "version", "inputs", "target", "estimator"), optional=("metadata", "steps"))
        inputs = tuple(self.field(f, f"{path}.inputs[{i}]") for i, f in enumerate(self.list_(o["inputs"], f"{path}.inputs")))
        target = self.target(o["target"], f"{path}.target")
        steps = tuple(self.step(s, f"{path}.steps[{i}]") for i, s in enumerate(self.list_(o.get("steps", []), f"{path}.steps")))
        estimator = self.estimator(o["estimator"], f"{path}.estimator")
        metadata = self.metadata(o["metadata"], f"{path}.metadata") if "metadata" in o else Metadata()
        return self.build(Model, path, inputs=inputs, target=target, estimator=estimator, steps=steps, metadata=metadata)

    def metadata(self, v: Any, path: str) -> Metadata:
        o = self.obj(v, path, optional=(*_METADATA_KEYS, "extra"))
        kwargs: dict[str, Any] = {k: self.str_(o[k], f"{path}.{k}") for k in _METADATA_KEYS if k in o}
        if "extra" in o:
            extra = o["extra"]
            if isinstance(extra, _Duplicate):
                raise self.error(f"duplicate key {extra.key!r}", f"{path}.extra")
            if not isinstance(extra, dict):
                raise self.error(f"expected an object of strings, got {_describe(extra)}", f"{path}.extra")
            kwargs["extra"] = {k: self.str_(x, f"{path}.extra[{json.dumps(k)}]") for k, x in extra.items()}
        return self.build(Metadata, path, **kwargs)

    def field(self, v: Any, path: str) -> Field:
        o = self.obj(v, path, required=("name",), optional=("dtype", "optype", "values", "invalid"))
        kwargs: dict[str, Any] = {"name": self.str_(o["name"], f"{path}.name")}
        if "dtype" in o:
            kwargs["dtype"] = self.choice(o["dtype"], DATA_TYPES, f"{path}.dtype")
        if "optype" in o:
            kwargs["optype"] = self.choice(o["optype"], OPTYPES, f"{path}.optype")
        if "values" in o:
            kwargs["values"] = self.values(o["values"], f"{path}.values")
        if "invalid" in o:
            kwargs["invalid"] = self.choice(o["invalid"], INVALID_POLICIES, f"{path}.invalid")
        return self.build(Field, path, **kwargs)

    def target(self, v: Any, path: str) -> Target:
        o = self.obj(v, path, required=("name", "task"), optional=("classes",))
        return self.build(
            Target,
            path,
            name=self.str_(o["name"], f"{path}.name"),
            task=self.choice(o["task"], TASKS, f"{path}.task"),
            classes=self.values(o.get("classes", []), f"{path}.classes"),
        )

    # steps
    def step(self, v: Any, path: str) -> Any:
        if not isinstance(v, dict):
            self.obj(v, path)  # raises with the right message
        kind = self.choice(v.get("type"), STEP_TYPES, f"{path}.type")
        return getattr(self, f"step_{kind}")(v, path)

    def step_Affine(self, v: Any, path: str) -> Affine:
        o = self.obj(v, path, required=("type", "inputs", "outputs", "offset", "scale"), optional=("shift", "divide"))
        kwargs: dict[str, Any] = {
            "inputs": self.names(o["inputs"], f"{path}.inputs"),
            "outputs": self.names(o["outputs"], f"{path}.outputs"),
            "offset": self.array(o["offset"], f"{path}.offset", "f", 1),
            "scale": self.array(o["scale"], f"{path}.scale", "f", 1),
        }
        if o.get("shift") is not None:
            kwargs["shift"] = self.array(o["shift"], f"{path}.shift", "f", 1)
        if "divide" in o:
            kwargs["divide"] = self.bool_(o["divide"], f"{path}.divide")
        return self.build(Affine, path, **kwargs)  # type: ignore[no-any-return]

    def step_Impute(self, v: Any, path: str) -> Impute:
        o = self.obj(v, path, required=("type", "inputs", "outputs", "values"))
        return self.build(  # type: ignore[no-any-return]
            Impute,
            path,
            inputs=self.names(o["inputs"], f"{path}.inputs"),
            outputs=self.names(o["outputs"], f"{path}.outputs"),
            values=self.values(o["values"], f"{path}.values"),
        )

    def step_OneHot(self, v: Any, path: str) -> OneHot:
        o = self.obj(v, path, required=("type", "input", "categories", "outputs"), optional=("unknown", "missing"))
        kwargs: dict[str, Any] = {
            "input": self.str_(o["input"], f"{path}.input"),
            "categories": self.values(o["categories"], f"{path}.categories"),
            "outputs": self.names(o["outputs"], f"{path}.outputs"),
        }
        if "unknown" in o:
            kwargs["unknown"] = self.choice(o["unknown"], ("ignore", "error"), f"{path}.unknown")
        if "missing" in o:
            kwargs["missing"] = self.choice(o["missing"], ("zeros", "propagate"), f"{path}.missing")
        return self.build(OneHot, path, **kwargs)  # type: ignore[no-any-return]

    def step_Lookup(self, v: Any, path: str) -> Lookup:
        o = self.obj(v, path, required=("type", "input", "output", "keys", "values"), optional=("default", "missing", "unknown"))
        kwargs: dict[str, Any] = {
            "input": self.str_(o["input"], f"{path}.input"),
            "output": self.str_(o["output"], f"{path}.output"),
            "keys": self.values(o["keys"], f"{path}.keys"),
            "values": self.values(o["values"], f"{path}.values"),
            "default": self.value(o.get("default"), f"{path}.default", allow_null=True),
            "missing": self.value(o.get("missing"), f"{path}.missing", allow_null=True),
        }
        if "unknown" in o:
            kwargs["unknown"] = self.choice(o["unknown"], ("default", "error"), f"{path}.unknown")
        return self.build(Lookup, path, **kwargs)  # type: ignore[no-any-return]

    def step_Derive(self, v: Any, path: str) -> Derive:
        o = self.obj(v, path, required=("type", "output", "expression"), optional=("dtype",))
        kwargs: dict[str, Any] = {
            "output": self.str_(o["output"], f"{path}.output"),
            "expression": self.expression(o["expression"], f"{path}.expression", 1),
        }
        if "dtype" in o:
            kwargs["dtype"] = self.choice(o["dtype"], ("double", "string", "boolean"), f"{path}.dtype")
        return self.build(Derive, path, **kwargs)  # type: ignore[no-any-return]

    def expression(self, v: Any, path: str, depth: int) -> Any:
        if depth > self.max_depth:
            raise LimitExceededError(f"expression nested deeper than max_depth={self.max_depth}", location=self.where(path))
        o = self.obj(v, path, optional=("constant", "field", "apply", "args"))
        kinds = [k for k in ("constant", "field", "apply") if k in o]
        if len(kinds) != 1:
            raise self.error('expected exactly one of "constant", "field", "apply"', path)
        if kinds[0] != "apply" and "args" in o:
            raise self.error('"args" belongs to "apply" only', path)
        if kinds[0] == "constant":
            return self.build(Constant, path, value=self.value(o["constant"], f"{path}.constant", allow_null=True))
        if kinds[0] == "field":
            return self.build(FieldRef, path, name=self.str_(o["field"], f"{path}.field"))
        function = self.choice(o["apply"], tuple(FUNCTIONS), f"{path}.apply")
        if "args" not in o:
            raise self.error("missing required key 'args'", path)
        args = self.list_(o["args"], f"{path}.args")
        built = tuple(self.expression(a, f"{path}.args[{i}]", depth + 1) for i, a in enumerate(args))
        return self.build(Apply, path, function=function, args=built)

    # estimators
    def estimator(self, v: Any, path: str) -> Any:
        if not isinstance(v, dict):
            self.obj(v, path)
        kind = self.choice(v.get("type"), ESTIMATOR_TYPES, f"{path}.type")
        return getattr(self, f"estimator_{kind}")(v, path)

    def estimator_LinearModel(self, v: Any, path: str) -> LinearModel:
        o = self.obj(v, path, required=("type", "features", "coefficients", "intercepts"), optional=("normalization",))
        kwargs: dict[str, Any] = {
            "features": self.names(o["features"], f"{path}.features"),
            "coefficients": self.array(o["coefficients"], f"{path}.coefficients", "f", 2),
            "intercepts": self.array(o["intercepts"], f"{path}.intercepts", "f", 1),
        }
        if "normalization" in o:
            kwargs["normalization"] = self.choice(o["normalization"], NORMALIZATIONS, f"{path}.normalization")
        return self.build(LinearModel, path, **kwargs)  # type: ignore[no-any-return]

    def estimator_MLP(self, v: Any, path: str) -> MLP:
        o = self.obj(v, path, required=("type", "features", "layers"), optional=("compute_dtype",))
        kwargs: dict[str, Any] = {"features": self.names(o["features"], f"{path}.features")}
        if "compute_dtype" in o:
            kwargs["compute_dtype"] = self.choice(o["compute_dtype"], COMPUTE_DTYPES, f"{path}.compute_dtype")
        kwargs["layers"] = tuple(self.layer(x, f"{path}.layers[{i}]") for i, x in enumerate(self.list_(o["layers"], f"{path}.layers")))
        return self.build(MLP, path, **kwargs)  # type: ignore[no-any-return]

    def layer(self, v: Any, path: str) -> DenseLayer:
        o = self.obj(v, path, required=("weights", "biases"), optional=("activation", "alpha"))
        kwargs: dict[str, Any] = {
            "weights": self.array(o["weights"], f"{path}.weights", "f", 2),
            "biases": self.array(o["biases"], f"{path}.biases", "f", 1),
        }
        if "activation" in o:
            kwargs["activation"] = self.choice(o["activation"], ACTIVATIONS, f"{path}.activation")
        if "alpha" in o:
            kwargs["alpha"] = self.number(o["alpha"], f"{path}.alpha")
        return self.build(DenseLayer, path, **kwargs)  # type: ignore[no-any-return]

    _TREE_ARRAYS = {
        "roots": "i", "feature": "i", "threshold": "f", "op": "i", "true_child": "i", "false_child": "i", "missing": "i",
    }  # fmt: skip
    _TREE_OPTIONAL_ARRAYS = {"set_offsets": "i", "set_values": "f", "tree_weights": "f", "base_score": "f"}

    def estimator_TreeEnsemble(self, v: Any, path: str) -> TreeEnsemble:
        o = self.obj(
            v,
            path,
            required=("type", "features", *self._TREE_ARRAYS, "values"),
            optional=(*self._TREE_OPTIONAL_ARRAYS, "aggregation", "post_transform", "input_dtype", "accumulate_dtype"),
        )
        kwargs: dict[str, Any] = {"features": self.names(o["features"], f"{path}.features")}
        specs = [(name, kind, 1) for name, kind in self._TREE_ARRAYS.items()] + [("values", "f", 2)]
        specs += [(name, kind, 1) for name, kind in self._TREE_OPTIONAL_ARRAYS.items() if o.get(name) is not None]
        arrays = self.arrays([(o[name], f"{path}.{name}", kind, ndim) for name, kind, ndim in specs])
        kwargs.update((name, arr) for (name, _, _), arr in zip(specs, arrays))
        for name, choices in (
            ("aggregation", AGGREGATIONS),
            ("post_transform", NORMALIZATIONS),
            ("input_dtype", ("float64", "float32")),
            ("accumulate_dtype", ("float64", "float32")),
        ):
            if name in o:
                kwargs[name] = self.choice(o[name], choices, f"{path}.{name}")
        est: TreeEnsemble = self.build(TreeEnsemble, path, **kwargs)
        depth = est.max_depth
        if depth > self.max_tree_depth:
            raise LimitExceededError(
                f"a tree is {depth} levels deep, more than max_tree_depth={self.max_tree_depth}", location=self.where(f"{path}.roots")
            )
        return est
