"""Zones and land from any vector file whose columns are not the canonical ones.

``--id-field`` and ``--name-field`` name the id and name columns; otherwise the usual French
spellings are looked for (``id``, ``identifiant``, ``nom``, ``libelle``...). A file without
ids (the Nantes activity-zone outlines have no property at all) gets ids made from its name
and the row number (``nantes_zae-0001``), reported; a zone without a name is labelled
"Zone d'activités <id>" (with its commune when a commune name is given).

For land, ``available`` comes from an ``available`` column, else from a brownfield status
(``site_statut``, see :data:`~geo_service.sources.cnig.AVAILABLE_FRICHE_STATUSES`), else every
plot counts as available (reported). ``area_ha`` comes from ``area_ha`` or from a surface in
m² (``unite_fonciere_surface``, ``surf_calc``, ``contenance``, ``surface_m2``); points without
one count for 0 ha.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_service.errors import InputError
from geo_service.model import LayerKind
from geo_service.sources.cnig import friche_available
from geo_service.sources.formats import ImportFormat, ImportOptions, Sniff, all_files, register
from geo_service.sources.labels import zone_labels
from geo_service.sources.screening import (
    ImportReport,
    Screen,
    each_file,
    finish_layer,
    open_vector,
    point_area,
)
from geo_service.sources.tabular import column_text, find_column, numbers_or_fail
from geo_service.sources.vector import VECTOR_SUFFIXES

_ZONE_IDS: Final = ("zone_id", "id", "identifiant", "id_zone", "code_zone", "site_id", "code")
_ZONE_NAMES: Final = ("name", "nom", "nom_zone", "libelle", "site_nom", "toponyme", "nom_zae")
_PLOT_IDS: Final = ("plot_id", "site_id", "terr_id", "idu", "id_parcelle", "id", "identifiant")
_COMMUNE_CODES: Final = (
    "commune_insee",
    "insee",
    "code_insee",
    "insee_com",
    "comm_insee",
    "site_comm_insee",
)
_COMMUNE_NAMES: Final = ("nom_com", "commune", "comm_nom", "site_comm_nom", "nom_commune")
_OPTIONAL_ZONE: Final[dict[str, tuple[str, ...]]] = {
    "epci_siren": ("epci_siren", "siren_epci", "site_epci_siren"),
    "kind": ("kind", "type", "site_type"),
    "vocation": ("vocation", "site_vocadomi"),
    "state": ("state", "etat", "site_etat"),
}
_AREA_M2: Final = ("unite_fonciere_surface", "surf_calc", "contenance", "surface_m2", "surf_m2")
_STATUSES: Final = ("status", "site_statut", "statut")


def read_any_zones(path: Path, options: ImportOptions) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Zones of any vector file, with ids and names mapped or made up."""
    frame, screen = open_vector(path, options)
    ids = _ids(frame, path, options.id_field, _ZONE_IDS, screen)
    name_column = _column(frame, path, options.name_field, "--name-field", _ZONE_NAMES)
    communes = column_text(frame, find_column(frame.columns, *_COMMUNE_NAMES))
    names, made = zone_labels(column_text(frame, name_column), ids, communes)
    if made:
        screen.warn(f'{made} zone(s) without a name labelled "Zone d\'activités <id>"')
    columns = {
        "zone_id": ids,
        "name": names,
        "commune_insee": column_text(frame, find_column(frame.columns, *_COMMUNE_CODES)),
    }
    for target, aliases in _OPTIONAL_ZONE.items():
        columns[target] = column_text(frame, find_column(frame.columns, *aliases))
    zones = gpd.GeoDataFrame(columns, geometry=frame.geometry.values, crs=frame.crs)
    return finish_layer(LayerKind.ZONES, zones, screen)


def read_any_land(path: Path, options: ImportOptions) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Land plots of any vector file, with availability and surface found or assumed."""
    frame, screen = open_vector(path, options)
    ids = _ids(frame, path, options.id_field, _PLOT_IDS, screen)
    status_column = find_column(frame.columns, *_STATUSES)
    status = column_text(frame, status_column)
    available_column = find_column(frame.columns, "available", "disponible")
    if available_column is not None:
        available: pd.Series = frame[available_column]
    elif status_column is not None:
        available = friche_available(status)
        screen.warn(
            f"availability read from the brownfield status '{status_column}' (friche "
            "potentielle and friche sans projet are available)"
        )
    else:
        available = pd.Series(True, index=frame.index)
        screen.warn(
            "no 'available' nor status column: every plot is counted as available; add an "
            "'available' column (true/false) to say otherwise"
        )
    land = gpd.GeoDataFrame(
        {
            "plot_id": ids,
            "available": available,
            "status": status,
            "source": column_text(frame, find_column(frame.columns, "source")).fillna(path.stem),
            "area_ha": _area(frame, screen),
        },
        geometry=frame.geometry.values,
        crs=frame.crs,
    )
    return finish_layer(LayerKind.LAND, land, screen)


def _column(
    frame: pd.DataFrame, path: Path, given: str | None, flag: str, aliases: Sequence[str]
) -> str | None:
    if given is None:
        return find_column(frame.columns, *aliases)
    if given not in frame.columns:
        found = ", ".join(repr(str(c)) for c in frame.columns if c != frame.geometry.name)
        raise InputError(f"{path}: {flag} '{given}' is not a column; found: {found or 'none'}")
    return given


def _ids(
    frame: gpd.GeoDataFrame,
    path: Path,
    given: str | None,
    aliases: Sequence[str],
    screen: Screen,
) -> pd.Series:
    column = _column(frame, path, given, "--id-field", aliases)
    if column is not None:
        return column_text(frame, column)
    screen.warn(
        f"no id column (tried {', '.join(aliases)}; name one with --id-field): ids made from "
        f"the file name and row number ({path.stem}-0001...), they change if rows are reordered"
    )
    width = max(4, len(str(len(frame))))
    return pd.Series([f"{path.stem}-{i:0{width}d}" for i in range(1, len(frame) + 1)], dtype=object)


def _area(frame: gpd.GeoDataFrame, screen: Screen) -> pd.Series:
    hectares = find_column(frame.columns, "area_ha")
    if hectares is not None:
        return numbers_or_fail(frame[hectares], screen.source, hectares, "hectares")
    square_metres = find_column(frame.columns, *_AREA_M2)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    if square_metres is None:
        return point_area(pd.Series(np.nan, index=frame.index), geoms, screen, None)
    declared = numbers_or_fail(frame[square_metres], screen.source, square_metres, "m²")
    return point_area(declared, geoms, screen, square_metres)


def _vector_without(*canonical: str) -> Callable[[Sequence[Sniff]], bool]:
    return all_files(lambda s: s.suffix in VECTOR_SUFFIXES and not s.has(*canonical))


register(
    ImportFormat(
        name="vector-zones",
        layer="zones",
        description="Any vector file of zones with other columns: --id-field/--name-field "
        "(or id/nom...), ids and labels made up when absent",
        read=each_file(read_any_zones, "zone_id"),
        detect=_vector_without("zone_id", "name"),
        files="FILE...",
        generic=True,
    )
)
register(
    ImportFormat(
        name="vector-land",
        layer="land",
        description="Any vector file of plots with other columns: --id-field (or site_id, idu, "
        "id...), availability from available or a brownfield status, surface in m²",
        read=each_file(read_any_land, "plot_id"),
        detect=_vector_without("plot_id", "available"),
        files="FILE...",
        generic=True,
    )
)
