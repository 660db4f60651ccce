"""Names shared by the JSON reader and writer (see docs/format.md)."""

from __future__ import annotations

import numpy as np

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_TREE_DEPTH",
    "DEFAULT_PACK_THRESHOLD",
    "ESTIMATOR_TYPES",
    "FLOAT_DTYPES",
    "FORMAT_NAME",
    "INT_DTYPES",
    "NON_FINITE",
    "STEP_TYPES",
    "VERSION",
    "is_extension_key",
]

FORMAT_NAME = "portamodel"
#: The major version this code reads and writes. A reader refuses any other value.
VERSION = 1

#: Packed arrays: the stored dtype, numpy's ``dtype.str`` spelling (always little-endian).
FLOAT_DTYPES: tuple[str, ...] = ("<f4", "<f8")
INT_DTYPES: tuple[str, ...] = ("|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8")

#: Plain-list arrays: how the float values JSON cannot spell are written.
NON_FINITE: dict[str, float] = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}

STEP_TYPES: tuple[str, ...] = ("Affine", "Impute", "OneHot", "Lookup", "Derive")
ESTIMATOR_TYPES: tuple[str, ...] = ("LinearModel", "TreeEnsemble", "MLP")

#: Arrays with more elements than this are stored packed (base64) by default.
DEFAULT_PACK_THRESHOLD = 16
#: Reader caps: decompressed document size plus decoded array bytes, and expression nesting.
DEFAULT_MAX_BYTES = 1 << 30
DEFAULT_MAX_DEPTH = 200
#: Reader cap on tree depth: scoring costs a step per level, so a chain a million levels deep in a
#: small file would make every prediction slow.
DEFAULT_MAX_TREE_DEPTH = 10_000

#: The canonical quiet NaN that ``float("nan")`` produces; other NaN bit patterns force packing.
CANONICAL_NAN = np.array([np.nan]).view(np.uint64)[0]


def is_extension_key(key: str) -> bool:
    """Keys starting with ``x-`` are extensions: readers ignore them wherever they appear."""
    return key.startswith("x-")
