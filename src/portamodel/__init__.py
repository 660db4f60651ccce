"""portamodel: trained models made portable.

Read a model from PMML, ONNX or portamodel's compact JSON, score it with numpy alone, and write it
to any of those formats::

    >>> import portamodel
    >>> model = portamodel.load("examples/iris_forest.json")      # doctest: +SKIP
    >>> model.predict([[5.1, 3.5, 1.4, 0.2]])                      # doctest: +SKIP
    array(['setosa'], dtype=object)
    >>> portamodel.save(model, "iris_forest.onnx")                 # doctest: +SKIP

``import portamodel`` imports numpy and nothing heavier; lxml, onnx and scikit-learn load only when
their format or importer is used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import errors
from .errors import (
    ConversionLossError,
    FormatError,
    InputError,
    IRValidationError,
    LimitExceededError,
    MissingDependencyError,
    PortamodelError,
    UnknownFormatError,
    UnsupportedFeatureError,
)
from .ir import Model

__version__ = "0.1.0"

__all__ = [
    "ConversionLossError",
    "FormatError",
    "IRValidationError",
    "InputError",
    "LimitExceededError",
    "MissingDependencyError",
    "Model",
    "PortamodelError",
    "UnknownFormatError",
    "UnsupportedFeatureError",
    "__version__",
    "convert",
    "errors",
    "from_sklearn",
    "load",
    "save",
]

PathLike = str | os.PathLike[str]


def load(source: PathLike | bytes, format: str | None = None, **options: Any) -> Model:
    """Read a model from a file path or from bytes.

    The format is ``format`` if given, else the file extension (``.json``, ``.pmml``, ``.xml``,
    ``.onnx``, optionally ``.gz``), else guessed from the first bytes. ``options`` go to the
    reader (for example ``external_data_dir=`` for ONNX).

    >>> model = load("examples/iris_forest.json")                   # doctest: +SKIP
    """
    from .formats import format_for, get_format

    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = format_for(format=format, head=data[:512])
        return get_format(name).read(data, **options)  # type: ignore[no-any-return]
    path = Path(source)
    if not path.is_file():  # also refuses folders, devices and FIFOs (a read could block or never end)
        what = "not a regular file (a folder, device or pipe)" if path.exists() else "no such file"
        raise PortamodelError(what, location=str(path))
    head = b""
    if format is None:
        with path.open("rb") as fh:
            head = fh.read(512)
    name = format_for(format=format, path=path, head=head)
    return get_format(name).read(path, **options)  # type: ignore[no-any-return]


def save(model: Model, path: PathLike, format: str | None = None, **options: Any) -> None:
    """Write ``model`` to ``path`` atomically (a failed write leaves any old file intact).

    The format is ``format`` if given, else the extension. ``options`` go to the writer (for
    example ``on_loss="raise"``).

    >>> save(model, "model.onnx")                                   # doctest: +SKIP
    """
    from ._io import write_atomic
    from .formats import format_for, get_format

    if not isinstance(model, Model):
        raise PortamodelError(f"expected a portamodel.Model, got {type(model).__name__}")
    name = format_for(format=format, path=path)
    data = get_format(name).write(model, **options)
    if str(path).lower().endswith(".gz"):
        import gzip

        data = gzip.compress(data, mtime=0)
    write_atomic(path, data)


def convert(
    source: PathLike,
    destination: PathLike,
    *,
    source_format: str | None = None,
    format: str | None = None,
    **options: Any,
) -> Model:
    """Read ``source`` and write it to ``destination`` (formats as in :func:`load` / :func:`save`).

    Returns the model that was converted.

    >>> convert("model.pmml", "model.onnx")                         # doctest: +SKIP
    """
    model = load(source, format=source_format)
    save(model, destination, format=format, **options)
    return model


def from_sklearn(estimator: Any, **options: Any) -> Model:
    """Turn a fitted scikit-learn estimator or pipeline into a :class:`Model`.

    >>> model = from_sklearn(fitted_pipeline)                       # doctest: +SKIP
    """
    from .sklearn import from_sklearn as _from_sklearn

    return _from_sklearn(estimator, **options)
