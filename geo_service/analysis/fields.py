"""The registry of result fields: every column of the zone, commune and EPCI results, once.

Each :class:`ResultField` says what a column is (name, type, unit), how the commune and EPCI
results get it from the zone results (:class:`Aggregation`), what it means in English (API
descriptions) and in French (the short label of maps and opinions, the longer description of
the layer descriptor), and how its value is written (:class:`Format`). The result schemas
(:data:`ZONE_RESULT_COLUMNS`...), the commune and EPCI sums and the layer descriptors'
column lists are derived from it; a test fails when the analysis computes a column that is
not declared here, or when a declared column is missing from the results.

Fields brought by an optional layer (``source``: ``commune_coverage``, ``mobile_coverage``,
``mobile_sites``) are present only when that layer was analysed. A field with ``family``
set names a family of columns sharing its prefix (one per mobile operator).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Literal

from geo_service.analysis.status import StatusBasis
from geo_service.formatting import (
    GBPS,
    GE,
    MBPS,
    fr_hectares,
    fr_kilometres,
    fr_minutes,
    fr_number,
    fr_percent,
    fr_points,
)
from geo_service.model import ACCESS_WORDS, STATUS_WORDS, AccessClass, LayerKind, ZoneStatus

PRIORITY_DECIMALS: Final = 1
"""Decimals of a priority: the analysis rounds to them, every surface prints them, and levels,
ranks and status words are decided on that rounded figure (never on more digits than are shown)."""

UNMEASURED: Final = "non mesuré"
"""How a figure the sources do not give reads where a reader could otherwise take it for 0."""

DType = Literal["string", "integer", "number", "boolean", "array"]


class Aggregation(StrEnum):
    """How a commune or EPCI result field is computed from the zone results."""

    #: Not computed from the zones (an identity or a figure of another layer).
    NONE = "none"
    #: Count of the zones (``of`` empty) or of the zones whose status is ``of``.
    COUNT = "count"
    #: Sum of the zone field ``of``.
    SUM = "sum"
    #: Mean of the zone share ``of`` weighted by the zones' locaux (zones where it is known).
    LOCAUX_SHARE = "locaux_share"
    #: Largest value of the zone field ``of``.
    MAX = "max"


class Format(StrEnum):
    """How a value is written for people (maps, opinions)."""

    TEXT = "text"
    COUNT = "count"
    NUMBER = "number"
    HECTARES = "hectares"
    SHARE = "share"
    PRIORITY = "priority"
    LIST = "list"
    KILOMETRES = "kilometres"
    #: A change of a share (in [-1, 1]), written in percentage points: ``+12 points``.
    POINTS = "points"
    #: A travel time, in whole minutes: ``19 min``.
    MINUTES = "minutes"


@dataclass(frozen=True)
class ResultField:
    """One column of a result layer."""

    name: str
    dtype: DType
    #: English description (API properties, OpenAPI, queryables).
    description: str
    #: Short French label (map popups and panels, opinions' key figures).
    label: str
    #: French description of the column (layer descriptor).
    description_fr: str
    format: Format = Format.TEXT
    unit: str | None = None
    aggregation: Aggregation = Aggregation.NONE
    #: The zone field (or status) aggregated, for commune and EPCI fields.
    of: str | None = None
    #: Optional layer that brings the field; None: always present.
    source: str | None = None
    #: Whether ``name`` is the prefix of a family of columns (``name`` + suffix).
    family: bool = False
    queryable: bool = False
    sortable: bool = True
    enum: tuple[str, ...] | None = None
    #: Whether the field is one of the zone's key figures beyond the built-in ones: shown by
    #: its label and format in the map popups and panel and in the zone opinions.
    figure: bool = False
    #: French words of the values of a coded text field (``enum``), as people read them.
    value_labels: tuple[tuple[str, str], ...] | None = None
    #: For :attr:`Aggregation.COUNT` with ``of`` set: the zone column whose value ``of`` is
    #: counted.
    count_column: str = "status"

    def matches(self, column: str) -> bool:
        """Whether ``column`` is this field (or a member of its family)."""
        return column.startswith(self.name) if self.family else column == self.name


_STATUSES: Final = tuple(s.value for s in ZoneStatus)
_ACCESS_CLASSES: Final = tuple(a.value for a in AccessClass)
_BASES: Final = tuple(b.value for b in StatusBasis)
_SHARE: Final = "share"


def _text(name: str, description: str, label: str, description_fr: str) -> ResultField:
    return ResultField(name, "string", description, label, description_fr, queryable=True)


def _share(
    name: str,
    description: str,
    label: str,
    description_fr: str,
    *,
    source: str | None = None,
    family: bool = False,
    aggregation: Aggregation = Aggregation.NONE,
    of: str | None = None,
) -> ResultField:
    return ResultField(
        name,
        "number",
        description,
        label,
        description_fr,
        Format.SHARE,
        _SHARE,
        aggregation,
        of,
        source,
        family,
    )


_COVERAGE_SHARES: Final = (
    (
        "share_bhd8",
        "Share of locaux with at least 8 Mbit/s (BHD8), 0-1.",
        f"Locaux à {GE}8{MBPS}",
        "Part des locaux avec au moins 8 Mbit/s (bon haut débit)",
    ),
    (
        "share_thd30",
        "Share of locaux with at least 30 Mbit/s (THD30), 0-1.",
        f"Locaux à {GE}30{MBPS}",
        "Part des locaux avec au moins 30 Mbit/s (très haut débit)",
    ),
    (
        "share_thd100",
        "Share of locaux with at least 100 Mbit/s, 0-1.",
        f"Locaux à {GE}100{MBPS}",
        "Part des locaux avec au moins 100 Mbit/s",
    ),
    (
        "share_thd1g",
        "Share of locaux with at least 1 Gbit/s, 0-1.",
        f"Locaux à {GE}1{GBPS}",
        "Part des locaux avec au moins 1 Gbit/s",
    ),
    (
        "share_ftth",
        "Share of locaux where fibre to the premises is available, 0-1.",
        "Locaux raccordables à la fibre (FttH)",
        "Part des locaux raccordables à la fibre (FttH)",
    ),
)

_STRAIGHT: Final = "à vol d'oiseau"


def _nearest(name: str, what: str, what_fr: str, label: str, layer: str) -> list[ResultField]:
    """The distance and name fields of the nearest ``what`` (from layer ``layer``)."""
    absent = f"vide si la couche {layer} n'est pas chargée"
    return [
        ResultField(
            f"{name}_km",
            "number",
            f"Straight-line distance (Lambert-93) from the zone's perimeter to the nearest "
            f"{what}, km (0 inside the zone; null without the {layer} layer).",
            f"{label} ({_STRAIGHT})",
            f"Distance à vol d'oiseau (Lambert-93) du périmètre de la zone {what_fr} le plus "
            f"proche, en km ({absent})",
            Format.KILOMETRES,
            "km",
            figure=True,
        ),
        ResultField(
            f"{name}_name",
            "string",
            f"Name of the nearest {what}.",
            label,
            f"Nom {what_fr} le plus proche",
        ),
        ResultField(
            f"{name}_road_km",
            "number",
            f"Shortest road distance from the zone to the nearest {what} by road, km (null "
            "without the road_network layer, or off the graph).",
            f"{label} (par la route)",
            f"Distance par la route {what_fr} le plus proche par la route, en km (vide sans la "
            "couche road_network ou hors du réseau chargé)",
            Format.KILOMETRES,
            "km",
            figure=True,
        ),
        ResultField(
            f"{name}_drive_min",
            "number",
            f"Fastest drive time from the zone to the nearest {what}, minutes (speed limits, "
            "else by road category; null without the road_network layer).",
            f"{label} : temps de trajet",
            f"Temps de trajet le plus court en voiture {what_fr} le plus proche, en minutes "
            "(vitesses maximales, sinon selon la catégorie de voie ; vide sans réseau routier)",
            Format.MINUTES,
            "min",
            figure=True,
        ),
    ]


#: The transport access of each zone (:mod:`geo_service.analysis.transport`); always present,
#: unknown (null) when the layer measuring it is not loaded.
_TRANSPORT_FIELDS: Final[tuple[ResultField, ...]] = (
    *_nearest(
        "road_access",
        "motorway interchange",
        "à l'échangeur autoroutier",
        "Échangeur autoroutier le plus proche",
        "road_access",
    ),
    *_nearest(
        "rail_station",
        "passenger rail station",
        "à la gare voyageurs",
        "Gare voyageurs la plus proche",
        "rail_stations",
    ),
    *_nearest("airport", "airport", "à l'aéroport", "Aéroport le plus proche", "hubs"),
    ResultField(
        "transit_stops",
        "integer",
        "Public-transport stops within walking distance of the zone's perimeter "
        "(transit_walk_m, default 500 m); null without the transit_stops layer.",
        "Arrêts de transport en commun à distance de marche",
        "Nombre d'arrêts de transport en commun à distance de marche du périmètre de la zone "
        "(500 m par défaut ; vide si la couche transit_stops n'est pas chargée)",
        Format.COUNT,
        figure=True,
    ),
    ResultField(
        "transit_modes",
        "string",
        "Modes of those stops, comma-separated (bus, coach, tram, metro, train...).",
        "Modes de transport en commun",
        "Modes desservant ces arrêts, séparés par des virgules (bus, coach, tram, metro, train...)",
    ),
    ResultField(
        "transit_peak_departures",
        "integer",
        "Morning-peak (07:00-09:00) departures at those stops whose departures are known (a "
        "lower bound when transit_stops_unknown > 0); null when none is known.",
        "Départs connus en pointe du matin (7 h – 9 h)",
        "Départs entre 7 h et 9 h aux arrêts à distance de marche dont les horaires sont "
        "connus (vide : inconnu)",
        Format.COUNT,
        figure=True,
    ),
    ResultField(
        "transit_stops_unknown",
        "integer",
        "Stops within walking distance whose morning-peak departures are unknown (feed without "
        "service days).",
        "Arrêts sans horaires connus",
        "Nombre d'arrêts à distance de marche dont les départs sont inconnus (réseau sans "
        "calendrier de service)",
        Format.COUNT,
    ),
    ResultField(
        "access_class",
        "string",
        "Transport access class of the zone: good, fair, poor or unknown.",
        "Desserte",
        "good (bien desservie), fair (partiellement), poor (mal desservie) ou unknown",
        queryable=True,
        enum=_ACCESS_CLASSES,
        value_labels=tuple(
            (str(a), "desserte inconnue" if a == AccessClass.UNKNOWN else words[0])
            for a, words in ACCESS_WORDS.items()
        ),
    ),
    ResultField(
        "access_reasons",
        "array",
        "Sentences (French) explaining the transport access class.",
        "Explications (accès et transports)",
        "Explications en français de la desserte de la zone par les transports",
        Format.LIST,
        sortable=False,
    ),
)

#: The fields of the zone results, in column order (the geometry comes last).
#: The optional "layer" bringing the fields of the history analysis (``analyze --history``).
HISTORY: Final = "history"


def _changes(where: str) -> tuple[ResultField, ...]:
    """The change of the ≥ 30 Mbit/s share since the previous vintage and since the reference
    vintage (``--since``), of a zone, a commune or an EPCI (``where``)."""
    return (
        ResultField(
            "share_thd30_change",
            "number",
            f"Change of the {where}'s share of locaux at >= 30 Mbit/s since the previous "
            "vintage of the coverage data, in share units (0.1 = 10 points); null when either "
            "is unknown or there is one vintage.",
            f"Évolution {GE}30{MBPS} depuis le millésime précédent",
            f"Évolution de la part des locaux à {GE}30{MBPS} depuis le millésime précédent des "
            "données de couverture (points)",
            Format.POINTS,
            source=HISTORY,
            figure=True,
        ),
        ResultField(
            "share_thd30_since",
            "number",
            f"Change of the {where}'s share of locaux at >= 30 Mbit/s since the reference "
            "vintage (analyze --since; the oldest vintage by default), in share units.",
            f"Évolution {GE}30{MBPS} depuis le millésime de référence",
            f"Évolution de la part des locaux à {GE}30{MBPS} depuis le millésime de référence "
            "(points)",
            Format.POINTS,
            source=HISTORY,
            figure=True,
        ),
    )


_ZONE_HISTORY_FIELDS: Final[tuple[ResultField, ...]] = (
    *_changes("zone"),
    ResultField(
        "status_previous",
        "string",
        "Status of the zone at the previous vintage of the coverage data.",
        "Statut au millésime précédent",
        "Statut de la zone au millésime précédent des données de couverture",
        source=HISTORY,
        queryable=True,
        enum=_STATUSES,
        value_labels=tuple((str(s), words[0]) for s, words in STATUS_WORDS.items()),
    ),
    ResultField(
        "persistent",
        "boolean",
        "Whether the zone was flagged (underserved or unserved) in every vintage from the "
        "reference vintage to the current one; null with a single vintage.",
        "Signalée à chaque millésime",
        "Zone signalée (mal desservie ou non desservie) à chaque millésime depuis le millésime "
        "de référence",
        source=HISTORY,
        queryable=True,
    ),
)


ZONE_FIELDS: Final[tuple[ResultField, ...]] = (
    _text("zone_id", "Zone identifier.", "Identifiant", "Identifiant de la zone"),
    _text("name", "Name of the activity zone.", "Nom", "Nom de la zone d'activités"),
    _text(
        "commune_insee",
        "INSEE code of the zone's commune.",
        "Commune (code INSEE)",
        "Code INSEE de la commune de la zone",
    ),
    _text(
        "epci_siren",
        "SIREN of the zone's EPCI (intercommunality).",
        "EPCI (SIREN)",
        "SIREN de l'EPCI de la zone",
    ),
    _text(
        "kind",
        "Kind of zone (ZAE, ZAC, parc d'activités, ...).",
        "Type de zone",
        "Type de zone (ZAE, ZAC, parc d'activités...)",
    ),
    _text(
        "vocation",
        "Vocation of the zone (industrielle, commerciale, mixte, ...).",
        "Vocation",
        "Vocation de la zone (industrielle, commerciale, mixte...)",
    ),
    _text(
        "state",
        "State of the zone (existante, en projet, ...).",
        "État",
        "État de la zone (existante, en projet...)",
    ),
    ResultField(
        "area_ha",
        "number",
        "Area of the zone in hectares (Lambert-93).",
        "Surface de la zone",
        "Surface de la zone (ha, Lambert-93)",
        Format.HECTARES,
        "ha",
    ),
    ResultField(
        "premises",
        "integer",
        "Buildings in the zone.",
        "Bâtiments recensés",
        "Nombre d'immeubles dans la zone",
        Format.COUNT,
    ),
    ResultField(
        "locaux",
        "integer",
        "Locaux (premises units) in the zone.",
        "Locaux recensés",
        "Nombre de locaux dans la zone",
        Format.COUNT,
        "locaux",
    ),
    *(_share(*share) for share in _COVERAGE_SHARES),
    _share(
        "raster_share_bhd8",
        "Share of the known raster area at >= 8 Mbit/s, 0-1.",
        f"Surface renseignée à {GE}8{MBPS} (carte)",
        "Part de la surface renseignée à au moins 8 Mbit/s (carte de couverture)",
    ),
    _share(
        "raster_share_thd30",
        "Share of the known raster area at >= 30 Mbit/s, 0-1.",
        f"Surface renseignée à {GE}30{MBPS} (carte)",
        "Part de la surface renseignée à au moins 30 Mbit/s (carte de couverture)",
    ),
    _share(
        "raster_valid_share",
        "Share of the zone's area with known raster pixels, 0-1.",
        "Surface renseignée par la carte",
        "Part de la surface de la zone renseignée par la carte de couverture",
    ),
    ResultField(
        "available_land_ha",
        "number",
        "Available business land in the zone, hectares.",
        "Foncier disponible",
        "Foncier disponible dans la zone (ha)",
        Format.HECTARES,
        "ha",
    ),
    ResultField(
        "available_plots",
        "integer",
        "Available plots in the zone.",
        "Parcelles disponibles",
        "Nombre de parcelles disponibles",
        Format.COUNT,
        "parcelles",
    ),
    ResultField(
        "status",
        "string",
        "Broadband status of the zone.",
        "Statut",
        "served, underserved, unserved ou unknown",
        queryable=True,
        enum=_STATUSES,
    ),
    ResultField(
        "status_basis",
        "string",
        "What decided the status.",
        "Base du statut",
        "Ce qui décide du statut : premises (les locaux), raster (la carte de couverture), "
        "commune (les statistiques communales de l'Arcep) ou none",
        queryable=True,
        enum=_BASES,
    ),
    ResultField(
        "priority",
        "number",
        "Priority 0-100 (flagged zones; 0 when served, null when unknown).",
        "Priorité",
        "Priorité d'intervention de 0 à 100 (zones non desservies)",
        Format.PRIORITY,
        "/100",
    ),
    ResultField(
        "rank",
        "integer",
        "Rank among the flagged zones (1 = highest priority).",
        "Rang",
        "Rang de priorité parmi les zones signalées",
        Format.COUNT,
        queryable=True,
    ),
    ResultField(
        "reasons",
        "array",
        "Sentences (French) explaining the status and priority.",
        "Explications",
        "Explications en français",
        Format.LIST,
        sortable=False,
    ),
    _share(
        "commune_share_bhd8",
        "Share of the locaux of the zone's commune with at least 8 Mbit/s (ARCEP), 0-1.",
        f"Locaux de la commune à {GE}8{MBPS} (Arcep)",
        "Part des locaux de la commune de la zone à au moins 8 Mbit/s, selon l'Arcep "
        "(si les statistiques communales sont chargées)",
        source=LayerKind.COMMUNE_COVERAGE,
    ),
    _share(
        "commune_share_thd30",
        "Share of the locaux of the zone's commune with at least 30 Mbit/s (ARCEP), 0-1.",
        f"Locaux de la commune à {GE}30{MBPS} (Arcep)",
        "Part des locaux de la commune de la zone à au moins 30 Mbit/s, selon l'Arcep",
        source=LayerKind.COMMUNE_COVERAGE,
    ),
    _share(
        "commune_share_ftth",
        "Share of the locaux of the zone's commune connectable to fibre (ARCEP), 0-1.",
        "Locaux de la commune raccordables à la fibre (FttH, Arcep)",
        "Part des locaux de la commune de la zone raccordables à la fibre (FttH), selon l'Arcep",
        source=LayerKind.COMMUNE_COVERAGE,
    ),
    ResultField(
        "commune_period",
        "string",
        "Date or quarter of the ARCEP commune statistics.",
        "Période des statistiques communales",
        "Date ou trimestre des statistiques communales de l'Arcep",
        source=LayerKind.COMMUNE_COVERAGE,
    ),
    _share(
        "mobile_4g_good_share_",
        "Share of the zone's area with good or very good 4G coverage, per operator "
        "(mobile_4g_good_share_<operator>) and for the best operator (..._best), 0-1.",
        "Surface en bonne couverture 4G",
        "Part de la surface en bonne ou très bonne couverture 4G, par opérateur "
        "(mobile_4g_good_share_orange, sfr, free_mobile, bouygues_telecom) et du meilleur "
        "opérateur (mobile_4g_good_share_best), si les cartes de couverture mobile sont chargées",
        source=LayerKind.MOBILE_COVERAGE,
        family=True,
    ),
    ResultField(
        "mobile_4g_sites_1km",
        "integer",
        "4G sites within 1 km of the zone.",
        "Sites 4G à moins de 1 km",
        "Nombre de sites 4G à moins de 1 km de la zone (si les sites mobiles sont chargés)",
        Format.COUNT,
        source=LayerKind.MOBILE_SITES,
    ),
    ResultField(
        "mobile_4g_operators_1km",
        "integer",
        "Operators with a 4G site within 1 km of the zone.",
        "Opérateurs 4G à moins de 1 km",
        "Nombre d'opérateurs ayant un site 4G à moins de 1 km de la zone",
        Format.COUNT,
        source=LayerKind.MOBILE_SITES,
    ),
    *_TRANSPORT_FIELDS,
    *_ZONE_HISTORY_FIELDS,
)


def _aggregates(where: str) -> tuple[ResultField, ...]:
    """The fields computed from the zone results, for the communes or the EPCIs (``where``)."""
    fr = "de la commune" if where == "commune" else "de l'EPCI"
    counts = tuple(
        ResultField(
            f"zones_{status}",
            "integer",
            f"Activity zones whose status is {status}.",
            f"Zones {STATUS_WORDS[status][1]}",
            f"Nombre de zones d'activités {fr} au statut {status}",
            Format.COUNT,
            "zones",
            aggregation=Aggregation.COUNT,
            of=status,
        )
        for status in _STATUSES
    )
    shares = tuple(
        _share(
            name,
            description,
            label,
            f"{description_fr} (zones {fr}, pondérée par les locaux)",
            aggregation=Aggregation.LOCAUX_SHARE,
            of=name,
        )
        for name, description, label, description_fr in _COVERAGE_SHARES
    )
    return (
        ResultField(
            "zones",
            "integer",
            "Activity zones.",
            "Zones d'activités",
            "Nombre de zones d'activités",
            Format.COUNT,
            "zones",
            aggregation=Aggregation.COUNT,
        ),
        *counts,
        ResultField(
            "area_ha",
            "number",
            "Summed area of the zones, hectares.",
            "Surface des zones",
            f"Surface des zones {fr} (ha)",
            Format.HECTARES,
            "ha",
            Aggregation.SUM,
            "area_ha",
        ),
        ResultField(
            "premises",
            "integer",
            "Buildings in the zones.",
            "Bâtiments recensés",
            "Immeubles dans les zones",
            Format.COUNT,
            aggregation=Aggregation.SUM,
            of="premises",
        ),
        ResultField(
            "locaux",
            "integer",
            "Locaux in the zones.",
            "Locaux recensés",
            "Locaux dans les zones",
            Format.COUNT,
            "locaux",
            aggregation=Aggregation.SUM,
            of="locaux",
        ),
        *shares,
        ResultField(
            "available_land_ha",
            "number",
            "Available business land in the zones, hectares.",
            "Foncier disponible",
            "Foncier disponible dans les zones (ha)",
            Format.HECTARES,
            "ha",
            Aggregation.SUM,
            "available_land_ha",
        ),
        ResultField(
            "available_plots",
            "integer",
            "Available plots in the zones.",
            "Parcelles disponibles",
            "Parcelles disponibles dans les zones",
            Format.COUNT,
            "parcelles",
            aggregation=Aggregation.SUM,
            of="available_plots",
        ),
        ResultField(
            "priority_max",
            "number",
            "Highest priority among the zones.",
            "Priorité la plus élevée",
            f"Priorité la plus élevée parmi les zones {fr}",
            Format.PRIORITY,
            "/100",
            Aggregation.MAX,
            "priority",
        ),
        *(
            ResultField(
                f"zones_access_{access}",
                "integer",
                f"Activity zones whose transport access class is {access}.",
                f"Zones {ACCESS_WORDS[access][1]} (transports)",
                f"Nombre de zones d'activités {fr} dont l'accès par les transports est "
                f"{access} ({ACCESS_WORDS[access][0]})",
                Format.COUNT,
                "zones",
                aggregation=Aggregation.COUNT,
                of=access,
                count_column="access_class",
            )
            for access in _ACCESS_CLASSES
        ),
    )


def _population(where: str) -> ResultField:
    return ResultField(
        "population",
        "integer",
        "Population.",
        "Population",
        f"Population municipale {where}",
        Format.COUNT,
    )


def _arcep(name: str, description: str, label: str, description_fr: str) -> ResultField:
    dtype: DType = "string" if name == "arcep_period" else "number"
    fmt = Format.SHARE if "share" in name else Format.TEXT if dtype == "string" else Format.COUNT
    return ResultField(
        name,
        dtype,
        description,
        label,
        description_fr,
        fmt,
        _SHARE if fmt == Format.SHARE else None,
        source=LayerKind.COMMUNE_COVERAGE,
    )


#: The fields of the commune results, in column order.
COMMUNE_FIELDS: Final[tuple[ResultField, ...]] = (
    _text("commune_insee", "INSEE code of the commune.", "Code INSEE", "Code INSEE de la commune"),
    _text("name", "Name of the commune.", "Commune", "Nom de la commune"),
    _text("epci_siren", "SIREN of the commune's EPCI.", "EPCI (SIREN)", "SIREN de l'EPCI"),
    _population("de la commune"),
    *_aggregates("commune"),
    _arcep(
        "arcep_locaux",
        "Locaux of the commune according to ARCEP.",
        "Locaux de la commune (Arcep)",
        "Locaux de la commune selon l'Arcep",
    ),
    _arcep(
        "arcep_share_bhd8",
        "Share of the commune's locaux with at least 8 Mbit/s (ARCEP), 0-1.",
        f"Locaux de la commune à {GE}8{MBPS} (Arcep)",
        "Part des locaux de la commune à au moins 8 Mbit/s en filaire (Arcep)",
    ),
    _arcep(
        "arcep_share_thd30",
        "Share of the commune's locaux with at least 30 Mbit/s (ARCEP), 0-1.",
        f"Locaux de la commune à {GE}30{MBPS} (Arcep)",
        "Part des locaux de la commune à au moins 30 Mbit/s en filaire (Arcep)",
    ),
    _arcep(
        "arcep_share_thd100",
        "Share of the commune's locaux with at least 100 Mbit/s (ARCEP), 0-1.",
        f"Locaux de la commune à {GE}100{MBPS} (Arcep)",
        "Part des locaux de la commune à au moins 100 Mbit/s en filaire (Arcep)",
    ),
    _arcep(
        "arcep_share_thd1g",
        "Share of the commune's locaux with at least 1 Gbit/s (ARCEP), 0-1.",
        f"Locaux de la commune à {GE}1{GBPS} (Arcep)",
        "Part des locaux de la commune à au moins 1 Gbit/s en filaire (Arcep)",
    ),
    _arcep(
        "arcep_share_ftth",
        "Share of the commune's locaux connectable to fibre (ARCEP), 0-1.",
        "Locaux de la commune raccordables à la fibre (FttH, Arcep)",
        "Part des locaux de la commune raccordables à la fibre (Arcep)",
    ),
    _arcep(
        "arcep_ftth_class",
        "ARCEP FTTH coverage class of the commune: 0, 5, 10, 25, 50 or 80.",
        "Classe de couverture FttH (Arcep)",
        "Classe de couverture FttH de l'Arcep : 0, 5 (moins de 10 %), 10, 25, 50, 80",
    ),
    _arcep(
        "arcep_period",
        "Date or quarter of the ARCEP commune statistics.",
        "Période des statistiques communales",
        "Date ou trimestre des statistiques communales de l'Arcep",
    ),
    *_changes("commune"),
)

#: The fields of the EPCI results, in column order.
EPCI_FIELDS: Final[tuple[ResultField, ...]] = (
    _text("epci_siren", "SIREN of the EPCI (intercommunality).", "SIREN", "SIREN de l'EPCI"),
    _text("name", "Name of the EPCI.", "EPCI", "Nom de l'EPCI"),
    ResultField(
        "communes",
        "integer",
        "Communes of the EPCI.",
        "Communes",
        "Nombre de communes",
        Format.COUNT,
    ),
    _population("de l'EPCI"),
    *_aggregates("epci"),
    *_changes("EPCI"),
)

#: The fields of each result layer, by layer name.
RESULT_FIELDS: Final[dict[str, tuple[ResultField, ...]]] = {
    "zone_results": ZONE_FIELDS,
    "commune_results": COMMUNE_FIELDS,
    "epci_results": EPCI_FIELDS,
}


def core(fields: Iterable[ResultField]) -> tuple[ResultField, ...]:
    """The fields always present (brought by no optional layer)."""
    return tuple(f for f in fields if f.source is None)


def from_source(fields: Iterable[ResultField], source: str) -> tuple[str, ...]:
    """Names of the fields brought by the optional layer ``source``."""
    return tuple(f.name for f in fields if f.source == source and not f.family)


def aggregated(fields: Iterable[ResultField], how: Aggregation) -> tuple[ResultField, ...]:
    """The fields computed from the zone results by ``how``."""
    return tuple(f for f in fields if f.aggregation == how)


def field_of(fields: Iterable[ResultField], column: str) -> ResultField | None:
    """The field declaring ``column`` (a family member included), None if undeclared."""
    return next((f for f in fields if f.matches(column)), None)


def summary_figures(fields: Iterable[ResultField]) -> tuple[ResultField, ...]:
    """The key figures of a commune's, an EPCI's or the territory's opinion, in declaration
    order: the fields computed from the zones but the highest priority (a figure only where
    zones are flagged)."""
    return tuple(f for f in fields if f.aggregation not in (Aggregation.NONE, Aggregation.MAX))


def commune_basis_shares() -> tuple[ResultField, ...]:
    """The shares of a zone's commune (ARCEP statistics), shown when they decided its status
    (``status_basis`` ``commune``), in declaration order."""
    return tuple(
        f
        for f in ZONE_FIELDS
        if f.source == LayerKind.COMMUNE_COVERAGE and f.format == Format.SHARE
    )


def commune_basis_figures(row: Mapping[str, Any]) -> list[Figure]:
    """The :func:`commune_basis_shares` of a zone result whose commune decided its status, as
    people read them; every one is listed, :data:`UNMEASURED` where the statistics lack it (the
    FTTH observatory alone gives no THD30 share), so that no reader takes a gap for 0."""
    out = []
    for field in commune_basis_shares():
        value = _known(row.get(field.name))
        text = UNMEASURED if value is None else format_value(field, value)
        out.append(Figure(field, value, text))
    return out


def named(fields: Iterable[ResultField], name: str) -> ResultField:
    """The field ``name`` (a family member included) of ``fields``; KeyError if undeclared."""
    found = field_of(fields, name)
    if found is None:
        raise KeyError(name)
    return found


def zone_field(name: str) -> ResultField:
    """The zone result field ``name``; raises KeyError if undeclared."""
    return named(ZONE_FIELDS, name)


def descriptor_columns(layer: str) -> dict[str, str]:
    """French description of each column of result layer ``layer`` (empty for other layers)."""
    return {
        f"{f.name}*" if f.family else f.name: f.description_fr for f in RESULT_FIELDS.get(layer, ())
    }


#: The zone's measured figures in the order the maps and the opinions show them: its area,
#: then its premises and their coverage shares.
ZONE_MEASURES: Final = ("area_ha", "premises", "locaux", *(c[0] for c in _COVERAGE_SHARES))


#: Columns of the zone results, in order, without the optional layers' (geometry last).
ZONE_RESULT_COLUMNS: Final = tuple(f.name for f in core(ZONE_FIELDS))


@dataclass(frozen=True)
class Figure:
    """A key figure of a result row: its field, value (None: unknown) and French text."""

    field: ResultField
    value: float | str | None
    text: str


def format_value(field: ResultField, value: float | str | None) -> str:
    """``value`` written as ``field``'s format says, in French (``—`` when unknown)."""
    if value is None:
        return "—"
    if field.format == Format.SHARE:
        return fr_percent(float(value))
    if field.format == Format.HECTARES:
        return fr_hectares(float(value))
    if field.format == Format.COUNT:
        return fr_number(round(float(value)))
    if field.format == Format.PRIORITY:
        return fr_number(float(value), PRIORITY_DECIMALS)
    if field.format == Format.NUMBER:
        return fr_number(float(value), 1)
    if field.format == Format.KILOMETRES:
        return fr_kilometres(float(value))
    if field.format == Format.MINUTES:
        return fr_minutes(float(value))
    if field.format == Format.POINTS:
        return fr_points(100.0 * float(value))
    if field.value_labels is not None:
        return dict(field.value_labels).get(str(value), str(value))
    return str(value)


def figures(row: Mapping[str, Any], fields: Iterable[ResultField] | None = None) -> list[Figure]:
    """The key figures (fields with ``figure``) that ``row`` holds, in declaration order; the
    zone fields by default."""
    out = []
    for field in ZONE_FIELDS if fields is None else fields:
        if not field.figure or field.family:
            continue
        value = _known(row.get(field.name))
        if value is not None:
            out.append(Figure(field, value, format_value(field, value)))
    return out


def _known(raw: object) -> float | str | None:
    if raw is None or isinstance(raw, str):
        return raw or None
    try:
        number = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number
