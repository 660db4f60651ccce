"""Lazy access to the ``onnx`` package (the ``portamodel[onnx]`` extra)."""

from __future__ import annotations

from types import ModuleType

from ...errors import MissingDependencyError

__all__ = ["MIN_ONNX", "onnx_module"]

#: Oldest onnx release with the external-data path-traversal and symlink fixes.
MIN_ONNX = (1, 21)


def onnx_module() -> ModuleType:
    """Import and return :mod:`onnx`, or raise :class:`MissingDependencyError` naming the extra."""
    try:
        import onnx
    except ImportError:
        raise MissingDependencyError("reading or writing ONNX needs the onnx package: pip install portamodel[onnx]") from None
    version = tuple(int(p) for p in onnx.__version__.split(".")[:2] if p.isdigit())
    if version < MIN_ONNX:
        raise MissingDependencyError(
            f"onnx {onnx.__version__} is too old (needs >= {'.'.join(map(str, MIN_ONNX))}, which has the "
            "external-data path fixes): pip install -U portamodel[onnx]"
        )
    return onnx
