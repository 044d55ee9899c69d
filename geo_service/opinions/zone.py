"""The opinion on one activity zone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

from geo_service.analysis import AnalysisResult
from geo_service.analysis.fields import (
    UNMEASURED,
    ZONE_MEASURES,
    Format,
    ResultField,
    commune_basis_shares,
    zone_field,
)
from geo_service.analysis.fields import figures as result_figures
from geo_service.analysis.priority import FLAGGED
from geo_service.analysis.status import effective_share, thd30_lower_bound
from geo_service.errors import NotFoundError
from geo_service.formatting import (
    GBPS,
    GE,
    MBPS,
    fr_date,
    fr_hectares,
    fr_number,
    fr_percent,
    plural,
)
from geo_service.model import ZoneStatus
from geo_service.opinions import common as c
from geo_service.opinions.access import transport_dates, zone_access
from geo_service.opinions.model import (
    ContextItem,
    KeyFigure,
    Opinion,
    OpinionKind,
    Recommendation,
)
from geo_service.opinions.wording import (
    BHD8_TEXT,
    THD30_TEXT,
    deciding_share_text,
    level_label,
    levels_text,
    locaux_count,
    method_text,
    priority_text,
    quoted,
    share_text,
    status_label,
)

#: After the measures (``ZONE_MEASURES``), the coverage map's figures where the map covers
#: the zone, then the land.
_RASTER: Final = ("raster_valid_share", "raster_share_thd30")
_LAND: Final = ("available_land_ha", "available_plots")


def zone_opinion(
    result: AnalysisResult, zone_id: str, options: c.OpinionOptions | None = None
) -> Opinion:
    """The opinion on zone ``zone_id``.

    Parameters
    ----------
    result
        Analysis results (:func:`geo_service.analysis.analyze` or the stored results).
    zone_id
        Identifier of the zone.
    options
        Base URL of the links, level cut-offs, date of the opinion.

    Raises
    ------
    NotFoundError
        When no zone has this identifier.
    """
    options = options or c.OpinionOptions()
    matches = result.zones.index[result.zones["zone_id"].astype(str) == str(zone_id)]
    if len(matches) == 0:
        raise NotFoundError(f"no zone with zone_id '{zone_id}' in the analysis results")
    position = result.zones.index.get_loc(matches[0])
    row: dict[str, Any] = result.zones.drop(columns="geometry").iloc[position].to_dict()
    names = c.commune_names(result)
    line = c.zone_line(row, options, names)
    flagged = len(result.flagged())
    name = line.name
    zid = quote(line.zone_id, safe="")
    return Opinion(
        kind=OpinionKind.ZONE,
        subject_id=line.zone_id,
        subject=name,
        title=f"Zone d'activités {quoted(name)}",
        subtitle=f"{c.commune_text(line.commune_insee, names)} — zone {line.zone_id}",
        date=options.today,
        analyzed_at=result.run.analyzed_at,
        synthetic=result.run.synthetic,
        status=line.status,
        status_label=line.status_label,
        context=_context(row, result, names),
        key_figures=_key_figures(row, flagged),
        findings=_findings(row, line.commune_insee, names, flagged),
        assessment=_assessment(row, result),
        recommendation=_recommendation(row, result, options, flagged),
        recommendations=_recommendations(row, options),
        limits=_limits(row, result, position),
        access=zone_access(row, result.run.params, transport_dates(result.run)),
        sources=c.sources(result.run),
        params=result.run.params,
        levels=options.levels,
        links=c.links(
            options,
            f"/maps/zones/{zid}",
            f"/collections/zones/items/{zid}",
            f"/zones/{zid}/opinion",
        ),
    )


def _context(
    row: Mapping[str, Any], result: AnalysisResult, names: Mapping[str, str]
) -> list[ContextItem]:
    items = [ContextItem(label="Identifiant", value=str(row["zone_id"]))]
    items.append(
        ContextItem(label="Commune", value=c.commune_text(c.text(row, "commune_insee"), names))
    )
    epci = c.text(row, "epci_siren")
    if epci is not None:
        epci_name = c.epci_names(result).get(epci)
        value = f"{epci_name} ({epci})" if epci_name else epci
        items.append(ContextItem(label="Intercommunalité", value=value))
    details = [
        f"{prefix}{detail}"
        for column, prefix in (("kind", ""), ("vocation", "vocation "), ("state", ""))
        if (detail := c.text(row, column)) is not None
    ]
    if details:
        items.append(ContextItem(label="Type", value=" — ".join(details)))
    items.append(ContextItem(label="Données", value=c.data_dates(result.run)))
    items.append(ContextItem(label="Analyse du", value=fr_date(result.run.analyzed_at.date())))
    return items


def _unmeasured(figure: KeyFigure) -> KeyFigure:
    """``figure`` reading :data:`UNMEASURED` when its value is unknown."""
    return figure if figure.value is not None else figure.model_copy(update={"text": UNMEASURED})


def _key_figures(row: Mapping[str, Any], flagged: int) -> list[KeyFigure]:
    # the commune's shares decide: every one is listed, "non mesuré" where unknown (never 0)
    shares = commune_basis_shares() if c.text(row, "status_basis") == "commune" else ()
    fields: list[ResultField] = [
        *(zone_field(name) for name in ZONE_MEASURES),
        *shares,
        *(zone_field(name) for name in (*_RASTER, *_LAND)),
    ]
    figures = [
        _unmeasured(c.field_figure(field, row)) if field in shares else c.field_figure(field, row)
        for field in fields
        if field in shares or field.format != Format.SHARE or c.value(row, field.name) is not None
    ]
    rank = c.integer(row, "rank")
    if rank is not None:
        figures.append(c.field_figure(zone_field("priority"), row))
        figures.append(
            KeyFigure(
                label="Rang parmi les zones signalées",
                value=rank,
                unit=f"sur {flagged}",
                text=f"{fr_number(rank)} sur {fr_number(flagged)}",
                column="rank",
            )
        )
    figures += [c.registry_figure(figure) for figure in result_figures(row)]
    return figures


def _findings(
    row: Mapping[str, Any], insee: str | None, names: Mapping[str, str], flagged: int
) -> list[str]:
    name = quoted(c.text(row, "name") or str(row["zone_id"]))
    out = [
        f"La zone {name} couvre {fr_hectares(c.value(row, 'area_ha'))} sur "
        f"{c.commune_of(insee, names)}."
    ]
    out += _coverage_findings(row)
    plots = c.integer(row, "available_plots") or 0
    if plots > 0:
        out.append(
            f"{fr_hectares(c.value(row, 'available_land_ha'))} de foncier économique disponible, "
            f"en {plural(plots, 'parcelle')}."
        )
    else:
        out.append("Aucun foncier économique disponible n'est recensé dans la zone.")
    out.append(
        "Au regard des seuils retenus, la zone est classée "
        f"{quoted(status_label(c.text(row, 'status')))}."
    )
    return out


def _coverage_findings(row: Mapping[str, Any]) -> list[str]:
    basis = c.text(row, "status_basis")
    thd30, bhd8 = c.value(row, "share_thd30"), c.value(row, "share_bhd8")
    r30, r8 = c.value(row, "raster_share_thd30"), c.value(row, "raster_share_bhd8")
    valid = c.value(row, "raster_valid_share")
    if basis == "raster":
        return [
            "Aucun local n'est recensé dans la zone : sa desserte est estimée d'après la carte "
            f"de couverture, qui renseigne {share_text(valid)} de sa surface.",
            f"{share_text(r30)} de la surface renseignée est couverte à {GE}30{MBPS} et "
            f"{share_text(r8)} à {GE}8{MBPS}.",
        ]
    if basis == "commune":
        return [_commune_finding(row)]
    locaux = c.integer(row, "locaux") or 0
    if locaux == 0:
        if valid is None:
            return [
                "Aucun local n'est recensé dans la zone et aucune carte de couverture n'a été "
                "fournie : sa desserte ne peut être qualifiée."
            ]
        return [
            "Aucun local n'est recensé dans la zone et la carte de couverture ne renseigne que "
            f"{share_text(valid)} de sa surface : sa desserte ne peut être qualifiée."
        ]
    out = [
        f"Elle compte {locaux_count(locaux)} répartis dans "
        f"{plural(c.integer(row, 'premises') or 0, 'bâtiment')}.",
        f"{share_text(thd30)} des locaux ont accès au {THD30_TEXT} et {share_text(bhd8)} au "
        f"{BHD8_TEXT}.",
    ]
    thd100, thd1g = c.value(row, "share_thd100"), c.value(row, "share_thd1g")
    if thd100 is not None and thd1g is not None:
        out.append(
            f"Débits d'au moins 100{MBPS} : {share_text(thd100)} des locaux ; d'au moins "
            f"1{GBPS} : {share_text(thd1g)}."
        )
    if (ftth := c.value(row, "share_ftth")) is not None:
        out.append(
            f"La fibre optique jusqu'au local (FttH) est disponible pour {share_text(ftth)} des "
            "locaux dont l'éligibilité est connue."
        )
    if r30 is not None:
        out.append(
            f"La carte de couverture situe {share_text(r30)} de la surface renseignée de la zone "
            f"à {GE}30{MBPS}."
        )
    return out


def _commune_finding(row: Mapping[str, Any]) -> str:
    thd30 = c.value(row, "commune_share_thd30")
    bhd8 = c.value(row, "commune_share_bhd8")
    start = (
        "Aucun local n'est recensé dans la zone : sa desserte est estimée d'après les "
        "statistiques communales de l'Arcep"
    )
    if thd30 is None:
        ftth = c.value(row, "commune_share_ftth")
        return (
            f"{start} ; la fibre optique (FttH) est raccordable pour {share_text(ftth)} des "
            "locaux de la commune, le bon haut débit n'y étant pas mesuré."
        )
    tail = f" et {share_text(bhd8)} au {BHD8_TEXT}" if bhd8 is not None else ""
    return (
        f"{start} : {share_text(thd30)} des locaux de la commune ont accès au {THD30_TEXT}{tail}."
    )


def _assessment(row: Mapping[str, Any], result: AnalysisResult) -> list[str]:
    params = result.run.params
    status = c.text(row, "status")
    of = {"raster": "de sa surface renseignée", "commune": "des locaux de sa commune"}.get(
        c.text(row, "status_basis") or "", "de ses locaux"
    )
    thd30, bhd8 = effective_share(row, "share_thd30"), effective_share(row, "share_bhd8")
    land = c.value(row, "available_land_ha") or 0.0
    locaux = c.integer(row, "locaux") or 0
    at_least = "au moins " if thd30_lower_bound(row) else ""
    if status == ZoneStatus.SERVED.value:
        out = [
            f"La zone est bien desservie : {at_least}{share_text(thd30)} {of} ont accès au très "
            "haut débit, "
            f"au-delà du seuil de {fr_percent(params.served_thd30_share)}. La couverture "
            "numérique ne constitue pas un frein à l'implantation ou au développement "
            "d'entreprises sur ce site."
        ]
        if land > 0:
            out.append(
                "Cette desserte est un atout pour la commercialisation des "
                f"{fr_hectares(land)} de foncier disponible."
            )
        return out
    if status == ZoneStatus.UNDERSERVED.value and thd30_lower_bound(row):
        out = [
            "La zone est mal desservie : la fibre optique (FttH) n'est raccordable que pour "
            f"{share_text(thd30)} {of}, la part des locaux à {GE}30{MBPS} n'y étant pas "
            f"mesurée ; cette part minimale reste en deçà du seuil de "
            f"{fr_percent(params.served_thd30_share)} retenu pour une zone bien desservie."
        ]
    elif status == ZoneStatus.UNDERSERVED.value and bhd8 is None:
        out = [
            f"La zone est mal desservie : le très haut débit n'atteint que {share_text(thd30)} "
            f"{of}, en deçà du seuil de {fr_percent(params.served_thd30_share)} retenu pour une "
            "zone bien desservie."
        ]
    elif status == ZoneStatus.UNDERSERVED.value:
        out = [
            f"La zone est mal desservie : le bon haut débit atteint {share_text(bhd8)} {of}, "
            f"mais le très haut débit seulement {share_text(thd30)}, en deçà du seuil de "
            f"{fr_percent(params.served_thd30_share)} retenu pour une zone bien desservie."
        ]
    elif status == ZoneStatus.UNSERVED.value:
        out = [
            f"La zone est non desservie : seuls {share_text(bhd8)} {of} disposent du bon haut "
            f"débit, en deçà du seuil de {fr_percent(params.unserved_bhd8_share)}, et "
            f"{share_text(thd30)} du très haut débit."
        ]
    else:
        return [
            "Les données disponibles ne permettent pas de qualifier la desserte de la zone : "
            "aucun local n'y est recensé et la carte de couverture est absente ou insuffisante. "
            "Aucune appréciation ne peut être portée à ce stade."
        ]
    out.append(_stake(locaux, land))
    return out


def _stake(locaux: int, land: float) -> str:
    if locaux > 0 and land > 0:
        return (
            f"Ce déficit pèse sur les {locaux_count(locaux)} de la zone et sur l'attractivité "
            f"des {fr_hectares(land)} de foncier disponible pour de nouvelles implantations."
        )
    if locaux > 0:
        return (
            f"Ce déficit pèse sur les {locaux_count(locaux)} de la zone ; aucun foncier "
            "disponible n'y est recensé."
        )
    if land > 0:
        return (
            f"Ce déficit pèse sur l'attractivité des {fr_hectares(land)} de foncier disponible, "
            "alors qu'aucun local n'est encore recensé dans la zone."
        )
    return (
        "La zone ne compte ni local recensé ni foncier disponible : l'enjeu est limité à "
        "court terme."
    )


def _recommendation(
    row: Mapping[str, Any], result: AnalysisResult, options: c.OpinionOptions, flagged: int
) -> Recommendation:
    params = result.run.params
    status = c.text(row, "status")
    priority, rank = c.value(row, "priority"), c.integer(row, "rank")
    if status in FLAGGED and priority is not None and rank is not None:
        level = options.levels.level(priority)
        return Recommendation(
            level=level,
            label=level_label(level),
            priority=priority,
            rank=rank,
            flagged_zones=flagged,
            rationale=(
                f"Priorité calculée de {priority_text(priority)}, au rang {fr_number(rank)} "
                f"sur {fr_number(flagged)} zones signalées du territoire analysé. "
                f"{levels_text(options.levels)}"
            ),
            method=method_text(params),
        )
    if status == ZoneStatus.SERVED.value:
        share = deciding_share_text(effective_share(row, "share_thd30"), "", thd30_lower_bound(row))
        rationale = (
            f"La zone est bien desservie ({share} en très haut débit pour un seuil de "
            f"{fr_percent(params.served_thd30_share)}) : aucune priorité d'action n'est calculée."
        )
    else:
        rationale = (
            "La desserte de la zone ne peut être qualifiée faute de données : aucune priorité "
            "n'est calculée."
        )
    return Recommendation(
        label=level_label(None, status),
        priority=priority,
        flagged_zones=flagged,
        rationale=rationale,
        method=method_text(params),
    )


def _recommendations(row: Mapping[str, Any], options: c.OpinionOptions) -> list[str]:
    status = c.text(row, "status")
    land = c.value(row, "available_land_ha") or 0.0
    locaux = c.integer(row, "locaux") or 0
    ftth = c.value(row, "share_ftth")
    if status == ZoneStatus.SERVED.value:
        out = [
            "Aucune action prioritaire n'est requise sur la desserte de la zone ; veiller au "
            "maintien de la qualité de service (très haut débit pour chaque local)."
        ]
        if land > 0:
            out.append(
                "Faire valoir la desserte en très haut débit dans la commercialisation des "
                f"{fr_hectares(land)} de foncier disponible."
            )
        return out
    if status not in FLAGGED:
        return [
            "Compléter les données de la zone (recensement des locaux, carte de couverture "
            "renseignée) avant de se prononcer sur sa desserte."
        ]
    level = options.levels.level(c.value(row, "priority") or 0.0)
    out = [
        {
            1: "Inscrire la zone parmi les priorités de l'aménagement numérique du territoire et "
            "demander à la collectivité compétente un calendrier de desserte en très haut débit.",
            2: "Programmer la desserte en très haut débit de la zone dans les prochaines étapes "
            "de l'aménagement numérique, en lien avec la collectivité compétente.",
            3: "Suivre l'évolution de la couverture de la zone et l'intégrer aux prochaines "
            "révisions des plans de déploiement du très haut débit.",
        }[level]
    ]
    if land > 0:
        out.append(
            f"Prévoir la desserte en très haut débit des {fr_hectares(land)} de "
            "foncier disponible dans les conditions d'aménagement et de commercialisation des "
            "parcelles."
        )
    if ftth is not None and ftth < 0.5:
        out.append(
            "Faire préciser aux opérateurs le calendrier des déploiements très haut débit "
            "prévus sur la zone, la technologie restant à leur choix."
        )
    if status == ZoneStatus.UNSERVED.value and locaux > 0:
        out.append(
            "Étudier, dans l'attente, des solutions de montée en débit pour les entreprises "
            "installées, sans préjuger de la technologie retenue."
        )
    basis = c.text(row, "status_basis")
    if basis in ("raster", "commune"):
        source = (
            "la carte de couverture ne donnant qu'une estimation par la surface"
            if basis == "raster"
            else "les statistiques communales ne décrivant pas la zone elle-même"
        )
        out.append(f"Confirmer le diagnostic par un recensement des locaux de la zone, {source}.")
    out.append(c.NEUTRALITY)
    return out


def _limits(row: Mapping[str, Any], result: AnalysisResult, position: int) -> list[str]:
    params = result.run.params
    basis = c.text(row, "status_basis")
    specific: list[str] = []
    valid = c.value(row, "raster_valid_share")
    if basis == "raster":
        specific.append(
            "Couverture estimée d'après la carte raster faute de locaux recensés dans la zone : "
            "les parts portent sur la surface, non sur les locaux."
        )
    elif basis == "commune":
        specific.append(
            "Statistiques communales seulement : les parts de couverture sont celles de la "
            "commune et non celles de la zone."
        )
    elif basis == "none":
        specific.append(
            "Ni local recensé ni carte de couverture suffisante (au moins "
            f"{fr_percent(params.min_raster_valid_share)} de la surface renseignée) : le statut "
            "de la zone est indéterminé."
        )
    if valid is not None and valid < 0.995 and basis != "none":
        specific.append(
            f"La carte de couverture ne renseigne que {share_text(valid)} de la surface de la zone."
        )
    zones = result.zones
    pairs = [(position, j) for j in c.overlapping(zones, position)]
    if (overlap := c.overlap_limit(zones, pairs)) is not None:
        specific.append(overlap)
    return c.limits(result, specific)
