"""The portamodel exception tree.

Every error the library raises on purpose is a :class:`PortamodelError`. Each subclass also
inherits the builtin a caller would naturally catch, so ``except ValueError`` keeps working::

    PortamodelError
    ├── IRValidationError        (ValueError)   a model description breaks an invariant
    ├── InputError               (ValueError)   data passed to predict() does not fit the model
    ├── FormatError              (ValueError)   a file is malformed for its format
    │   └── LimitExceededError                  a file exceeds a safety limit (size, depth, count)
    ├── UnsupportedFeatureError  (ValueError)   a valid construct portamodel cannot represent
    ├── ConversionLossError      (ValueError)   a writer would lose information and on_loss="raise"
    ├── UnknownFormatError       (LookupError)  no reader/writer for a name, extension or content
    └── MissingDependencyError   (ImportError)  an optional extra is not installed

Errors carry an optional ``location`` (file, XPath, node name, line) that is prefixed to the
message:

>>> str(FormatError("expected a number", location="model.json: $.trees[0]"))
'model.json: $.trees[0]: expected a number'
"""

from __future__ import annotations

__all__ = [
    "ConversionLossError",
    "FormatError",
    "IRValidationError",
    "InputError",
    "LimitExceededError",
    "MissingDependencyError",
    "PortamodelError",
    "UnknownFormatError",
    "UnsupportedFeatureError",
]


class PortamodelError(Exception):
    """Root of every error portamodel raises on purpose."""

    def __init__(self, message: str, *, location: str | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)

    def __reduce__(self):  # keep pickling (multiprocessing, Spark) working with the keyword
        return (_rebuild, (type(self), self.message, self.location))


def _rebuild(cls: type[PortamodelError], message: str, location: str | None) -> PortamodelError:
    return cls(message, location=location)


class IRValidationError(PortamodelError, ValueError):
    """A model description violates an invariant (shapes, indices, cycles, duplicates)."""


class InputError(PortamodelError, ValueError):
    """Input data does not fit the model (missing column, wrong width, wrong type)."""


class FormatError(PortamodelError, ValueError):
    """A file is malformed for the format it claims to be."""


class LimitExceededError(FormatError):
    """A file exceeds a safety limit (size, nesting depth, element count)."""


class UnsupportedFeatureError(PortamodelError, ValueError):
    """A valid construct that portamodel cannot represent or evaluate."""


class ConversionLossError(PortamodelError, ValueError):
    """Writing would lose information and the caller asked for ``on_loss="raise"``."""


class UnknownFormatError(PortamodelError, LookupError):
    """No reader or writer matches the requested name, file extension or content."""


class MissingDependencyError(PortamodelError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""
