"""One mechanism for reporting information a writer or reader must drop.

Writers take ``on_loss="raise" | "warn" | "ignore"`` and call :func:`report_loss` for each loss:
``raise`` stops with :class:`~portamodel.errors.ConversionLossError`, ``warn`` issues a
:class:`LossWarning` (a ``UserWarning``), ``ignore`` does nothing. The library never prints.

>>> import warnings
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     report_loss("thresholds rounded to float32", on_loss="warn", location="tree 3")
>>> str(caught[0].message)
'tree 3: thresholds rounded to float32'
"""

from __future__ import annotations

import warnings
from typing import Literal

from .errors import ConversionLossError, PortamodelError

__all__ = ["ON_LOSS", "LossWarning", "OnLoss", "check_on_loss", "report_loss"]

OnLoss = Literal["raise", "warn", "ignore"]
ON_LOSS: tuple[str, ...] = ("raise", "warn", "ignore")


class LossWarning(UserWarning):
    """A conversion dropped or approximated something (``on_loss="warn"``)."""


def check_on_loss(on_loss: str) -> None:
    """Refuse an unknown policy early, before any work is done."""
    if on_loss not in ON_LOSS:
        raise PortamodelError(f"on_loss must be one of {', '.join(ON_LOSS)}; got {on_loss!r}")


def report_loss(message: str, *, on_loss: OnLoss, location: str | None = None) -> None:
    """Report one loss of information according to the ``on_loss`` policy."""
    check_on_loss(on_loss)
    if on_loss == "raise":
        raise ConversionLossError(message, location=location)
    if on_loss == "warn":
        warnings.warn(f"{location}: {message}" if location else message, LossWarning, stacklevel=3)
