"""Cerema Cartofriches brownfield lists (the export in the CNIG Friches standard is in ``cnig``).

Cartofriches publishes its national list of brownfield points in two layouts:

- ``listes_friches_ok.csv``: Latin-1, ``;``-separated, quoted, an unnamed row-number column,
  ``site_id;nature;nom_prodcartofriches;site_statut;geom`` with the point written the way R
  prints a vector, ``c(lon, lat)``;
- extracts with ``lon``/``lat`` columns (and ``comm_insee``).

Neither gives a surface: each brownfield counts as one available plot of 0 ha when its status
is *friche potentielle* or *friche sans projet* (see :data:`~geo_service.sources.cnig.
AVAILABLE_FRICHE_STATUSES`). The list covers overseas départements: those points are left
out and counted, as the service works in Lambert-93.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_service.errors import InputError, format_rows
from geo_service.model import OUTPUT_CRS
from geo_service.sources.cnig import friche_land
from geo_service.sources.formats import ImportFormat, ImportOptions, Sniff, all_files, register
from geo_service.sources.screening import ImportReport, Screen, each_file, point_area
from geo_service.sources.tabular import (
    Columns,
    examples,
    find_columns,
    parse_numbers,
    read_table,
    row_numbers,
)
from geo_service.sources.textgeom import geometries_from_text

_REQUIRED: Final[Columns] = {"site_id": ("site_id",), "site_statut": ("site_statut",)}
_OPTIONAL: Final[Columns] = {
    "geom": ("geom", "geometry", "geompoint", "wkt"),
    "lon": ("lon", "longitude"),
    "lat": ("lat", "latitude"),
}


def read_friches_list(path: Path, options: ImportOptions) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Brownfield points of a Cartofriches list (``c(lon, lat)`` or ``lon``/``lat`` columns)."""
    source = str(path)
    table = read_table(path)
    cols = find_columns(table, source, "a Cartofriches list", _REQUIRED, _OPTIONAL)
    screen = Screen(source, len(table))
    if cols["geom"] is not None:
        parsed = geometries_from_text(table[cols["geom"]])
        if parsed.bad.any():
            raise InputError(
                f"{source}: column '{cols['geom']}': values that are not points in "
                f"{format_rows(row_numbers(parsed.bad))} (e.g. "
                f"{examples(table[cols['geom']], parsed.bad, 1)}); expected c(lon, lat) or "
                "POINT (lon lat)"
            )
        geoms = parsed.geoms
    elif cols["lon"] is not None and cols["lat"] is not None:
        geoms = _points(table, cols["lon"], cols["lat"], source)
    else:
        raise InputError(
            f"{source}: no point column; expected 'geom' (c(lon, lat) or WKT) or 'lon' and "
            f"'lat'; found: {', '.join(repr(str(c)) for c in table.columns)}"
        )
    area = point_area(pd.Series(np.nan, index=table.index), geoms, screen, None)
    return friche_land(table, cols, area, geoms, options.crs or OUTPUT_CRS, screen)


def _points(table: pd.DataFrame, lon: str, lat: str, source: str) -> np.ndarray:
    xs, bad_x = parse_numbers(table[lon])
    ys, bad_y = parse_numbers(table[lat])
    bad = bad_x | bad_y
    if bad.any():
        raise InputError(
            f"{source}: columns '{lon}'/'{lat}': values that are not numbers in "
            f"{format_rows(row_numbers(bad))}; expected decimal degrees (e.g. 5.4474)"
        )
    given = (xs.notna() & ys.notna()).to_numpy()
    geoms = np.full(len(table), None, dtype=object)
    geoms[given] = shapely.points(xs.to_numpy()[given], ys.to_numpy()[given])
    return geoms


def _is_list(s: Sniff) -> bool:
    return (
        s.has("site_id", "site_statut", "nom_prodcartofriches")
        and not s.has("geompoint")
        and (s.has("geom") or s.has("lon", "lat"))
    )


register(
    ImportFormat(
        name="cartofriches-list",
        layer="land",
        description="Cerema Cartofriches brownfield points (Latin-1 list with c(lon, lat), or "
        "lon/lat extracts): friche potentielle / sans projet are available, 0 ha each",
        read=each_file(read_friches_list, "plot_id"),
        detect=all_files(_is_list),
        files="FILE...",
    )
)
