"""Compressed inputs: zip archives checked before anything inside is read, and the bound on
how far any compressed input may expand.

GDAL reads a zipped Shapefile or GeoPackage in place (``/vsizip/``), expanding members as it
goes. :func:`check_zip` reads the archive's central directory first and refuses, before any
member is expanded, an archive that is not a zip, holds too many members, names members
outside itself (``../``, absolute paths), or would expand to too much data or with a
compression ratio only a "zip bomb" reaches. The directory may lie: each member is then
expanded once, counting its bytes, and refused as soon as it exceeds the size the directory
declares (so no member costs more than it claims). A gzip stream has no directory at all:
its readers call :func:`check_expansion` as they go.
"""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Final

from geo_service.errors import InputError

#: Most members an archive may hold.
MAX_MEMBERS: Final = 10_000
#: Most bytes the members may expand to, in total (4 GB).
MAX_EXPANDED_BYTES: Final = 4_000_000_000
#: Raw bytes read, and most bytes expanded, at a time while counting a member's bytes.
_CHUNK: Final = 1 << 20
#: Size and signature of a zip local file header (PKWARE APPNOTE 4.3.7).
_LOCAL_HEADER: Final = struct.Struct("<4s22xHH")
_LOCAL_SIGNATURE: Final = b"PK\x03\x04"
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
    for member in members:
        if not member.is_dir():
            _check_member_size(path, member)


def zip_members(path: Path) -> tuple[str, ...]:
    """Lower-case base names of the files of zip archive ``path`` (checked by
    :func:`check_zip` first)."""
    with zipfile.ZipFile(path) as archive:
        names = [PurePosixPath(m.filename).name.lower() for m in archive.infolist()]
    return tuple(sorted(n for n in names if n))


def _check_member_size(path: Path, member: zipfile.ZipInfo) -> None:
    """Refuse ``member`` if it expands beyond the size the central directory declares."""
    if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise InputError(
            f"{path}: the archive member {member.filename[:120]!r} is compressed with method "
            f"{member.compress_type}; expected deflate or no compression (what GDAL reads)"
        )
    try:
        with path.open("rb") as raw:
            expanded = _expanded_size(raw, member)
    except (struct.error, zlib.error, OSError) as exc:
        raise InputError(
            f"{path}: the archive member {member.filename[:120]!r} cannot be expanded ({exc}); "
            "expected a valid zip file"
        ) from exc
    if expanded > member.file_size:
        raise InputError(
            f"{path}: the archive member {member.filename[:120]!r} expands beyond the "
            f"{member.file_size:,} bytes its directory declares; refused while expanding it "
            "(a forged archive): expected a zip whose directory tells the members' sizes"
        )


def _expanded_size(raw: BinaryIO, member: zipfile.ZipInfo) -> int:
    """Bytes ``member`` expands to, counted chunk by chunk; the count stops once it exceeds
    the declared ``file_size`` (memory: one chunk)."""
    raw.seek(member.header_offset)
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
    if signature != _LOCAL_SIGNATURE:
        raise struct.error("no local file header where the directory points")
    raw.seek(member.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
    if member.compress_type == zipfile.ZIP_STORED:
        return member.compress_size
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    expanded, left = 0, member.compress_size
    while left > 0 and not inflater.eof and expanded <= member.file_size:
        chunk = raw.read(min(left, _CHUNK))
        if not chunk:
            break
        left -= len(chunk)
        while chunk and expanded <= member.file_size:
            expanded += len(inflater.decompress(chunk, _CHUNK))
            chunk = inflater.unconsumed_tail
    return expanded


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


class BoundedGzip(io.RawIOBase):
    """A gzip file read as its expanded bytes, refused by :func:`check_expansion` as soon as
    it expands like a bomb (checked at every read)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._raw = path.open("rb")
        self._inflate = gzip.GzipFile(fileobj=self._raw, mode="rb")
        self._expanded = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            count = self._inflate.readinto(buffer)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"{self._path}: not a readable gzip file ({exc})") from exc
        self._expanded += count
        check_expansion(self._path, self._raw.tell(), self._expanded)
        return count

    def close(self) -> None:
        self._inflate.close()
        self._raw.close()
        super().close()


def _bomb_ratio(packed: int, expanded: int) -> bool:
    return expanded > RATIO_FLOOR_BYTES and expanded / max(packed, 1) > MAX_RATIO
