"""Zip archives: checked from their directory before anything inside is read.

GDAL reads a zipped Shapefile or GeoPackage in place (``/vsizip/``), expanding members as it
goes. :func:`check_zip` reads only the archive's central directory and refuses, before any
member is expanded, an archive that is not a zip, holds too many members, names members
outside itself (``../``, absolute paths), or would expand to too much data or with a
compression ratio only a "zip bomb" reaches.
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
    ratio = expanded / max(packed, 1)
    if expanded > MAX_EXPANDED_BYTES or (expanded > RATIO_FLOOR_BYTES and ratio > MAX_RATIO):
        raise InputError(
            f"{path}: the archive would expand from {packed / 1e6:,.1f} MB to "
            f"{expanded / 1e6:,.1f} MB (ratio {ratio:,.0f}); refused before expanding it: "
            f"expected at most {MAX_EXPANDED_BYTES / 1e9:g} GB and a ratio below {MAX_RATIO:g}"
        )
