"""French wording shared by the opinion builders: labels, shares, thresholds, the formula."""

from __future__ import annotations

from datetime import date
from typing import Final

from geo_service.analysis.fields import PRIORITY_DECIMALS
from geo_service.formatting import (
    GE,
    MBPS,
    fr_date,
    fr_hectares,
    fr_number,
    fr_percent,
    plural,
)
from geo_service.formatting import quoted as quoted
from geo_service.model import STATUS_WORDS, ZoneStatus
from geo_service.opinions.model import PriorityLevels
from geo_service.settings import AnalysisParams

#: French label of each zone status, as a feminine adjective of « zone » (the maps' words).
STATUS_LABELS: Final[dict[str, str]] = {
    str(status): words[0] for status, words in STATUS_WORDS.items()
}
THD30_TEXT: Final = f"très haut débit ({GE}30{MBPS})"
BHD8_TEXT: Final = f"bon haut débit ({GE}8{MBPS})"


def status_label(status: str | None) -> str:
    """French label of a zone status (``indéterminée`` for an unknown value)."""
    return STATUS_LABELS.get(str(status), STATUS_LABELS[ZoneStatus.UNKNOWN.value])


def status_count(count: int, status: str) -> str:
    """``3 non desservies``, ``1 bien desservie``."""
    label = status_label(status) if abs(count) < 2 else STATUS_WORDS[status][1]
    return f"{fr_number(count)} {label}"


def share_text(share: float | None) -> str:
    """A share as a percentage (:func:`~geo_service.formatting.fr_percent`, whose precision
    never reads 0 % or 100 % wrongly)."""
    return fr_percent(share)


#: What a zone table's THD30 share is a share of, by status basis (locaux of the zone: nothing).
SHARE_OF: Final[dict[str, str]] = {"raster": "surface", "commune": "commune"}
#: The note under a zone table saying what its THD30 shares are shares of.
SHARE_NOTE: Final = (
    f"{GE}30{MBPS} : part des locaux de la zone ; {quoted('surface')} : part de la surface "
    f"renseignée par la carte de couverture (aucun local recensé) ; {quoted('commune')} : part "
    f"des locaux de la commune selon l'Arcep, {quoted('au moins')} quand seule la part "
    f"raccordable à la fibre (FttH) est connue ; {quoted('—')} : non mesuré."
)


def deciding_share_text(share: float | None, basis: str, lower_bound: bool = False) -> str:
    """The THD30 share that decided a zone's status, as the zone tables print it: of its locaux
    (``62 %``), of the raster's known surface (``62 % (surface)``), of its commune's locaux
    (``62 % (commune)``; ``au moins 20 % (commune)`` when only the fibre share is known);
    ``—`` when unknown (see :data:`SHARE_NOTE`)."""
    if share is None or share != share:  # NaN
        return "—"
    out = f"au moins {share_text(share)}" if lower_bound else share_text(share)
    of = SHARE_OF.get(basis)
    return f"{out} ({of})" if of else out


def of_place(name: str) -> str:
    """``de Fonvelle``, ``d'Aubesque``, ``du Rove``, ``des Pennes-Mirabeau`` (French elision)."""
    if name.startswith("Le "):
        return f"du {name[3:]}"
    if name.startswith("Les "):
        return f"des {name[4:]}"
    if name[:1].lower() in "aeiouyhâàéèêîïôûœ":
        return f"d'{name}"
    return f"de {name}"


def priority_text(priority: float | None) -> str:
    """``86,4/100``: the precision that decides levels and ranks (``PRIORITY_DECIMALS``)."""
    return f"{fr_number(priority, PRIORITY_DECIMALS)}/100"


def zones_count(count: int) -> str:
    """``1 zone d'activités``, ``12 zones d'activités``."""
    return plural(count, "zone d'activités", "zones d'activités")


def locaux_count(count: int) -> str:
    """``1 local``, ``3 066 locaux``."""
    return plural(count, "local", "locaux")


def thresholds_text(params: AnalysisParams) -> str:
    """The status rules with their thresholds, in one sentence."""
    return (
        f"Une zone est dite bien desservie lorsqu'au moins "
        f"{fr_percent(params.served_thd30_share)} de ses locaux ont accès au {THD30_TEXT}, "
        f"non desservie lorsque moins de {fr_percent(params.unserved_bhd8_share)} ont accès au "
        f"{BHD8_TEXT}, mal desservie entre les deux ; sans local recensé, la carte de "
        f"couverture décide si elle renseigne au moins "
        f"{fr_percent(params.min_raster_valid_share)} de la surface de la zone."
    )


def formula_text(params: AnalysisParams) -> str:
    """The priority formula with its normalised weights and half-saturation constants."""
    access = params.priority_weight_access
    total = (
        params.priority_weight_gap
        + params.priority_weight_land
        + params.priority_weight_locaux
        + access
    )
    text = (
        "La priorité (0 à 100) pondère l'écart de couverture en très haut débit "
        f"({fr_percent(params.priority_weight_gap / total)}), le foncier disponible "
        f"({fr_percent(params.priority_weight_land / total)}, la moitié du score étant atteinte "
        f"à {fr_hectares(params.priority_land_half_ha)}) et le nombre de locaux "
        f"({fr_percent(params.priority_weight_locaux / total)}, la moitié du score à "
        f"{locaux_count(round(params.priority_locaux_half))})"
    )
    if access <= 0:
        return f"{text}."
    return (
        f"{text}, ainsi que la desserte par les transports ({fr_percent(access / total)} : "
        "mal desservie 1, partiellement 0,5, bien desservie 0 ; ignorée quand elle est "
        "inconnue)."
    )


def method_text(params: AnalysisParams) -> str:
    """The status thresholds and the priority formula: how every figure of an opinion is read."""
    return f"{thresholds_text(params)} {formula_text(params)}"


def levels_text(levels: PriorityLevels) -> str:
    """The cut-offs of the recommendation levels, in one sentence."""
    return (
        f"Niveaux retenus : priorité 1 à partir de {priority_text(levels.level1)}, priorité 2 "
        f"à partir de {priority_text(levels.level2)}, priorité 3 en deçà."
    )


def draft_notice(on: date, analysed: date) -> str:
    """The closing notice of every rendering: a draft, from which analysis, and neutral."""
    return (
        f"Projet d'avis établi par geo-service le {fr_date(on)} à partir de l'analyse du "
        f"{fr_date(analysed)}. Document de travail à relire et compléter avant toute "
        "publication ; il ne recommande aucune entreprise ni aucune technologie particulière."
    )


def level_label(level: int | None, status: str | None = None) -> str:
    """``Priorité 1``; for a zone without level, what its status means for action."""
    if level is not None:
        return f"Priorité {level}"
    if status == ZoneStatus.SERVED.value:
        return "Pas d'action prioritaire"
    return "Données à compléter"
