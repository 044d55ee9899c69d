"""Compressed inputs: zip archives checked before anything inside is read, and the bound on
how far any compressed input may expand.

GDAL reads a zipped Shapefile or GeoPackage in place (``/vsizip/``), expanding members as it
goes. :func:`check_zip` reads only the archive's central directory and refuses, before any
member is expanded, an archive that is not a zip, holds too many members, names members
outside itself (``../``, absolute paths), or would expand to too much data or with a
compression ratio only a "zip bomb" reaches. A gzip stream has no trustworthy directory:
its readers call :func:`check_expansion` as they go.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath
from typing import Final

from geo_service.errors import InputError

#: Most members an archive may hold.
MAX_MEMBERS: Final = 10_000
#: Most bytes the members may expand to, in total (4 GB).
MAX_EXPANDED_BYTES: Final = 4_000_000_000
#: Highest total compression ratio accepted once the members exceed ``RATIO_FLOOR_BYTES``
#: (text and GeoPackages compress 3 to 30 times; deflate cannot exceed about 1,030).
MAX_RATIO: Final = 200.0
RATIO_FLOOR_BYTES: Final = 100_000_000


def check_zip(path: Path) -> None:
    """Refuse ``path`` unless it is a zip archive safe to read in place.

    Raises
    ------
    InputError
        When the archive is not a zip, has more than :data:`MAX_MEMBERS` members, a member
        path that leaves the archive, or members that would expand beyond
        :data:`MAX_EXPANDED_BYTES` or with a ratio above :data:`MAX_RATIO`.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise InputError(
            f"{path}: not a readable zip archive ({exc}); expected a .zip file"
        ) from exc
    if len(members) > MAX_MEMBERS:
        raise InputError(
            f"{path}: the archive holds {len(members):,} files; expected at most "
            f"{MAX_MEMBERS:,} (a zipped Shapefile, GeoPackage or GeoJSON)"
        )
    for member in members:
        parts = PurePosixPath(member.filename.replace("\\", "/")).parts
        if member.filename.startswith(("/", "\\")) or ".." in parts or ":" in member.filename:
            raise InputError(
                f"{path}: the archive member {member.filename[:120]!r} has a path outside the "
                "archive; expected plain relative names"
            )
    expanded = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if expanded > MAX_EXPANDED_BYTES or _bomb_ratio(packed, expanded):
        raise InputError(
            f"{path}: the archive would expand from {packed / 1e6:,.1f} MB to "
            f"{expanded / 1e6:,.1f} MB (ratio {expanded / max(packed, 1):,.0f}); refused "
            f"before expanding it: expected at most {MAX_EXPANDED_BYTES / 1e9:g} GB and a "
            f"ratio below {MAX_RATIO:g}"
        )


def check_expansion(path: Path, packed: int, expanded: int) -> None:
    """Refuse a compressed stream whose first ``packed`` bytes expanded to ``expanded`` bytes
    with a ratio only a "bomb" reaches (above :data:`MAX_RATIO` past
    :data:`RATIO_FLOOR_BYTES`).

    Streamed readers call it as they go, so a bomb is stopped after a few blocks. No total
    is bounded here: honest text may be as long as its producer made it.

    Raises
    ------
    InputError
        Naming the file, the sizes reached and the ratio expected.
    """
    if _bomb_ratio(packed, expanded):
        raise InputError(
            f"{path}: {packed / 1e6:,.1f} MB of compressed data expanded to "
            f"{expanded / 1e6:,.1f} MB (ratio {expanded / max(packed, 1):,.0f}) and reading "
            f"was stopped: expected a compression ratio below {MAX_RATIO:g}, as text data has"
        )


def _bomb_ratio(packed: int, expanded: int) -> bool:
    return expanded > RATIO_FLOOR_BYTES and expanded / max(packed, 1) > MAX_RATIO
