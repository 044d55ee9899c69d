"""IGN files: BD TOPO activity areas (zones) and commune boundaries (Admin Express, geo API).

**BD TOPO** ``ZONE_D_ACTIVITE_OU_D_INTERET`` mixes economic areas with churches, town halls,
campsites... Only the economic category is kept (``CATEGORIE`` "Industriel et commercial",
spelt "Industriel ou commercial" in older editions); the other categories are left out and
counted per category, as are fictive objects (``FICTIF`` "Oui"). The zone is named after its
``TOPONYME``, or its ``NATURE`` and commune ("Zone industrielle (Putanges-le-Lac)"). Upper-case
Shapefile fields (``ID``, ``INSEE_COM``) and the GeoPackage's lower-case ones (``cleabs``,
``etat_de_l_objet``) are both read.

**Communes**: IGN Admin Express (``INSEE_COM``, ``NOM``, ``SIREN_EPCI``, ``POPULATION``), the
geo API / france-geojson files (``code``, ``nom``; ``codeEpci``, ``population`` when asked),
or any commune file with ``insee``/``nom`` (newlines in column names are ignored, so
``"Population \\nmunicipale \\n2019"`` is a population). A single GeoJSON Feature is read
as a one-commune layer. Codes are 5-character text; a 2- or 3-character code is a
département, refused. Municipal arrondissements (Marseille 13201–13216) are kept as they are:
commune-level data is joined to them through :func:`geo_service.insee.fold_arrondissements`.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Final

import geopandas as gpd
import pandas as pd

from geo_service.communes import locate_in_communes
from geo_service.errors import InputError, format_rows
from geo_service.insee import is_arrondissement, normalise_insee
from geo_service.model import LayerKind
from geo_service.sources.formats import ImportFormat, ImportOptions, Sniff, all_files, register
from geo_service.sources.labels import commune_title, zone_labels
from geo_service.sources.screening import (
    ImportReport,
    Screen,
    each_file,
    finish_layer,
    open_vector,
)
from geo_service.sources.tabular import (
    Columns,
    column_text,
    find_column,
    find_columns,
    normalise_name,
    one_of,
    row_numbers,
)
from geo_service.sources.vector import VECTOR_SUFFIXES

#: BD TOPO categories of economic activity areas.
ECONOMIC_CATEGORIES: Final = frozenset({"Industriel et commercial", "Industriel ou commercial"})
_YES: Final = frozenset({"oui", "true", "1"})

_BDTOPO_REQUIRED: Final[Columns] = {
    "id": ("ID", "cleabs"),
    "categorie": ("CATEGORIE",),
    "nature": ("NATURE",),
}
_BDTOPO_OPTIONAL: Final[Columns] = {
    "toponyme": ("TOPONYME",),
    "nat_detail": ("NAT_DETAIL", "nature_detaillee"),
    "etat": ("ETAT", "etat_de_l_objet"),
    "fictif": ("FICTIF",),
    "insee": ("INSEE_COM", "code_insee", "insee_commune"),
    "commune": ("NOM_COM", "nom_commune"),
}
_COMMUNE_REQUIRED: Final[Columns] = {
    "code": ("commune_insee", "INSEE_COM", "code_insee", "insee", "code", "codgeo", "depco"),
    "name": ("name", "NOM", "nom_com", "nom_commune", "libelle", "NOM_M"),
}
_COMMUNE_OPTIONAL: Final[Columns] = {
    "epci_siren": ("epci_siren", "SIREN_EPCI", "siren_epci", "codeEpci", "code_epci", "epci"),
    "epci_name": ("epci_name", "nom_epci", "epci_nom", "nomEpci", "libepci"),
    "population": ("population", "POPULATION", "pmun", "pop", "population municipale"),
}


def read_bdtopo_zones(path: Path, options: ImportOptions) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Economic activity areas of a BD TOPO ``ZONE_D_ACTIVITE_OU_D_INTERET`` file."""
    frame, screen = open_vector(path, options)
    what = "a BD TOPO ZONE_D_ACTIVITE_OU_D_INTERET file"
    cols = find_columns(frame, screen.source, what, _BDTOPO_REQUIRED, _BDTOPO_OPTIONAL)
    category = column_text(frame, cols["categorie"])
    other = ~one_of(category, ECONOMIC_CATEGORIES)
    if other.any():
        counts = Counter(str(c) for c in category[other])
        left = ", ".join(f"{name} {count}" for name, count in counts.most_common())
        screen.skip("not an economic category (CATEGORIE)", other, left)
    ids = column_text(frame, cols["id"])
    fictive = one_of(column_text(frame, cols["fictif"]), _YES)
    screen.skip("fictive object (FICTIF 'Oui')", fictive, examples_of=ids)
    nature = column_text(frame, cols["nature"])
    insee = column_text(frame, cols["insee"])
    commune = column_text(frame, cols["commune"])
    if cols["insee"] is None:
        insee, commune = _communes_of_zones(frame, commune, options, screen)
    names, _ = zone_labels(column_text(frame, cols["toponyme"]), ids, commune, nature)
    zones = gpd.GeoDataFrame(
        {
            "zone_id": ids,
            "name": names,
            "commune_insee": insee,
            "kind": nature,
            "vocation": column_text(frame, cols["nat_detail"]),
            "state": column_text(frame, cols["etat"]),
        },
        geometry=frame.geometry.values,
        crs=frame.crs,
    )
    return finish_layer(LayerKind.ZONES, zones, screen)


def _communes_of_zones(
    frame: gpd.GeoDataFrame, names: pd.Series, options: ImportOptions, screen: Screen
) -> tuple[pd.Series, pd.Series]:
    """Code and name of each zone's commune when the file has no INSEE_COM: the stored
    commune polygon holding the zone (:func:`~geo_service.communes.locate_in_communes`);
    the file's commune names are kept where it has them."""
    missing = "no INSEE_COM column (this BD TOPO edition gives no commune)"
    communes = options.stored_communes() if options.stored_communes else None
    kept = ~screen.skip_mask()
    if communes is None or len(communes) == 0 or frame.crs is None:
        screen.warn(
            f"{missing} and the store has no communes: the zones are stored without their "
            "commune (found from the commune polygons at analysis) and those without TOPONYME "
            'are labelled "Zone d\'activités <id>"; import the communes first (geo-service '
            'import communes ...) to name them "<NATURE> (<commune>)"'
        )
        return pd.Series([None] * len(frame), index=frame.index, dtype=object), names
    located = locate_in_communes(frame, communes, ["commune_insee", "name"])
    found = located["commune_insee"].notna().to_numpy() & kept
    screen.warn(
        f"{missing}: each zone's commune is the stored commune polygon that holds it "
        f"({int(found.sum())} of {int(kept.sum())} zones found; those without TOPONYME named "
        '"<NATURE> (<commune>)")'
    )
    insee = located["commune_insee"].astype(object).where(located["commune_insee"].notna(), None)
    return insee, names.where(names.notna(), located["name"])


def read_communes(path: Path, options: ImportOptions) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Commune polygons of an Admin Express, geo API or other commune file."""
    frame, screen = open_vector(path, options)
    required = dict(_COMMUNE_REQUIRED)
    if options.id_field:
        required["code"] = (options.id_field,)
    if options.name_field:
        required["name"] = (options.name_field,)
    cols = find_columns(frame, screen.source, "a communes file", required, _COMMUNE_OPTIONAL)
    if cols["population"] is None:
        cols["population"] = _population_column(frame)
    codes = normalise_insee(frame[str(cols["code"])])
    _refuse_departement_codes(codes, screen.source, str(cols["code"]))
    raw = column_text(frame, cols["code"])
    padded = [isinstance(r, str) and len(r) == 4 and r.isdigit() for r in raw]
    if any(padded):
        screen.warn(f"{sum(padded)} INSEE code(s) regained their leading zero")
    arrondissements = is_arrondissement(codes)
    if arrondissements.any():
        screen.warn(
            f"{int(arrondissements.sum())} municipal arrondissement(s) kept as separate "
            "communes (e.g. Marseille 13201-13216); commune-level data (ARCEP statistics) is "
            "joined to them through their commune (13055)"
        )
    names = column_text(frame, cols["name"]).map(
        lambda n: commune_title(n) if isinstance(n, str) else n
    )
    communes = gpd.GeoDataFrame(
        {
            "commune_insee": codes,
            "name": names,
            "epci_siren": column_text(frame, cols["epci_siren"]),
            "epci_name": column_text(frame, cols["epci_name"]),
            "population": frame[cols["population"]] if cols["population"] else None,
        },
        geometry=frame.geometry.values,
        crs=frame.crs,
    )
    return finish_layer(LayerKind.COMMUNES, communes, screen)


def _population_column(frame: pd.DataFrame) -> str | None:
    """A column whose name speaks of the municipal population (``densite_Population municipale
    2019``)."""
    for column in frame.columns:
        name = normalise_name(column)
        if "population" in name and "municipale" in name and "part" not in name:
            return str(column)
    return None


def _refuse_departement_codes(codes: pd.Series, source: str, column: str) -> None:
    short = codes.map(lambda c: isinstance(c, str) and len(c) <= 3).astype(bool)
    if short.any():
        rows = row_numbers(short)
        example = codes[short].iloc[0]
        raise InputError(
            f"{source}: column '{column}': codes of 2 or 3 characters in {format_rows(rows)} "
            f"(e.g. '{example}'), which are département codes; expected commune INSEE codes of "
            "5 characters such as 13055 (is this a département file?)"
        )


def _is_bdtopo(s: Sniff) -> bool:
    return (
        s.suffix in VECTOR_SUFFIXES
        and s.has("categorie", "nature")
        and (s.has("id") or s.has("cleabs"))
    )


#: Columns only the BD TOPO activity areas have beside CATEGORIE and NATURE.
_BDTOPO_SIGNATURE: Final = ("toponyme", "fictif", "nat_detail", "nature_detaillee", "importance")
#: Columns of the Admin Express and geo API commune files beyond a code and a name.
_COMMUNE_SIGNATURE: Final = (
    "siren_epci",
    "insee_dep",
    "insee_reg",
    "insee_can",
    "insee_arr",
    "statut",
    "codeepci",
    "codedepartement",
    "coderegion",
    "codespostaux",
)


def _claims_bdtopo(s: Sniff) -> bool:
    """A BD TOPO activity-areas table: its table name, or its columns beyond CATEGORIE/NATURE."""
    named = any("zone_d_activite" in name.lower() for name in s.layers)
    return named or (_is_bdtopo(s) and any(s.has(c) for c in _BDTOPO_SIGNATURE))


def _claims_communes(s: Sniff) -> bool:
    """A commune boundaries file: a code and a name, and Admin Express's or the geo API's own
    columns or a layer or file named after communes (an API Carto parcel has a code and a
    commune name too)."""
    if not _is_communes(s):
        return False
    names = [s.path.stem, *s.layers]
    named = any(
        word in ("commune", "communes") for n in names for word in re.split(r"[^a-z]+", n.lower())
    )
    return named or any(s.has(c) for c in _COMMUNE_SIGNATURE)


def _is_communes(s: Sniff) -> bool:
    if s.suffix not in VECTOR_SUFFIXES or s.suffix in (".csv", ".txt", ".tsv"):
        return False
    columns = [normalise_name(c) for c in s.columns]
    code = find_column(columns, *_COMMUNE_REQUIRED["code"])
    name = find_column(columns, *_COMMUNE_REQUIRED["name"])
    return code is not None and name is not None and not s.has("commune_insee", "name")


register(
    ImportFormat(
        name="ign-bdtopo-zones",
        layer="zones",
        description="IGN BD TOPO ZONE_D_ACTIVITE_OU_D_INTERET: the economic category only "
        "(Industriel et commercial), named after TOPONYME or NATURE and commune",
        read=each_file(read_bdtopo_zones, "zone_id"),
        detect=all_files(_is_bdtopo),
        claims=all_files(_claims_bdtopo),
        files="FILE...",
    )
)
register(
    ImportFormat(
        name="ign-communes",
        layer="communes",
        description="Commune polygons: IGN Admin Express (INSEE_COM, NOM, SIREN_EPCI, "
        "POPULATION), geo API / france-geojson (code, nom), or insee/nom files",
        read=each_file(read_communes, "commune_insee"),
        detect=all_files(_is_communes),
        claims=all_files(_claims_communes),
        files="FILE...",
    )
)
