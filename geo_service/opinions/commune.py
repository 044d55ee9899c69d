"""The opinion on one commune: its activity zones and their broadband coverage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

import pandas as pd

from geo_service.analysis import AnalysisResult
from geo_service.analysis.fields import COMMUNE_FIELDS, named
from geo_service.errors import NotFoundError
from geo_service.formatting import fr_date, fr_hectares, fr_number, plural
from geo_service.model import ZoneStatus
from geo_service.opinions import common as c
from geo_service.opinions.access import summary_access, transport_dates
from geo_service.opinions.model import (
    ContextItem,
    KeyFigure,
    Opinion,
    OpinionKind,
    Recommendation,
    ZoneLine,
)
from geo_service.opinions.wording import (
    BHD8_TEXT,
    THD30_TEXT,
    level_label,
    levels_text,
    locaux_count,
    method_text,
    of_place,
    priority_text,
    quoted,
    share_text,
    zones_count,
)

#: Column of the key figure "available land in flagged zones" (a sum over zone results).
FLAGGED_LAND: Final = f"{c.FLAGGED}.available_land_ha"
#: Column of the key figure "locaux in flagged zones" (a sum over zone results).
FLAGGED_LOCAUX: Final = f"{c.FLAGGED}.locaux"
_PRIORITY_MAX: Final = named(COMMUNE_FIELDS, "priority_max")


def commune_opinion(
    result: AnalysisResult, insee: str, options: c.OpinionOptions | None = None
) -> Opinion:
    """The opinion on commune ``insee``: its zones, their coverage, land and priorities.

    Parameters
    ----------
    result
        Analysis results.
    insee
        INSEE code of the commune.
    options
        Base URL of the links, level cut-offs, date of the opinion.

    Raises
    ------
    NotFoundError
        When the results hold no commune with this code.
    """
    options = options or c.OpinionOptions()
    communes = result.communes
    match = communes[communes["commune_insee"].astype(str) == str(insee)]
    if len(match) == 0:
        raise NotFoundError(f"no commune with INSEE code '{insee}' in the analysis results")
    row: dict[str, Any] = match.drop(columns="geometry").iloc[0].to_dict()
    names = c.commune_names(result)
    zones = result.zones[result.zones["commune_insee"].astype(str) == str(insee)]
    records = zones.drop(columns="geometry").to_dict("records")
    lines = sorted(
        (c.zone_line(z, options, names) for z in records),
        key=lambda z: (z.rank is None, z.rank or 0, z.name),
    )
    flagged_lines = [z for z in lines if z.rank is not None]
    sums = c.flagged_sums(zones)
    total_flagged = len(result.flagged())
    label = c.commune_text(str(insee), names)
    code = quote(str(insee), safe="")
    return Opinion(
        kind=OpinionKind.COMMUNE,
        subject_id=str(insee),
        subject=names.get(str(insee), f"commune {insee}"),
        title=f"Commune {of_place(names[str(insee)])}"
        if str(insee) in names
        else f"Commune {insee}",
        subtitle=f"{label} — zones d'activités et très haut débit",
        date=options.today,
        analyzed_at=result.run.analyzed_at,
        synthetic=result.run.synthetic,
        context=_context(row, result, len(zones)),
        key_figures=_key_figures(row, sums, bool(flagged_lines)),
        findings=_findings(row, sums, flagged_lines, total_flagged),
        assessment=_assessment(row, sums, lines),
        recommendation=_recommendation(flagged_lines, result, options, total_flagged),
        recommendations=_recommendations(lines, sums),
        limits=_limits(zones, lines, result),
        sources=c.sources(result.run),
        params=result.run.params,
        levels=options.levels,
        zones=lines,
        access=summary_access(row, zones, "de la commune", transport_dates(result.run)),
        links=c.links(
            options,
            f"/maps/territory?commune={code}",
            f"/collections/communes/items/{code}",
            f"/communes/{code}/opinion",
        ),
    )


def _context(row: Mapping[str, Any], result: AnalysisResult, zones: int) -> list[ContextItem]:
    items = [ContextItem(label="Code INSEE", value=str(row["commune_insee"]))]
    epci = c.text(row, "epci_siren")
    if epci is not None:
        name = c.epci_names(result).get(epci)
        items.append(
            ContextItem(label="Intercommunalité", value=f"{name} ({epci})" if name else epci)
        )
    if (population := c.integer(row, "population")) is not None:
        items.append(ContextItem(label="Population", value=f"{fr_number(population)} habitants"))
    items.append(ContextItem(label="Zones d'activités", value=fr_number(zones)))
    items.append(ContextItem(label="Données", value=c.data_dates(result.run)))
    items.append(ContextItem(label="Analyse du", value=fr_date(result.run.analyzed_at.date())))
    return items


def _key_figures(
    row: Mapping[str, Any], sums: Mapping[str, float | int], has_flagged: bool
) -> list[KeyFigure]:
    figures = c.summary_key_figures(row, sums)
    if has_flagged:
        figures.append(c.field_figure(_PRIORITY_MAX, row))
    return figures


def _counts(row: Mapping[str, Any]) -> dict[str, int]:
    return {s.value: c.integer(row, f"zones_{s.value}") or 0 for s in ZoneStatus}


def _findings(
    row: Mapping[str, Any],
    sums: Mapping[str, float | int],
    flagged: list[ZoneLine],
    total_flagged: int,
) -> list[str]:
    zones = c.integer(row, "zones") or 0
    if zones == 0:
        return ["Aucune zone d'activités n'est recensée sur la commune dans les données analysées."]
    out = [
        f"La commune compte {zones_count(zones)} ({fr_hectares(c.value(row, 'area_ha'))}) : "
        f"{c.status_breakdown(_counts(row))}."
    ]
    these = "cette zone" if zones == 1 else "ces zones"
    locaux = c.integer(row, "locaux") or 0
    if locaux > 0:
        out.append(
            f"{these.capitalize()} {'réunit' if zones == 1 else 'réunissent'} "
            f"{locaux_count(locaux)} dans "
            f"{plural(c.integer(row, 'premises') or 0, 'bâtiment')} ; "
            f"{share_text(c.value(row, 'share_thd30'))} de ces locaux ont accès au {THD30_TEXT} "
            f"et {share_text(c.value(row, 'share_bhd8'))} au {BHD8_TEXT}."
        )
    if (ftth := c.value(row, "share_ftth")) is not None:
        out.append(
            f"La fibre optique jusqu'au local (FttH) est disponible pour {share_text(ftth)} des "
            "locaux des zones dont l'éligibilité est connue."
        )
    plots = c.integer(row, "available_plots") or 0
    if plots > 0:
        land = fr_hectares(c.value(row, "available_land_ha"))
        flagged_land = float(sums[FLAGGED_LAND])
        tail = f", dont {fr_hectares(flagged_land)} dans des zones signalées" if flagged else ""
        out.append(
            f"{land} de foncier économique disponible dans {these} "
            f"({plural(plots, 'parcelle')}){tail}."
        )
    else:
        out.append(f"Aucun foncier économique disponible n'est recensé dans {these}.")
    if flagged:
        lines = " ; ".join(
            f"{quoted(line.name)} ({line.status_label}, priorité {priority_text(line.priority)}, "
            f"rang {fr_number(line.rank)})"
            for line in flagged
        )
        out.append(
            f"{'Zone signalée, avec son' if len(flagged) == 1 else 'Zones signalées, avec leur'} "
            f"rang parmi les {fr_number(total_flagged)} zones signalées du territoire analysé : "
            f"{lines}."
        )
    return out


def _assessment(
    row: Mapping[str, Any], sums: Mapping[str, float | int], lines: list[ZoneLine]
) -> list[str]:
    zones = len(lines)
    if zones == 0:
        return [
            "Sans zone d'activités recensée, la commune n'appelle pas d'appréciation sur la "
            "desserte numérique de ses zones d'activités."
        ]
    flagged = [z for z in lines if z.rank is not None]
    unknown = [z for z in lines if z.status == ZoneStatus.UNKNOWN.value]
    out: list[str] = []
    if not flagged:
        out.append(
            "Aucune zone d'activités de la commune n'est signalée : la couverture numérique n'y "
            "constitue pas un frein à l'accueil ou au développement d'entreprises."
        )
    else:
        one = len(flagged) == 1
        if len(flagged) == zones:
            share = "La zone d'activités" if one else f"Les {zones_count(zones)}"
        else:
            share = f"{fr_number(len(flagged))} des {zones_count(zones)}"
        verdict = (
            "est mal desservie ou non desservie" if one else "sont mal desservies ou non desservies"
        )
        out.append(
            f"{share} de la commune {verdict}. "
            f"{'Elle réunit' if one else 'Elles réunissent'} "
            f"{locaux_count(int(sums[FLAGGED_LOCAUX]))} et "
            f"{fr_hectares(float(sums[FLAGGED_LAND]))} de foncier disponible, dont "
            "l'attractivité dépend de l'amélioration de la desserte."
        )
    if unknown:
        out.append(
            f"La desserte de {zones_count(len(unknown))} ne peut être qualifiée faute de données "
            f"({c.zone_names(unknown)})."
        )
    return out


def _recommendation(
    flagged: list[ZoneLine],
    result: AnalysisResult,
    options: c.OpinionOptions,
    total_flagged: int,
) -> Recommendation:
    params = result.run.params
    if not flagged:
        return Recommendation(
            label=level_label(None, ZoneStatus.SERVED),
            flagged_zones=total_flagged,
            rationale="Aucune zone de la commune n'est signalée.",
            method=method_text(params),
        )
    first = min(flagged, key=lambda z: z.rank or 0)
    return Recommendation(
        level=first.level,
        label=level_label(first.level),
        priority=first.priority,
        rank=first.rank,
        flagged_zones=total_flagged,
        zones_by_level={level: len(group) for level, group in c.level_groups(flagged).items()},
        rationale=(
            f"Niveau de la zone la plus prioritaire de la commune, {quoted(first.name)} : "
            f"priorité {priority_text(first.priority)}, rang {fr_number(first.rank)} sur "
            f"{fr_number(total_flagged)} zones signalées du territoire analysé. "
            f"{levels_text(options.levels)}"
        ),
        method=method_text(params),
    )


def _recommendations(lines: list[ZoneLine], sums: Mapping[str, float | int]) -> list[str]:
    groups = c.level_groups(lines)
    unknown = [z for z in lines if z.status == ZoneStatus.UNKNOWN.value]
    out = [f"{c.LEVEL_ACTIONS[level]} {c.zone_names(group)}." for level, group in groups.items()]
    if groups and float(sums[FLAGGED_LAND]) > 0:
        out.append(
            "Intégrer la desserte en très haut débit aux conditions "
            "d'aménagement et de "
            f"commercialisation des {fr_hectares(float(sums[FLAGGED_LAND]))} de foncier "
            "disponible dans les zones signalées."
        )
    if unknown:
        out.append(
            f"Compléter les données (recensement des locaux, carte de couverture) de "
            f"{c.zone_names(unknown)}."
        )
    if groups:
        out.append(c.NEUTRALITY)
    if not out:
        out.append(
            "Aucune action prioritaire n'est requise sur la desserte des zones d'activités de la "
            "commune ; veiller au maintien de la qualité de service (très haut débit pour "
            "chaque local)."
        )
    return out


def _limits(zones: pd.DataFrame, lines: list[ZoneLine], result: AnalysisResult) -> list[str]:
    specific = [
        "Les parts de couverture de la commune sont pondérées par les locaux de ses seules zones "
        "d'activités : elles ne décrivent pas la couverture de l'ensemble de la commune."
    ]
    raster = [z for z in lines if z.status_basis == "raster"]
    if raster:
        specific.append(
            f"Couverture estimée d'après la carte raster faute de locaux recensés pour "
            f"{c.zone_names(raster)}."
        )
    by_commune = [z for z in lines if z.status_basis == "commune"]
    if by_commune:
        specific.append(
            f"Statistiques communales seulement pour {c.zone_names(by_commune)} : leurs parts de "
            "couverture sont celles de la commune."
        )
    if (overlap := c.overlap_limit(zones, c.overlapping_pairs(zones))) is not None:
        specific.append(overlap)
    return c.limits(result, specific)
