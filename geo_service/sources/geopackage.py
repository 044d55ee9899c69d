"""Cheap checks of a GeoPackage made with SQLite alone, before GDAL opens it.

GDAL counts a layer's features by running its query: a layer that is a view (of a recursive
CTE, say) can take hours while holding the GIL, freezing every request of the server. The
layers a GeoPackage declares in ``gpkg_contents`` must therefore be plain tables.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import zipfile
from pathlib import Path

from geo_service.errors import InputError

_COMPUTED_LAYERS = """
SELECT c.table_name, m.type, coalesce(m.sql, '')
FROM gpkg_contents AS c JOIN sqlite_master AS m ON m.name = c.table_name
WHERE m.type = 'view' OR upper(m.sql) LIKE 'CREATE VIRTUAL TABLE%'
"""


def check_geopackage(path: Path, shown: str | None = None) -> None:
    """Refuse a GeoPackage whose layers include a view or a virtual table; the message names
    it ``shown`` (default: its path).

    A file SQLite cannot read as a GeoPackage is left for GDAL to report.

    Raises
    ------
    InputError
        Naming the file and the computed layers.
    """
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return
    try:
        rows = conn.execute(_COMPUTED_LAYERS).fetchall()
    except sqlite3.Error:  # not a GeoPackage, or malformed: GDAL says which
        return
    finally:
        conn.close()
    if rows:
        names = ", ".join(
            f"{name} ({'a view' if kind == 'view' else 'a virtual table'})"
            for name, kind, _ in rows
        )
        raise InputError(
            f"{shown or path}: layer {names} is computed by a query, not stored; geo-service "
            "reads only GeoPackage layers that are tables (export the layer as a table first)"
        )


def check_zipped_geopackages(path: Path) -> None:
    """:func:`check_geopackage` on each GeoPackage inside the zip archive ``path`` (checked by
    :func:`~geo_service.sources.archive.check_zip` first), each expanded once to a temporary
    file: GDAL would read it in place, views and all."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.lower().endswith(".gpkg"):
                continue
            with tempfile.TemporaryDirectory(prefix="geo-service-gpkg-") as tmp:
                copy = Path(tmp) / "member.gpkg"
                with archive.open(info) as member, copy.open("wb") as out:
                    shutil.copyfileobj(member, out, 1 << 20)
                check_geopackage(copy, shown=f"{path} ({info.filename})")
