"""Atomic file writes: a failure mid-write never leaves a partial file or harms an old one.

The data goes to a new temporary file in the destination's folder (same file system), is flushed
and fsynced, then renamed over the destination in one step (``os.replace``). On any error, or an
interrupt, the temporary file is removed and an existing destination is left as it was. The new
file gets the mode of the file it replaces, else what a plain ``open()`` would give (``0o666``
minus the umask).

>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_atomic(folder / "model.json", b"{}")
>>> sorted(p.name for p in folder.iterdir())
['model.json']
>>> import shutil; shutil.rmtree(folder)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from .errors import PortamodelError

__all__ = ["write_atomic"]

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and an atomic rename."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise PortamodelError("folder does not exist", location=str(folder))
    fd, tmp = _create_temp(folder, target.name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        _copy_mode(target, tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _create_temp(folder: Path, name: str) -> tuple[int, Path]:
    """A new, exclusive ``.NAME.RANDOM.tmp`` in ``folder``; the kernel applies the umask to 0o666
    (``tempfile.mkstemp`` would make it 0o600, and the saved model unreadable to others)."""
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, _FLAGS, 0o666), tmp
        except FileExistsError:
            continue
    raise PortamodelError("cannot create a temporary file (100 names taken)", location=str(folder))  # pragma: no cover


def _copy_mode(target: Path, tmp: Path) -> None:
    """Give the new file the permission bits of the regular file it replaces, if any."""
    try:
        st = os.stat(target)
    except OSError:
        return
    if stat.S_ISREG(st.st_mode):
        with contextlib.suppress(OSError):
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
