"""The input file itself: there, and a regular file (a FIFO or a device would block reads)."""

from __future__ import annotations

import stat
from pathlib import Path

from geo_service.errors import InputError


def check_input_file(path: Path) -> None:
    """Refuse ``path`` unless it is a regular file (symbolic links followed), saying what it is.

    Raises
    ------
    InputError
        When it does not exist, is a folder, or is a FIFO, a device or a socket.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    if stat.S_ISREG(mode):
        return
    kind = (
        "a folder"
        if stat.S_ISDIR(mode)
        else "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    raise InputError(f"{path}: is {kind}; expected a data file")
