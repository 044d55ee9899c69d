"""An opinion as Markdown, to paste into a report (CommonMark with pipe tables)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from geo_service.formatting import GE, MBPS, fr_date, fr_hectares, fr_number
from geo_service.opinions.model import Opinion, OpinionKind
from geo_service.opinions.sections import Section, numbered_titles
from geo_service.opinions.wording import SHARE_NOTE, draft_notice, priority_text

_SPECIAL: Final = re.compile(r"([\\`*_\[\]<>|~])")
_LEADING: Final = re.compile(r"^([#+=-])")
#: Line breaks and ASCII blanks (not the narrow no-break spaces of French figures).
_BLANKS: Final = re.compile(r"[ \t\r\n\f\v]+")


def md_escape(text: str) -> str:
    """``text`` on one line, with the characters that Markdown would interpret escaped."""
    one_line = _BLANKS.sub(" ", text).strip()
    return _LEADING.sub(r"\\\1", _SPECIAL.sub(r"\\\1", one_line))


def render_markdown(opinion: Opinion) -> str:
    """The opinion as a Markdown document."""
    lines = [f"# {md_escape(opinion.title)}", "", f"*{md_escape(opinion.subtitle)}*", ""]
    if opinion.synthetic:
        lines += [
            "> **Données synthétiques** — territoire de démonstration : les lieux, les noms et "
            "les chiffres de ce document sont fictifs.",
            "",
        ]
    rec = opinion.recommendation
    context = [(item.label, item.value) for item in opinion.context]
    context.append(("Date de l'avis", fr_date(opinion.date)))
    if opinion.status_label is not None:
        context.append(("Statut", f"zone {opinion.status_label}"))
    context.append(("Recommandation", rec.label))
    lines += _table(("", ""), context)
    lines += ["", "## Chiffres clés", ""]
    lines += _table(("Indicateur", "Valeur"), [(f.label, f.text) for f in opinion.key_figures])
    lines += _evolution(opinion)
    lines += _trend(opinion)
    if opinion.kind != OpinionKind.ZONE and opinion.zones:
        title = (
            "Zones signalées par ordre de priorité"
            if opinion.kind == OpinionKind.TERRITORY
            else "Zones d'activités de la commune"
        )
        lines += ["", f"## {title}", ""]
        lines += _table(
            ("Rang", "Zone", "Commune", "Statut", f"{GE}30{MBPS}", "Locaux", "Foncier", "Priorité"),
            [
                (
                    fr_number(z.rank) if z.rank is not None else "—",
                    f"{z.name} ({z.zone_id})",
                    z.commune_name or z.commune_insee or "—",
                    z.status_label,
                    z.share_thd30_text,
                    fr_number(z.locaux),
                    fr_hectares(z.available_land_ha),
                    priority_text(z.priority) if z.rank is not None else "—",
                )
                for z in opinion.zones
            ],
        )
        lines += ["", md_escape(SHARE_NOTE)]
    titles = numbered_titles(opinion)
    lines += ["", f"## {titles[Section.FINDINGS]}", "", *_bullets(opinion.findings)]
    lines += ["", f"## {titles[Section.ASSESSMENT]}", ""]
    for paragraph in opinion.assessment:
        lines += [md_escape(paragraph), ""]
    if Section.ACCESS in titles:
        lines += [f"## {titles[Section.ACCESS]}", ""]
        for paragraph in opinion.access:
            lines += [md_escape(paragraph), ""]
    lines += [f"## {titles[Section.RECOMMENDATION]}", ""]
    lines += [f"**{md_escape(rec.label)}.** {md_escape(rec.rationale)}"]
    lines += ["", *_bullets(opinion.recommendations), "", f"*Méthode.* {md_escape(rec.method)}"]
    lines += ["", f"## {titles[Section.LIMITS]}", "", *_bullets(opinion.limits)]
    lines += ["", f"## {titles[Section.SOURCES]}", ""]
    lines += _table(
        ("Couche", "Source", "Licence", "Date des données"),
        [
            (
                s.title + (" (synthétique)" if s.synthetic else ""),
                s.source,
                s.licence,
                fr_date(s.data_date),
            )
            for s in opinion.sources
        ],
    )
    links = opinion.links
    if links is not None:
        lines += [
            "",
            "## Carte interactive et données",
            "",
            f"- Carte interactive : <{links.map_url}>",
            f"- Données (API) : <{links.api_url}>",
            "",
            "Pour intégrer la carte à une page web :",
            "",
            "```html",
            links.iframe,
            "```",
        ]
    lines += [
        "",
        f"*{md_escape(draft_notice(opinion.date, opinion.analyzed_at.date()))}*",
        "",
    ]
    return "\n".join(lines)


def _evolution(opinion: Opinion) -> list[str]:
    """« Évolution depuis l'avis du … » (nothing without an earlier opinion)."""
    evolution = opinion.evolution
    if evolution is None:
        return []
    since = fr_date(evolution.since)
    lines = ["", f"## {md_escape(evolution.title)}", ""]
    intro = f"Comparaison avec l'avis n° {evolution.previous_id} du {since}, tel qu'archivé."
    lines += [md_escape(intro), ""]
    lines += _table(
        ("Indicateur", f"Avis du {since}", "Aujourd'hui", "Évolution"),
        [(line.label, line.then, line.now, line.change) for line in evolution.lines],
    )
    if evolution.notes:
        lines += ["", *_bullets(evolution.notes)]
    return lines


def _trend(opinion: Opinion) -> list[str]:
    """The territory's page on coverage over time (nothing without history)."""
    trend = opinion.trend
    if trend is None:
        return []
    lines = ["", f"## {md_escape(trend.title)}", "", *_bullets(trend.summary)]
    for title, found in (
        (f"Zones signalées à chaque millésime depuis {trend.since}", trend.persistent),
        (f"Zones dont la couverture a le plus progressé depuis {trend.since}", trend.improved),
    ):
        lines += ["", f"### {md_escape(title)}", ""]
        if not found:
            lines.append("Aucune.")
            continue
        lines += _table(
            ("Zone", "Commune", "Statut", trend.since, trend.latest, "Évolution"),
            [
                (f"{z.name} ({z.zone_id})", z.commune, z.status_label, z.then, z.now, z.change)
                for z in found
            ],
        )
    return lines


def _bullets(items: Iterable[str]) -> list[str]:
    return [f"- {md_escape(item)}" for item in items]


def _table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> list[str]:
    out = [
        "| " + " | ".join(md_escape(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    out += ["| " + " | ".join(md_escape(cell) for cell in row) + " |" for row in rows]
    return out
