"""« Évolution depuis l'avis du … »: an opinion's figures beside those of the last one given.

Pure: today's :class:`~geo_service.opinions.model.Opinion` and the
:class:`~geo_service.opinions.record.OpinionRecord` of the earlier opinion in, an
:class:`~geo_service.opinions.model.Evolution` out. A figure unknown then or now has an
unknown change (never a change from or to 0); a figure the earlier opinion did not state is
said so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from geo_service.formatting import NNBSP, fr_date, fr_points, fr_signed, quoted
from geo_service.opinions.model import Evolution, EvolutionLine, KeyFigure, Opinion
from geo_service.opinions.record import OpinionRecord

UNKNOWN_CHANGE: Final = "inconnue"
NOT_STATED: Final = "non indiqué"
UNCHANGED: Final = "sans changement"


def evolution_title(previous: OpinionRecord) -> str:
    """``Évolution depuis l'avis du 3 décembre 2026``."""
    return f"Évolution depuis l'avis du {fr_date(previous.date)}"


def evolution(opinion: Opinion, previous: OpinionRecord, vintages: Mapping[str, str]) -> Evolution:
    """Today's key figures of ``opinion`` beside those ``previous`` stated.

    ``vintages`` are today's input vintages (layer → ``2026-T1``), compared with the
    earlier opinion's in the notes.
    """
    lines = [_line(figure, previous.figure(figure.column)) for figure in opinion.key_figures]
    return Evolution(
        previous_id=previous.id,
        since=previous.date,
        title=evolution_title(previous),
        lines=lines,
        notes=_notes(opinion, previous, vintages),
    )


def _line(now: KeyFigure, then: KeyFigure | None) -> EvolutionLine:
    delta = _delta(now, then)
    change = UNKNOWN_CHANGE if delta is None else change_text(delta, now.unit)
    return EvolutionLine(
        label=now.label,
        column=now.column,
        then=then.text if then is not None else NOT_STATED,
        now=now.text,
        change=change,
        delta=delta,
    )


def _delta(now: KeyFigure, then: KeyFigure | None) -> float | None:
    """now − then, shares in percentage points; None when either value is unknown."""
    if then is None or now.value is None or then.value is None or then.unit != now.unit:
        return None
    delta = float(now.value) - float(then.value)
    return 100.0 * delta if now.unit == "%" else delta


def change_text(delta: float, unit: str) -> str:
    """``+12,5 points``, ``−3 locaux``… (French); ``sans changement`` for no change."""
    decimals = 1 if unit in ("%", "ha") or not float(delta).is_integer() else 0
    if round(delta, decimals) == 0:
        return UNCHANGED
    if unit == "%":
        return fr_points(delta)
    number = fr_signed(delta, decimals)
    return f"{number}{NNBSP}{unit}" if unit else number


def _notes(opinion: Opinion, previous: OpinionRecord, vintages: Mapping[str, str]) -> list[str]:
    notes = []
    if opinion.status_label is not None and previous.status_label is not None:
        if opinion.status_label != previous.status_label:
            notes.append(
                f"Statut : zone {previous.status_label} le {fr_date(previous.date)}, "
                f"zone {opinion.status_label} aujourd'hui."
            )
        else:
            notes.append(f"Statut inchangé : zone {opinion.status_label}.")
    if opinion.recommendation.label != previous.recommendation:
        notes.append(
            f"Recommandation : {quoted(previous.recommendation)} le {fr_date(previous.date)}, "
            f"{quoted(opinion.recommendation.label)} aujourd'hui."
        )
    titles = {source.layer: source.title for source in opinion.sources}
    notes += _vintage_notes(previous.vintages, vintages, titles)
    if previous.params != opinion.params:
        notes.append(
            "Les seuils ou pondérations de l'analyse ont changé depuis l'avis précédent : "
            "les chiffres ne sont comparables qu'avec prudence."
        )
    return notes


def _vintage_notes(
    then: Mapping[str, str], now: Mapping[str, str], titles: Mapping[str, str]
) -> list[str]:
    changed = [
        f"{titles.get(layer, layer)} : {then.get(layer, 'non millésimé')} → "
        f"{now.get(layer, 'non millésimé')}"
        for layer in sorted({*then, *now})
        if then.get(layer) != now.get(layer)
    ]
    if not changed:
        if now:
            return ["Données des mêmes millésimes que l'avis précédent."]
        return []
    return ["Millésimes des données : " + " ; ".join(changed) + "."]
