"""The "Desserte et accessibilité" section of the opinions: how a zone, a commune's zones or the
territory's zones are reached (see :mod:`geo_service.analysis.transport`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from geo_service.analysis import RunInfo, split_reasons
from geo_service.analysis.priority import FLAGGED
from geo_service.formatting import NNBSP, fr_date, fr_kilometres, fr_number, plural
from geo_service.model import ACCESS_WORDS, AccessClass
from geo_service.opinions import common as c
from geo_service.opinions.wording import quoted
from geo_service.settings import AnalysisParams

#: Title of the section.
ACCESS_TITLE: Final = "Desserte et accessibilité"
#: The transport layers, as the section cites them.
TRANSPORT_LAYERS: Final = ("transit_stops", "rail_stations", "road_access", "hubs", "road_network")


def method_sentence(params: AnalysisParams, *, by_road: bool = False) -> str:
    """How the access class is decided, with the thresholds of the run; ``by_road`` when a
    road network gave the distances."""
    walk = f"{fr_number(params.transit_walk_m)}{NNBSP}m"
    measured = (
        "Distances par la route sur le réseau routier chargé (à vol d'oiseau, depuis le "
        "périmètre de la zone en Lambert-93, là où il ne la relie pas)"
        if by_road
        else "Distances à vol d'oiseau depuis le périmètre de la zone (Lambert-93), sans réseau "
        "routier"
    )
    return (
        f"{measured}. Desserte en transports en commun jugée bonne à partir de "
        f"{fr_number(params.access_good_departures)} départs entre 7 h et 9 h aux arrêts à "
        f"moins de {walk}, ou avec un arrêt de métro, de tramway ou de train à moins de {walk}, "
        f"ou une gare voyageurs à moins de {fr_kilometres(params.access_good_rail_km)} ; accès "
        f"routier bon à moins de {fr_kilometres(params.access_good_road_km)} d'un échangeur "
        f"autoroutier, insuffisant au-delà de {fr_kilometres(params.access_poor_road_km)}. La "
        "zone est bien desservie quand les deux le sont, mal desservie quand tout ce qui est "
        "connu est insuffisant, partiellement desservie sinon."
    )


def zone_access(row: Mapping[str, Any], params: AnalysisParams, dates: str) -> list[str]:
    """The section of a zone opinion: its class, the facts that decide it, the method."""
    access = c.text(row, "access_class") or AccessClass.UNKNOWN.value
    if access == AccessClass.UNKNOWN.value:
        head = (
            "Aucune donnée de transport (arrêts, gares, échangeurs) n'a été chargée : la desserte "
            "de la zone par les transports ne peut être qualifiée."
        )
        return [head]
    facts = [f"{reason}." for reason in split_reasons(c.text(row, "access_reasons"))]
    return [
        "Au regard des seuils retenus, la zone est "
        f"{quoted(ACCESS_WORDS[access][0])} par les transports.",
        *facts,
        method_sentence(params, by_road=c.value(row, "road_access_road_km") is not None),
        f"Données de transport : {dates}.",
    ]


def counts_sentence(counts: Mapping[str, int], subject: str) -> str | None:
    """``Les 12 zones de la commune : 3 bien desservies, …`` (None when none is known)."""
    total = sum(counts.values())
    if total == 0 or counts.get(AccessClass.UNKNOWN.value, 0) == total:
        return None
    parts = [
        f"{fr_number(n)} {ACCESS_WORDS[access][0 if n < 2 else 1]}"
        for access, n in counts.items()
        if n > 0
    ]
    return (
        f"Desserte par les transports des {plural(total, 'zone')} {subject} : {', '.join(parts)}."
    )


def summary_access(summary: Mapping[str, Any], zones: Any, subject: str, dates: str) -> list[str]:
    """The section of a commune or territory opinion: its zones by access class, and the
    zones both flagged for broadband and poorly reached."""
    counts = {a.value: c.integer(summary, f"zones_access_{a.value}") or 0 for a in AccessClass}
    sentence = counts_sentence(counts, subject)
    if sentence is None or "access_class" not in zones.columns:
        return [
            "Aucune donnée de transport n'a été chargée : la desserte des zones par les "
            "transports ne peut être qualifiée."
        ]
    both = zones[zones["status"].isin(FLAGGED) & (zones["access_class"] == AccessClass.POOR.value)]
    out = [sentence]
    if len(both):
        names = ", ".join(
            f"{quoted(str(r['name']))} ({r['zone_id']})" for r in both.to_dict("records")
        )
        out.append(
            f"{plural(len(both), 'zone')} cumulant une desserte numérique insuffisante et un "
            f"accès mal desservi : {names}."
        )
    else:
        out.append(
            "Aucune zone ne cumule une desserte numérique insuffisante et un accès mal desservi."
        )
    out.append(f"Données de transport : {dates}.")
    return out


def transport_dates(run: RunInfo) -> str:
    """The sources and dates of the transport layers of the run, in French."""
    cited = [s for s in c.sources(run) if s.layer in TRANSPORT_LAYERS]
    if not cited:
        return "aucune couche de transport chargée"
    groups: dict[tuple[str, str], list[str]] = {}
    for source in cited:
        key = (source.source, fr_date(source.data_date))
        groups.setdefault(key, []).append(source.title.lower())
    return " ; ".join(
        f"{', '.join(titles)} ({source}, {when})" for (source, when), titles in groups.items()
    )
