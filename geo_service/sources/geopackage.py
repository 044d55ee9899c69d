"""Cheap checks of a GeoPackage made with SQLite alone, before GDAL opens it.

GDAL counts a layer's features by running its query: a layer that is a view (of a recursive
CTE, say) can take hours while holding the GIL, freezing every request of the server. The
layers a GeoPackage declares in ``gpkg_contents`` must therefore be plain tables.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from geo_service.errors import InputError

_COMPUTED_LAYERS = """
SELECT c.table_name, m.type, coalesce(m.sql, '')
FROM gpkg_contents AS c JOIN sqlite_master AS m ON m.name = c.table_name
WHERE m.type = 'view' OR upper(m.sql) LIKE 'CREATE VIRTUAL TABLE%'
"""


def check_geopackage(path: Path) -> None:
    """Refuse a GeoPackage whose layers include a view or a virtual table.

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
            f"{path}: layer {names} is computed by a query, not stored; geo-service reads only "
            "GeoPackage layers that are tables (export the layer as a table first)"
        )
