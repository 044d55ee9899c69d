"""CNIG standards: activity zones (SITE-ECO), business plots (TERRAIN-ECO), brownfields (Friches).

- **SITE-ECO** (standard CNIG Sites économiques v1.0.1, e.g. Cerema's Fusac): one row per
  activity zone, ``site_id``, ``site_nom``, commune and EPCI, type, dominant vocation and state,
  perimeter ``site_geomsurf`` as GeoJSON (or WKT) in a ``;``-separated CSV, or the ``site_eco``
  layer of the standard's GeoPackage (Lambert-93). Declassified sites (``site_etat`` =
  "déclassé") are no longer activity zones and are left out.
- **TERRAIN-ECO**: one row per plot. A plot is *available* when it is on sale
  (``terr_stade_comm`` "en vente" or "en vente avec contraintes") and not occupied
  (``terr_etat_occup`` other than "occupé"); sold, reserved, not marketed or unknown plots are
  not available.
- **Friches** (standard CNIG Friches v1.0.6, also Cartofriches' export in that standard):
  brownfields with ``site_statut``; a *friche potentielle* or *friche sans projet* is available
  land, a *friche avec projet* is committed to its project and a *friche reconvertie* is no
  longer a brownfield (neither is available, nor is a brownfield of unknown status). The
  perimeter ``geomsurf`` is used when it is readable, else the point ``geompoint``, with the
  declared surface ``unite_fonciere_surface`` (m²) as ``area_ha``.

Values outside the standards' enumerations are kept and reported; coordinates are screened
(swapped longitude/latitude repaired, overseas sites left out, see
:mod:`~geo_service.sources.screening`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_service.errors import InputError, format_rows
from geo_service.model import LayerKind
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
from geo_service.sources.tabular import (
    Columns,
    column_text,
    examples,
    find_columns,
    latest_date,
    numbers_or_fail,
    one_of,
    parse_dates,
    read_table,
    row_numbers,
)
from geo_service.sources.textgeom import geometries_from_text, guess_crs
from geo_service.sources.vector import VECTOR_SUFFIXES, layer_names, ogr_source

#: Brownfield statuses (CNIG Friches ``site_statut``) that count as available land.
AVAILABLE_FRICHE_STATUSES: Final = frozenset({"friche potentielle", "friche sans projet"})
#: Commercial stages (TERRAIN-ECO ``terr_stade_comm``) of a plot that can be bought.
ON_SALE_STAGES: Final = frozenset({"en vente", "en vente avec contraintes"})
#: Occupancy (TERRAIN-ECO ``terr_etat_occup``) that makes a plot on sale unavailable.
OCCUPIED: Final = frozenset({"occupé"})
#: SITE-ECO states of a site that is no longer an activity zone.
DECLASSIFIED: Final = frozenset({"déclassé"})

_SITE_ENUMS: Final[dict[str, tuple[str, ...]]] = {
    "site_type": (
        "zone d'activité économique",
        "site économique historique hors ZAE",
        "établissement économique isolé",
        "zone AU à vocation économique",
        "inconnu",
        "autre",
        "sans objet",
    ),
    "site_vocadomi": (
        "industrielle",
        "commerciale",
        "tertiaire",
        "artisanale",
        "touristique",
        "portuaire",
        "aéroportuaire, aéronautique",
        "entrepôts, logistique",
        "logistique agricole",
        "mixte",
        "inconnu",
        "autre",
        "sans objet",
    ),
    "site_etat": (
        "en projet",
        "création",
        "existant et actif",
        "projet de déclassement",
        "déclassé",
        "inconnu",
        "autre",
        "sans objet",
    ),
}
_TERRAIN_ENUMS: Final[dict[str, tuple[str, ...]]] = {
    "terr_stade_comm": (
        "non commercialisé",
        "non commercialisable",
        "en vente",
        "en vente avec contraintes",
        "vendu, commercialisation achevée",
        "réservé par option de réservation",
        "réservé par une délibération de l'EPCI",
        "inconnu",
        "autre",
        "sans objet",
    ),
    "terr_etat_occup": (
        "inoccupé",
        "occupation transitoire",
        "occupé",
        "vacant",
        "friche",
        "inconnu",
        "autre",
        "sans objet",
    ),
}
_FRICHE_ENUMS: Final[dict[str, tuple[str, ...]]] = {
    "site_statut": (
        "friche potentielle",
        "friche sans projet",
        "friche avec projet",
        "friche reconvertie",
        "inconnu",
        "autre",
        "sans objet",
    ),
}

_SITE_REQUIRED: Final[Columns] = {"site_id": ("site_id",)}
_SITE_OPTIONAL: Final[Columns] = {
    "site_nom": ("site_nom",),
    "site_comm_insee": ("site_comm_insee",),
    "site_comm_nom": ("site_comm_nom",),
    "site_epci_siren": ("site_epci_siren",),
    "site_type": ("site_type",),
    "site_vocadomi": ("site_vocadomi",),
    "site_etat": ("site_etat",),
    "site_actu_date": ("site_actu_date",),
}
_TERRAIN_REQUIRED: Final[Columns] = {
    "terr_id": ("terr_id",),
    "terr_stade_comm": ("terr_stade_comm",),
    "terr_etat_occup": ("terr_etat_occup",),
}
_TERRAIN_OPTIONAL: Final[Columns] = {
    "terr_surf_brute": ("terr_surf_brute",),
    "terr_actu_date": ("terr_actu_date",),
}
_FRICHE_REQUIRED: Final[Columns] = {
    "site_id": ("site_id",),
    "site_statut": ("site_statut",),
    "geompoint": ("geompoint",),
}
_FRICHE_OPTIONAL: Final[Columns] = {
    "geomsurf": ("geomsurf",),
    "unite_fonciere_surface": ("unite_fonciere_surface",),
    "site_actu_date": ("site_actu_date",),
}


def friche_available(statuses: pd.Series) -> pd.Series:
    """Whether brownfields of these ``site_statut`` values count as available land."""
    return one_of(statuses, AVAILABLE_FRICHE_STATUSES)


def friche_land(
    table: pd.DataFrame,
    cols: dict[str, str | None],
    area: pd.Series,
    geoms: np.ndarray,
    crs: str,
    screen: Screen,
) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """The land layer of a brownfield list (columns ``site_id`` and ``site_statut`` in ``cols``):
    source "friche", available by :func:`friche_available`, finished with
    :func:`~geo_service.sources.screening.finish_layer`."""
    status = column_text(table, cols["site_statut"])
    land = gpd.GeoDataFrame(
        {
            "plot_id": column_text(table, cols["site_id"]),
            "available": friche_available(status),
            "status": status,
            "source": "friche",
            "area_ha": area,
        },
        geometry=geoms,
        crs=crs,
    )
    return finish_layer(LayerKind.LAND, land, screen)


def read_site_eco(path: Path, options: ImportOptions) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Activity zones of a CNIG SITE-ECO CSV file or GeoPackage (layer ``site_eco``)."""
    frame, cols, screen = _read_cnig(
        path,
        options,
        ("site_eco", "site_geomsurf", "a CNIG SITE-ECO file"),
        _SITE_REQUIRED,
        _SITE_OPTIONAL,
    )
    _report_enumerations(frame, cols, _SITE_ENUMS, screen)
    state = column_text(frame, cols["site_etat"])
    ids = column_text(frame, cols["site_id"])
    declassified = one_of(state, DECLASSIFIED)
    screen.skip(
        "declassified site (site_etat 'déclassé'), no longer an activity zone",
        declassified,
        examples_of=ids,
    )
    names, made = zone_labels(
        column_text(frame, cols["site_nom"]), ids, column_text(frame, cols["site_comm_nom"])
    )
    if made:
        screen.warn(f"{made} site(s) without site_nom named after their id and commune")
    screen.data_date = latest_date(column_text(frame, cols["site_actu_date"]))
    zones = gpd.GeoDataFrame(
        {
            "zone_id": ids,
            "name": names,
            "commune_insee": column_text(frame, cols["site_comm_insee"]),
            "epci_siren": column_text(frame, cols["site_epci_siren"]),
            "kind": column_text(frame, cols["site_type"]),
            "vocation": column_text(frame, cols["site_vocadomi"]),
            "state": state,
        },
        geometry=frame.geometry.values,
        crs=frame.crs,
    )
    return finish_layer(LayerKind.ZONES, zones, screen)


def read_terrain_eco(path: Path, options: ImportOptions) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Business plots of a CNIG TERRAIN-ECO CSV file or GeoPackage (layer ``terrain_eco``)."""
    frame, cols, screen = _read_cnig(
        path,
        options,
        ("terrain_eco", "terr_geomsurf", "a CNIG TERRAIN-ECO file"),
        _TERRAIN_REQUIRED,
        _TERRAIN_OPTIONAL,
    )
    _report_enumerations(frame, cols, _TERRAIN_ENUMS, screen)
    stage = column_text(frame, cols["terr_stade_comm"])
    occupancy = column_text(frame, cols["terr_etat_occup"])
    on_sale = one_of(stage, ON_SALE_STAGES)
    occupied = one_of(occupancy, OCCUPIED)
    status = [
        ", ".join(part for part in (s, o) if isinstance(part, str)) or None
        for s, o in zip(stage, occupancy, strict=True)
    ]
    area = (
        numbers_or_fail(
            frame[cols["terr_surf_brute"]], str(path), "terr_surf_brute", "a surface in hectares"
        )
        if cols["terr_surf_brute"]
        else pd.Series(np.nan, index=frame.index)
    )
    screen.data_date = latest_date(column_text(frame, cols["terr_actu_date"]))
    land = gpd.GeoDataFrame(
        {
            "plot_id": column_text(frame, cols["terr_id"]),
            "available": (on_sale & ~occupied).astype(bool),
            "status": pd.Series(status, index=frame.index, dtype=object),
            "source": "terrain-eco",
            "area_ha": area,
        },
        geometry=frame.geometry.values,
        crs=frame.crs,
    )
    return finish_layer(LayerKind.LAND, land, screen)


def read_friches(path: Path, options: ImportOptions) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Brownfields in the CNIG Friches standard (CNIG files and Cartofriches' export)."""
    table = read_table(path)
    source = str(path)
    cols = find_columns(table, source, "a CNIG Friches file", _FRICHE_REQUIRED, _FRICHE_OPTIONAL)
    screen = Screen(source, len(table))
    _report_enumerations(table, cols, _FRICHE_ENUMS, screen)
    points = geometries_from_text(table[str(cols["geompoint"])])
    if points.bad.any():
        raise _not_geometries(source, "geompoint", table[str(cols["geompoint"])], points.bad)
    geoms = points.geoms.copy()
    if cols["geomsurf"]:
        outlines = geometries_from_text(table[cols["geomsurf"]])
        polygonal = np.array(
            [g is not None and g.geom_type in ("Polygon", "MultiPolygon") for g in outlines.geoms]
        )
        geoms[polygonal] = outlines.geoms[polygonal]
        screen.repair(outlines.closed & polygonal, "polygon rings closed")
        unreadable = outlines.bad | (~polygonal & pd.notna(outlines.geoms))
        if unreadable.any():
            screen.warn(
                f"geomsurf is not a readable polygon in {format_rows(row_numbers(unreadable))} "
                f"(e.g. {examples(table[cols['geomsurf']], unreadable, 1)}): "
                "their point geompoint is used"
            )
    area = _friche_area(table, cols, geoms, screen)
    screen.data_date = _dates(table, cols["site_actu_date"], screen)
    return friche_land(table, cols, area, geoms, options.crs or guess_crs(geoms), screen)


def _friche_area(
    table: pd.DataFrame, cols: dict[str, str | None], geoms: np.ndarray, screen: Screen
) -> pd.Series:
    column = cols["unite_fonciere_surface"]
    if column is None:
        declared = pd.Series(np.nan, index=table.index)
    else:
        declared = numbers_or_fail(table[column], str(screen.source), column, "a surface in m²")
    return point_area(declared, geoms, screen, column)


def _dates(table: pd.DataFrame, column: str | None, screen: Screen) -> date | None:
    if column is None:
        return None
    dates, bad = parse_dates(table[column])
    if bad.any():
        screen.warn(
            f"column '{column}': {format_rows(row_numbers(bad))} are not dates "
            f"(e.g. {examples(table[column], bad, 1)}); expected dd/mm/yyyy or yyyy-mm-dd"
        )
    known = [d for d in dates if d is not None]
    return max(known) if known else None


def _read_cnig(
    path: Path,
    options: ImportOptions,
    names: tuple[str, str, str],
    required: Columns,
    optional: Columns,
) -> tuple[gpd.GeoDataFrame, dict[str, str | None], Screen]:
    """The rows of a CNIG file; ``names`` are its GeoPackage layer, geometry column, label."""
    gpkg_layer, geom_column, what = names
    source = str(path)
    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        table = read_table(path)
        cols = find_columns(
            table, source, what, {**required, geom_column: (geom_column,)}, optional
        )
        screen = Screen(source, len(table))
        parsed = geometries_from_text(table[str(cols[geom_column])])
        if parsed.bad.any():
            raise _not_geometries(source, geom_column, table[str(cols[geom_column])], parsed.bad)
        screen.repair(parsed.closed, "polygon rings closed")
        crs = options.crs or (f"EPSG:{parsed.srid}" if parsed.srid else guess_crs(parsed.geoms))
        if options.crs is None and parsed.srid is None and crs == "EPSG:2154":
            screen.warn(
                "coordinates read as Lambert-93 (EPSG:2154), the CNIG standard's CRS; give "
                "--crs if they are in another one"
            )
        table = table.drop(columns=[str(cols[geom_column])])
        frame = gpd.GeoDataFrame(table, geometry=parsed.geoms, crs=crs)
        return frame, cols, screen
    layer = options.layer or (gpkg_layer if _has_layer(path, gpkg_layer) else None)
    frame, screen = open_vector(path, replace(options, layer=layer))
    return frame, find_columns(frame, source, what, required, optional), screen


def _has_layer(path: Path, layer: str) -> bool:
    try:
        return layer in layer_names(ogr_source(path))
    except InputError:  # refused before GDAL opens it (a view, a lying zip)
        raise
    except Exception:  # not a multi-layer source: read_vector reports what is wrong
        return False


def _report_enumerations(
    frame: pd.DataFrame,
    cols: dict[str, str | None],
    enums: dict[str, tuple[str, ...]],
    screen: Screen,
) -> None:
    for name, allowed in enums.items():
        column = cols.get(name)
        if column is None:
            continue
        values = column_text(frame, column)
        odd = values.notna() & ~one_of(values, frozenset(allowed))
        if odd.any():
            screen.warn(
                f"column '{column}': values outside the standard's list in "
                f"{format_rows(row_numbers(odd))} (e.g. {examples(values, odd)}); kept as given"
            )


def _not_geometries(source: str, column: str, values: pd.Series, bad: np.ndarray) -> InputError:
    return InputError(
        f"{source}: column '{column}': values that are not geometries in "
        f"{format_rows(row_numbers(bad))} (e.g. {examples(values, bad, 1)}); expected GeoJSON "
        'such as {"type": "Polygon", "coordinates": ...} or WKT such as POINT (5.4 43.3)'
    )


def _is_site_eco(s: Sniff) -> bool:
    return (
        "site_eco" in s.layers
        or s.has("site_id", "site_geomsurf")
        or (s.suffix in VECTOR_SUFFIXES and s.has("site_id", "site_nom", "site_etat"))
    )


def _is_terrain_eco(s: Sniff) -> bool:
    return (
        "terrain_eco" in s.layers
        or s.has("terr_id", "terr_geomsurf")
        or (s.suffix in VECTOR_SUFFIXES and s.has("terr_id", "terr_stade_comm"))
    )


def _is_friches(s: Sniff) -> bool:
    return s.has("site_id", "site_statut", "geompoint")


register(
    ImportFormat(
        name="cnig-site-eco",
        layer="zones",
        description="CNIG SITE-ECO activity zones (Fusac, ZAE inventories): CSV with the "
        "GeoJSON/WKT site_geomsurf, or the site_eco layer of the standard's GeoPackage",
        read=each_file(read_site_eco, "zone_id"),
        detect=all_files(_is_site_eco),
        files="FILE...",
    )
)
register(
    ImportFormat(
        name="cnig-terrain-eco",
        layer="land",
        description="CNIG TERRAIN-ECO business plots: available when on sale and not occupied "
        "(CSV with terr_geomsurf, or the terrain_eco layer of the standard's GeoPackage)",
        read=each_file(read_terrain_eco, "plot_id"),
        detect=all_files(_is_terrain_eco),
        files="FILE...",
    )
)
register(
    ImportFormat(
        name="cnig-friches",
        layer="land",
        description="Brownfields in the CNIG Friches standard (also Cartofriches' export): "
        "friche potentielle / sans projet are available; perimeter or point with its surface",
        read=each_file(read_friches, "plot_id"),
        detect=all_files(_is_friches),
        files="FILE...",
    )
)
