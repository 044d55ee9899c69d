"""What a failed write to the store's disk means for its user, said in one line.

The writers (GDAL for GeoPackages, rasterio, SQLite for the opinion archive) often lose the
system's error: GDAL reports a full disk met in the middle of a batch as a failed ROLLBACK (its
file truncated by then), a read-only directory as "unable to open database file". So a failed
write is put to the system itself, by creating a probe file in the directory, and to the space
free against about what was to be written.
"""

from __future__ import annotations

import errno
import shutil
import tempfile
from pathlib import Path
from typing import Final

from geo_service.errors import StoreError

_FULL: Final = frozenset({errno.ENOSPC, errno.EDQUOT})
_READ_ONLY: Final = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
_FULL_WORDS: Final = ("disk is full", "no space left", "disk full")


def write_error(root: Path, writing: str, exc: Exception, needed: int) -> StoreError | None:
    """What the failure ``exc`` of writing ``writing`` (``"layer 'zones'"``, or empty) in
    directory ``root`` means: a full disk (how much was free; about how much ``needed``, when
    known), a read-only directory (which), another OS error; None when it is none of them."""
    what = f" {writing}" if writing else ""
    if not isinstance(exc, OSError):  # a writer's error: what does the system say there?
        exc = probe(root) or exc
    code = exc.errno if isinstance(exc, OSError) else None
    free = shutil.disk_usage(root).free if root.is_dir() else 0
    said_full = code in _FULL or any(w in str(exc).lower() for w in _FULL_WORDS)
    if said_full or (not isinstance(exc, OSError) and free < needed):
        takes = f" (the layer takes about {needed / 1e6:,.1f} MB)" if needed else ""
        return StoreError(
            f"disk full: writing{what} in {root} needed more than the {free / 1e6:,.1f} MB "
            f"free there{takes}; free space there or set GEO_SERVICE_DATA_DIR to a larger "
            "disk. The store is unchanged"
        )
    if isinstance(exc, OSError) and code in _READ_ONLY:
        place = exc.filename or root
        return StoreError(
            f"{place}: cannot be written ({exc.strerror}); the store's directory must be "
            "writable by this user (set GEO_SERVICE_DATA_DIR to a writable one). The store is "
            "unchanged"
        )
    if isinstance(exc, OSError):
        return StoreError(f"cannot write{what} in {root}: {exc}")
    return None


def probe(root: Path) -> OSError | None:
    """The error of creating a file in ``root`` (read-only, full), None if it can be."""
    try:
        with tempfile.TemporaryFile(dir=root, prefix=".probe-"):
            return None
    except OSError as exc:
        exc.filename = str(root)  # the directory, not the probe's made-up name
        return exc
