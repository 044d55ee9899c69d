"""The territory synthesis: every flagged zone of the analysed territory, ranked by priority."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Final

from geo_service.analysis import AnalysisResult
from geo_service.analysis.aggregate import territory_summary
from geo_service.formatting import fr_date, fr_hectares, fr_number, fr_percent, plural
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
    priority_text,
    quoted,
    share_text,
    zones_count,
)

_SEE_ANNEX: Final = " (voir l'annexe)"


def territory_synthesis(result: AnalysisResult, options: c.OpinionOptions | None = None) -> Opinion:
    """The synthesis of the whole analysed territory: all flagged zones ranked by priority.

    Key figures are sums over the zone results (``column`` names the summed zone column;
    ``zones[flagged].<column>`` sums over the flagged zones only) and locaux-weighted shares
    computed as in the commune and EPCI results.
    """
    options = options or c.OpinionOptions()
    zones = result.zones
    names = c.commune_names(result)
    flagged = result.flagged()
    lines = [
        c.zone_line(z, options, names) for z in flagged.drop(columns="geometry").to_dict("records")
    ]
    figures = _key_figures(result)
    values = {f.column: f.value for f in figures}
    communes = int(zones["commune_insee"].dropna().nunique())
    return Opinion(
        kind=OpinionKind.TERRITORY,
        subject_id=None,
        subject="Territoire analysé",
        title="Synthèse territoriale",
        subtitle=(
            f"Desserte en très haut débit des zones d'activités — {zones_count(len(zones))} "
            f"dans {plural(communes, 'commune')}"
        ),
        date=options.today,
        analyzed_at=result.run.analyzed_at,
        synthetic=result.run.synthetic,
        context=_context(result, communes),
        key_figures=figures,
        findings=_findings(result, values, lines, names),
        assessment=_assessment(values, lines),
        recommendation=_recommendation(lines, result, options),
        recommendations=_recommendations(lines, values),
        limits=_limits(result),
        sources=c.sources(result.run),
        params=result.run.params,
        levels=options.levels,
        zones=lines,
        access=summary_access(
            territory_summary(zones), zones, "du territoire", transport_dates(result.run)
        ),
        links=c.links(options, "/maps/territory", "/collections/zones/items", "/territory/opinion"),
    )


def _context(result: AnalysisResult, communes: int) -> list[ContextItem]:
    items = [ContextItem(label="Communes ayant des zones", value=fr_number(communes))]
    epcis = sorted(c.epci_names(result).values())
    if epcis:
        items.append(ContextItem(label="Intercommunalités", value=" ; ".join(epcis)))
    items.append(ContextItem(label="Données", value=c.data_dates(result.run)))
    items.append(ContextItem(label="Analyse du", value=fr_date(result.run.analyzed_at.date())))
    return items


def _key_figures(result: AnalysisResult) -> list[KeyFigure]:
    return c.summary_key_figures(territory_summary(result.zones), c.flagged_sums(result.zones))


def _findings(
    result: AnalysisResult,
    values: Mapping[str, float | int | None],
    lines: list[ZoneLine],
    names: Mapping[str, str],
) -> list[str]:
    zones = int(values["zones"] or 0)
    counts = {s.value: int(values[f"zones_{s.value}"] or 0) for s in ZoneStatus}
    out = [
        f"Le territoire analysé compte {zones_count(zones)} "
        f"({fr_hectares(float(values['area_ha'] or 0))}) : {c.status_breakdown(counts)}."
    ]
    locaux = int(values["locaux"] or 0)
    if locaux > 0:
        out.append(
            f"Ces zones réunissent {locaux_count(locaux)} ; {share_text(values['share_thd30'])} "
            f"ont accès au {THD30_TEXT} et {share_text(values['share_bhd8'])} au {BHD8_TEXT}."
        )
    if not lines:
        out.append("Aucune zone n'est signalée (mal desservie ou non desservie).")
        return out
    flagged_locaux = int(values[f"{c.FLAGGED}.locaux"] or 0)
    flagged_land = float(values[f"{c.FLAGGED}.available_land_ha"] or 0.0)
    land = float(values["available_land_ha"] or 0.0)
    flagged = (
        "est signalée (mal desservie ou non desservie) ; elle réunit"
        if len(lines) == 1
        else "sont signalées (mal desservies ou non desservies) ; elles réunissent"
    )
    out.append(
        f"{zones_count(len(lines))} {flagged} {locaux_count(flagged_locaux)}"
        + (f" ({fr_percent(flagged_locaux / locaux)} des locaux des zones)" if locaux else "")
        + f" et {fr_hectares(flagged_land)} de foncier disponible"
        + (f" ({fr_percent(flagged_land / land)} du foncier disponible)." if land else ".")
    )
    top = lines[:3]
    out.append(
        "Zones les plus prioritaires : "
        + " ; ".join(
            f"{quoted(z.name)} à {c.commune_name(z.commune_insee, names)}, priorité "
            f"{priority_text(z.priority)}"
            for z in top
        )
        + "."
    )
    by_commune = Counter(z.commune_insee for z in lines if z.commune_insee)
    if by_commune:
        most = by_commune.most_common(3)
        out.append(
            "Communes comptant le plus de zones signalées : "
            + " ; ".join(f"{c.commune_name(code, names)} ({plural(n, 'zone')})" for code, n in most)
            + "."
        )
    out += _epci_findings(result)
    return out


def _epci_findings(result: AnalysisResult) -> list[str]:
    epcis = result.epcis
    if "name" not in epcis.columns or len(epcis) < 2:
        return []
    parts = []
    for row in epcis.drop(columns="geometry").to_dict("records"):
        flagged = (c.integer(row, "zones_underserved") or 0) + (
            c.integer(row, "zones_unserved") or 0
        )
        name = c.text(row, "name") or c.text(row, "epci_siren") or "EPCI"
        parts.append(
            f"{name} : {fr_number(flagged)} sur {plural(c.integer(row, 'zones') or 0, 'zone')}"
        )
    return ["Zones signalées par intercommunalité : " + " ; ".join(parts) + "."]


def _assessment(values: Mapping[str, float | int | None], lines: list[ZoneLine]) -> list[str]:
    if not lines:
        return [
            "La desserte numérique ne constitue pas un frein à l'accueil d'entreprises dans les "
            "zones d'activités du territoire analysé."
        ]
    groups = c.level_groups(lines)
    parts = [f"{plural(len(group), 'zone')} en priorité {level}" for level, group in groups.items()]
    out = [
        f"La desserte en très haut débit reste insuffisante dans {zones_count(len(lines))} du "
        f"territoire analysé ({', '.join(parts)}). Elle conditionne l'attractivité de "
        f"{fr_hectares(float(values[f'{c.FLAGGED}.available_land_ha'] or 0.0))} de foncier "
        "économique disponible et l'activité des entreprises déjà installées."
    ]
    unknown = int(values["zones_unknown"] or 0)
    if unknown:
        out.append(
            f"La desserte de {zones_count(unknown)} ne peut être qualifiée faute de données."
        )
    return out


def _recommendation(
    lines: list[ZoneLine], result: AnalysisResult, options: c.OpinionOptions
) -> Recommendation:
    params = result.run.params
    if not lines:
        return Recommendation(
            label=level_label(None, ZoneStatus.SERVED),
            rationale="Aucune zone n'est signalée.",
            method=method_text(params),
        )
    groups = c.level_groups(lines)
    top = lines[0]
    summary = ", ".join(
        f"{plural(len(group), 'zone')} en priorité {level}" for level, group in groups.items()
    )
    if len(lines) == 1:
        span = f"{zones_count(1)} signalée : {summary}. Priorité {priority_text(top.priority)}."
    else:
        span = (
            f"{zones_count(len(lines))} signalées : {summary}. Priorités de "
            f"{priority_text(lines[-1].priority)} à {priority_text(top.priority)}."
        )
    return Recommendation(
        level=top.level,
        label=level_label(top.level),
        flagged_zones=len(lines),
        zones_by_level={level: len(group) for level, group in groups.items()},
        rationale=f"{span} {levels_text(options.levels)}",
        method=method_text(params),
    )


def _recommendations(lines: list[ZoneLine], values: Mapping[str, float | int | None]) -> list[str]:
    groups = c.level_groups(lines)
    out = [
        f"{c.LEVEL_ACTIONS[level]} {plural(len(group), 'zone')} : "
        f"{c.zone_names(group, rest=_SEE_ANNEX)}."
        for level, group in groups.items()
    ]
    land = float(values[f"{c.FLAGGED}.available_land_ha"] or 0.0)
    if land > 0:
        out.append(
            "Intégrer la desserte en très haut débit aux conditions "
            "d'aménagement et de "
            f"commercialisation des {fr_hectares(land)} de foncier disponible des zones "
            "signalées."
        )
    unknown = int(values["zones_unknown"] or 0)
    if unknown:
        out.append(
            f"Compléter les données (recensement des locaux, carte de couverture) de "
            f"{zones_count(unknown)} dont la desserte est indéterminée."
        )
    if groups:
        out.append(c.NEUTRALITY)
    return out or ["Aucune action prioritaire n'est requise sur la desserte des zones."]


def _limits(result: AnalysisResult) -> list[str]:
    zones = result.zones
    specific: list[str] = []
    raster = int((zones["status_basis"] == "raster").sum())
    if raster:
        specific.append(
            f"Couverture estimée d'après la carte raster faute de locaux recensés pour "
            f"{zones_count(raster)}."
        )
    by_commune = int((zones["status_basis"] == "commune").sum())
    if by_commune:
        specific.append(
            f"Statistiques communales seulement pour {zones_count(by_commune)} : leurs parts de "
            "couverture sont celles de leur commune."
        )
    if (overlap := c.overlap_limit(zones, c.overlapping_pairs(zones))) is not None:
        specific.append(overlap)
    specific.append(
        "Les parts du territoire sont pondérées par les locaux des seules zones d'activités."
    )
    return c.limits(result, specific)
