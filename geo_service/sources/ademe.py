"""ADEME polluted sites (sites à responsable défaillant) as brownfield land.

The ADEME publishes the polluted sites it made safe for lack of a solvent owner, as GeoJSON
points (WGS84) with ``Nom_site``, ``Code_INSEE`` (leading zero lost), ``Surface_site_m2`` (text:
"19700", "non renseigné", "non connue"), ``Usage_actuel_site`` and an ``id``. Some features
have ``geometry: null`` (left out and counted), some lie overseas (left out and counted).

These are orphaned industrial sites: one counts as available land unless its current use
(``Usage_actuel_site``) says it is occupied; "friche", "abandon" and an unknown use count as
available. ``plot_id`` is ``ademe-<id>``, ``source`` "ademe", ``area_ha`` the declared surface
(0 ha when unknown).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_service.model import LayerKind
from geo_service.sources.formats import ImportFormat, ImportOptions, Sniff, all_files, register
from geo_service.sources.screening import (
    ImportReport,
    each_file,
    finish_layer,
    open_vector,
    point_area,
)
from geo_service.sources.tabular import (
    Columns,
    column_text,
    examples,
    find_columns,
    normalise_name,
    parse_numbers,
    row_numbers,
)
from geo_service.sources.vector import VECTOR_SUFFIXES

#: Words of ``Usage_actuel_site`` that say the site lies unused.
UNUSED_WORDS: Final = ("friche", "abandon")

_REQUIRED: Final[Columns] = {
    "surface": ("Surface_site_m2",),
    "usage": ("Usage_actuel_site",),
}
_OPTIONAL: Final[Columns] = {"id": ("id", "_id"), "name": ("Nom_site",)}


def read_ademe_sites(path: Path, options: ImportOptions) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Polluted sites of the ADEME GeoJSON as land points with their declared surface."""
    frame, screen = open_vector(path, options)
    cols = find_columns(frame, screen.source, "an ADEME polluted-sites file", _REQUIRED, _OPTIONAL)
    surface, bad = parse_numbers(frame[str(cols["surface"])])
    if bad.any():
        screen.warn(
            f"column '{cols['surface']}': {len(row_numbers(bad))} surface(s) that are not "
            f"numbers (e.g. {examples(frame[str(cols['surface'])], bad, 2)}) read as unknown"
        )
    usage = column_text(frame, cols["usage"])
    ids = column_text(frame, cols["id"])
    if ids.isna().any():
        ids = ids.where(ids.notna(), pd.Series(np.arange(1, len(frame) + 1), dtype=str))
    geoms = np.asarray(frame.geometry.values, dtype=object)
    land = gpd.GeoDataFrame(
        {
            "plot_id": "ademe-" + ids.astype(str),
            "available": usage.map(_unused).astype(bool),
            "status": usage.map(lambda u: u if u else "usage actuel non renseigné"),
            "source": "ademe",
            "area_ha": point_area(surface.where(~bad), geoms, screen, str(cols["surface"])),
        },
        geometry=geoms,
        crs=frame.crs,
    )
    return finish_layer(LayerKind.LAND, land, screen)


def _unused(usage: object) -> bool:
    if not isinstance(usage, str):
        return True
    text = normalise_name(usage)
    return any(word in text for word in UNUSED_WORDS)


def _is_sites(s: Sniff) -> bool:
    return s.suffix in VECTOR_SUFFIXES and s.has("surface_site_m2", "usage_actuel_site")


register(
    ImportFormat(
        name="ademe-sites-pollues",
        layer="land",
        description="ADEME polluted sites (GeoJSON points): unused or unknown current use counts "
        "as available, with Surface_site_m2 as area; overseas and geometry-less sites left out",
        read=each_file(read_ademe_sites, "plot_id"),
        detect=all_files(_is_sites),
        files="FILE...",
    )
)
