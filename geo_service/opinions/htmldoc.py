"""An opinion as one self-contained, printable HTML file (the source of the PDF too).

Everything is inline: the CSS (with ``@page`` rules for A4 printing), the static map as a
base64 PNG. Every string that comes from the data is escaped.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from html import escape
from typing import Final

from geo_service.formatting import GE, MBPS, fr_date, fr_hectares, fr_number, plural
from geo_service.maps.style import STATUS_TEXT_COLOURS
from geo_service.opinions.model import Evolution, Opinion, OpinionKind, Trend, TrendLine, ZoneLine
from geo_service.opinions.sections import Section, numbered_titles
from geo_service.opinions.wording import SHARE_NOTE, draft_notice, priority_text

_KICKER: Final = "Projet d'avis — desserte numérique des zones d'activités économiques"
_SYNTHETIC: Final = (
    "Données synthétiques — territoire de démonstration. Les lieux, les noms et les chiffres de "
    "ce document sont fictifs."
)
#: The stylesheet of the HTML and PDF opinions (the PDF renderer parses it once per process).
STYLESHEET: Final = """
@page {
  size: A4;
  margin: 16mm 15mm 18mm 15mm;
  @bottom-left { content: "geo-service — projet d'avis"; font-size: 7.5pt; color: #666; }
  @bottom-right {
    content: "Page " counter(page) " / " counter(pages); font-size: 7.5pt; color: #666;
  }
}
@page synthetic {
  @top-center {
    content: "DONNÉES SYNTHÉTIQUES — DOCUMENT DE DÉMONSTRATION";
    font-size: 7.5pt; color: #a4161a; letter-spacing: 0.08em;
  }
}
html { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; font-size: 9.5pt;
  color: #1d1d1d; line-height: 1.42; }
body { margin: 0 auto; max-width: 190mm; padding: 0 4mm; }
body.synthetic { page: synthetic; }
h1 { font-size: 17pt; margin: 0 0 1mm; line-height: 1.2; color: #0b3954; }
h2 { font-size: 11.5pt; color: #0b3954; border-bottom: 0.6pt solid #0b3954;
  margin: 5mm 0 2mm; padding-bottom: 0.6mm; break-after: avoid; }
p { margin: 0 0 2mm; text-align: justify; hyphens: auto; }
ul { margin: 0 0 2mm; padding-left: 5mm; }
li { margin-bottom: 1mm; }
.kicker { text-transform: uppercase; letter-spacing: 0.06em; font-size: 7.5pt; color: #555;
  margin-bottom: 1.5mm; }
.subtitle { font-size: 10.5pt; color: #444; margin-bottom: 3mm; }
.banner { border: 1pt solid #a4161a; background: #fbeaea; color: #7a1014; padding: 2mm 3mm;
  margin: 0 0 3mm; font-weight: bold; font-size: 9pt; }
table { border-collapse: collapse; width: 100%; }
.summary { width: 100%; margin-bottom: 3mm; }
.summary > tbody > tr > td { vertical-align: top; padding: 0; }
.context { background: #f3f6f8; border: 0.6pt solid #c9d3da; }
.context th, .context td { text-align: left; padding: 0.8mm 2.5mm; font-size: 8.5pt;
  vertical-align: top; }
.context th { color: #555; font-weight: normal; width: 32%; white-space: nowrap; }
.verdict { border: 0.8pt solid #0b3954; padding: 2.5mm 3mm; margin-left: 4mm; }
.verdict .label { font-size: 7.5pt; text-transform: uppercase; letter-spacing: 0.05em;
  color: #555; }
.badge { display: inline-block; font-weight: bold; font-size: 13pt; padding: 0.6mm 2.5mm;
  border-radius: 1.2mm; color: #fff; background: #5b6770; margin: 1mm 0; }
.level-1 .badge { background: #a4161a; }
.level-2 .badge { background: #c8602a; }
.level-3 .badge { background: #b08a1e; }
.level-none .badge { background: #2f7d5b; }
.verdict .status { font-weight: bold; }
.verdict p { margin: 0.8mm 0 0; text-align: left; font-size: 8.5pt; hyphens: manual; }
figure.map { margin: 3mm 0 2mm; break-inside: avoid; }
figure.map img { width: 100%; border: 0.5pt solid #bbb; }
figcaption { font-size: 7.5pt; color: #555; margin-top: 0.8mm; }
.figures th, .figures td { padding: 0.8mm 2mm; border-bottom: 0.4pt solid #d6dde2;
  font-size: 8.2pt; text-align: left; }
.figures td.value { text-align: right; font-weight: bold; white-space: nowrap; width: 12%; }
.figures th { font-weight: normal; }
section.annex { break-before: page; }
.evolution th, .evolution td { padding: 0.8mm 2mm; border-bottom: 0.4pt solid #d6dde2;
  font-size: 8.2pt; text-align: left; }
.evolution td.num { text-align: right; white-space: nowrap; }
.evolution thead th { color: #555; }
.evolution table { break-inside: avoid; }
.zones table { font-size: 7.8pt; }
.zones th { background: #0b3954; color: #fff; font-weight: bold; text-align: left;
  padding: 1mm 1.5mm; }
.zones td { padding: 0.9mm 1.5mm; border-bottom: 0.4pt solid #d6dde2; vertical-align: top; }
.zones td.num { text-align: right; white-space: nowrap; }
.zones td.share { white-space: normal; }
.zones th.unit { white-space: nowrap; }
.zones .note { font-size: 7pt; color: #555; margin-top: 0.8mm; }
.zones tr { break-inside: avoid; }
.zone-id { color: #666; font-size: 7pt; }
.status-unserved { font-weight: bold; }
.method { font-size: 8pt; color: #444; background: #f6f6f6; padding: 1.5mm 2.5mm; }
.sources th, .sources td { font-size: 8pt; padding: 1mm 1.5mm; text-align: left;
  border-bottom: 0.4pt solid #d6dde2; vertical-align: top; }
.sources th { color: #555; font-weight: bold; }
.sources td.date { white-space: nowrap; }
table.sources { break-inside: avoid; }
.attribution { color: #666; }
.links p { text-align: left; }
.links a { color: #0b3954; word-break: break-all; }
pre { white-space: pre-wrap; word-break: break-all; font-size: 7.5pt; background: #f3f6f8;
  border: 0.5pt solid #c9d3da; padding: 1.5mm 2mm; margin: 0 0 2mm; }
footer { margin-top: 5mm; font-size: 7.5pt; color: #666; border-top: 0.4pt solid #ccc;
  padding-top: 1.5mm; }
@media screen { body { padding: 8mm 6mm; } }
""" + "".join(
    f".status-{status} {{ color: {colour}; }}\n" for status, colour in STATUS_TEXT_COLOURS.items()
)


def render_html(
    opinion: Opinion, map_png: bytes | None = None, *, inline_stylesheet: bool = True
) -> str:
    """The opinion as a self-contained HTML document.

    Parameters
    ----------
    opinion
        The structured opinion.
    map_png
        Static map of the subject (PNG), embedded as a data URI; none when None.
    inline_stylesheet
        Embed :data:`STYLESHEET` in a ``<style>`` element; without it, for a renderer that
        applies the stylesheet itself (:func:`geo_service.opinions.pdf.render_pdf`).
    """
    body_class = "synthetic" if opinion.synthetic else ""
    titles = numbered_titles(opinion)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="fr">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(f'Avis — {opinion.title}')}</title>",
        '<meta name="generator" content="geo-service">',
        f"<style>{STYLESHEET}</style>" if inline_stylesheet else "",
        "</head>",
        f'<body class="{body_class}">',
        _header(opinion),
        _summary(opinion),
        _figures(opinion),
        _evolution(opinion.evolution),
        _trend(opinion.trend),
        _map(opinion, map_png),
        _zones(opinion) if opinion.kind == OpinionKind.COMMUNE else "",
        _section(titles[Section.FINDINGS], _list(opinion.findings)),
        _section(
            titles[Section.ASSESSMENT], "".join(f"<p>{escape(p)}</p>" for p in opinion.assessment)
        ),
        _access(opinion, titles),
        _recommendation(opinion, titles[Section.RECOMMENDATION]),
        _section(titles[Section.LIMITS], _list(opinion.limits)),
        _sources(opinion, titles[Section.SOURCES]),
        _links(opinion),
        _footer(opinion),
        _zones(opinion) if opinion.kind == OpinionKind.TERRITORY else "",
        "</body>",
        "</html>",
    ]
    return "\n".join(p for p in parts if p)


def _header(opinion: Opinion) -> str:
    banner = f'<div class="banner">{escape(_SYNTHETIC)}</div>' if opinion.synthetic else ""
    return (
        f'<header><div class="kicker">{escape(_KICKER)}</div>'
        f"<h1>{escape(opinion.title)}</h1>"
        f'<div class="subtitle">{escape(opinion.subtitle)}</div></header>{banner}'
    )


def _summary(opinion: Opinion) -> str:
    rows = "".join(
        f"<tr><th>{escape(item.label)}</th><td>{escape(item.value)}</td></tr>"
        for item in [*opinion.context]
    )
    rows += f"<tr><th>Date de l'avis</th><td>{escape(fr_date(opinion.date))}</td></tr>"
    context = f'<table class="context">{rows}</table>'
    return (
        f'<table class="summary"><tr><td style="width:58%">{context}</td>'
        f"<td>{_verdict(opinion)}</td></tr></table>"
    )


def _verdict(opinion: Opinion) -> str:
    rec = opinion.recommendation
    level = f"level-{rec.level}" if rec.level is not None else "level-none"
    lines = []
    if opinion.kind == OpinionKind.ZONE:
        lines.append(
            f'<p class="status status-{escape(opinion.status or "unknown")}">Zone '
            f"{escape(opinion.status_label or '')}</p>"
        )
        if rec.priority is not None and rec.rank is not None:
            lines.append(
                f"<p>Priorité {escape(priority_text(rec.priority))} — rang "
                f"{fr_number(rec.rank)} sur {fr_number(rec.flagged_zones)} zones signalées</p>"
            )
    elif rec.zones_by_level:
        counts = ", ".join(
            f"{escape(plural(n, 'zone'))} en priorité {level}"
            for level, n in sorted(rec.zones_by_level.items())
        )
        lines.append(f"<p>Zones signalées : {counts}</p>")
    return (
        f'<div class="verdict {level}"><div class="label">Recommandation pour l\'action '
        f'très haut débit</div><div class="badge">{escape(rec.label)}</div>{"".join(lines)}</div>'
    )


def _map(opinion: Opinion, map_png: bytes | None) -> str:
    if map_png is None:
        return ""
    data = base64.b64encode(map_png).decode("ascii")
    what = {
        OpinionKind.ZONE: "la zone, le foncier disponible et les bâtiments par classe de débit",
        OpinionKind.COMMUNE: "la commune et ses zones d'activités par statut",
        OpinionKind.TERRITORY: "les zones d'activités par statut, numérotées par rang de priorité",
    }[opinion.kind]
    alt = f"Carte de {what} — {opinion.subject}"
    link = ""
    if opinion.links is not None:
        url = escape(opinion.links.map_url)
        link = f' Carte interactive : <a href="{url}">{url}</a>'
    return (
        f'<figure class="map"><img src="data:image/png;base64,{data}" alt="{escape(alt)}">'
        f"<figcaption>Carte : {escape(what)}.{link}</figcaption></figure>"
    )


def _figures(opinion: Opinion) -> str:
    cells = [
        f'<th>{escape(f.label)}</th><td class="value">{escape(f.text)}</td>'
        for f in opinion.key_figures
    ]
    if len(cells) % 2:
        cells.append("<th></th><td></td>")
    rows = "".join(f"<tr>{cells[i]}{cells[i + 1]}</tr>" for i in range(0, len(cells), 2))
    return _section("Chiffres clés", f'<table class="figures">{rows}</table>')


def _evolution(evolution: Evolution | None) -> str:
    """« Évolution depuis l'avis du … »: the earlier figures, today's and the change."""
    if evolution is None:
        return ""
    then = f"Avis du {fr_date(evolution.since)}"
    head = (
        f"<thead><tr><th>Indicateur</th><th>{escape(then)}</th><th>Aujourd'hui</th>"
        "<th>Évolution</th></tr></thead>"
    )
    rows = "".join(
        f'<tr><th>{escape(line.label)}</th><td class="num">{escape(line.then)}</td>'
        f'<td class="num">{escape(line.now)}</td><td class="num">{escape(line.change)}</td></tr>'
        for line in evolution.lines
    )
    intro = (
        f"<p>Comparaison avec l'avis n° {escape(evolution.previous_id)} du "
        f"{escape(fr_date(evolution.since))}, tel qu'archivé.</p>"
    )
    notes = _list(evolution.notes) if evolution.notes else ""
    body = f"{intro}<table>{head}<tbody>{rows}</tbody></table>{notes}"
    return f'<section class="evolution">{_heading(evolution.title)}{body}</section>'


def _trend(trend: Trend | None) -> str:
    """The territory's page on coverage over time (persistent gaps, most improved zones)."""
    if trend is None:
        return ""
    body = _list(trend.summary)
    for title, found in (
        (f"Zones signalées à chaque millésime depuis {trend.since}", trend.persistent),
        (f"Zones dont la couverture a le plus progressé depuis {trend.since}", trend.improved),
    ):
        body += f"<h3>{escape(title)}</h3>{_trend_rows(found, trend)}"
    return f'<section class="evolution">{_heading(trend.title)}{body}</section>'


def _trend_rows(lines: list[TrendLine], trend: Trend) -> str:
    if not lines:
        return "<p>Aucune.</p>"
    head = (
        f"<thead><tr><th>Zone</th><th>Commune</th><th>Statut</th><th>{escape(trend.since)}</th>"
        f"<th>{escape(trend.latest)}</th><th>Évolution</th></tr></thead>"
    )
    rows = "".join(
        f'<tr><th>{escape(line.name)}<br><span class="zone-id">{escape(line.zone_id)}</span></th>'
        f"<td>{escape(line.commune)}</td><td>{escape(line.status_label)}</td>"
        f'<td class="num">{escape(line.then)}</td><td class="num">{escape(line.now)}</td>'
        f'<td class="num">{escape(line.change)}</td></tr>'
        for line in lines
    )
    return f"<table>{head}<tbody>{rows}</tbody></table>"


def _zones(opinion: Opinion) -> str:
    if not opinion.zones:
        return ""
    if opinion.kind == OpinionKind.TERRITORY:
        title, css = "Annexe — zones signalées par ordre de priorité", "zones annex"
    else:
        title, css = "Zones d'activités de la commune", "zones"
    with_commune = opinion.kind == OpinionKind.TERRITORY
    head = (
        "<thead><tr><th>Rang</th><th>Zone</th>"
        + ("<th>Commune</th>" if with_commune else "")
        + f'<th>Statut</th><th class="unit">{GE}30{MBPS}</th><th>Locaux</th><th>Foncier</th>'
        "<th>Priorité</th><th>Niveau</th></tr></thead>"
    )
    rows = "".join(_zone_row(z, with_commune) for z in opinion.zones)
    note = f'<p class="note">{escape(SHARE_NOTE)}</p>'
    table = f"<table>{head}<tbody>{rows}</tbody></table>{note}"
    return f'<section class="{css}">{_heading(title)}{table}</section>'


def _zone_row(zone: ZoneLine, with_commune: bool) -> str:
    commune = zone.commune_name or zone.commune_insee or "—"
    cells = [
        f'<td class="num">{fr_number(zone.rank) if zone.rank is not None else "—"}</td>',
        f"<td>{_linked(zone.name, zone.map_url)}<br>"
        f'<span class="zone-id">{escape(zone.zone_id)}</span></td>',
        f"<td>{escape(commune)}</td>" if with_commune else "",
        f'<td class="status-{escape(zone.status)}">{escape(zone.status_label)}</td>',
        f'<td class="num share">{escape(zone.share_thd30_text)}</td>',
        f'<td class="num">{fr_number(zone.locaux)}</td>',
        f'<td class="num">{escape(fr_hectares(zone.available_land_ha))}</td>',
        f'<td class="num">{escape(priority_text(zone.priority)) if zone.rank else "—"}</td>',
        f'<td class="num">{zone.level if zone.level is not None else "—"}</td>',
    ]
    return f"<tr>{''.join(cells)}</tr>"


def _recommendation(opinion: Opinion, title: str) -> str:
    rec = opinion.recommendation
    body = (
        f"<p><strong>{escape(rec.label)}.</strong> {escape(rec.rationale)}</p>"
        f"{_list(opinion.recommendations)}"
        f'<p class="method"><strong>Méthode.</strong> {escape(rec.method)}</p>'
    )
    return _section(title, body)


def _sources(opinion: Opinion, title: str) -> str:
    head = "<tr><th>Couche</th><th>Source</th><th>Licence</th><th>Date des données</th></tr>"
    rows = "".join(
        f"<tr><td>{escape(s.title)}{' (synthétique)' if s.synthetic else ''}</td>"
        f"<td>{escape(s.source)}{_attribution(s.attribution)}</td>"
        f'<td>{escape(s.licence)}</td><td class="date">{escape(fr_date(s.data_date))}</td></tr>'
        for s in opinion.sources
    )
    return _section(title, f'<table class="sources">{head}{rows}</table>')


def _linked(text: str, url: str | None) -> str:
    """``text`` escaped, as a link to ``url`` when there is one."""
    return f'<a href="{escape(url)}">{escape(text)}</a>' if url else escape(text)


def _attribution(text: str) -> str:
    return f'<br><span class="attribution">{escape(text)}</span>' if text else ""


def _links(opinion: Opinion) -> str:
    links = opinion.links
    if links is None:
        return ""
    body = (
        f'<p>Carte interactive : <a href="{escape(links.map_url)}">{escape(links.map_url)}</a>'
        "</p><p>Pour l'intégrer à une page web :</p>"
        f"<pre>{escape(links.iframe)}</pre>"
        f'<p>Données (API) : <a href="{escape(links.api_url)}">{escape(links.api_url)}</a></p>'
    )
    return f'<section class="links">{_heading("Carte interactive et données")}{body}</section>'


def _footer(opinion: Opinion) -> str:
    return f"<footer>{escape(draft_notice(opinion.date, opinion.analyzed_at.date()))}</footer>"


def _access(opinion: Opinion, titles: dict[Section, str]) -> str:
    if Section.ACCESS not in titles:
        return ""
    body = "".join(f"<p>{escape(p)}</p>" for p in opinion.access)
    return f'<section class="access">{_heading(titles[Section.ACCESS])}{body}</section>'


def _section(title: str, body: str) -> str:
    return f"<section>{_heading(title)}{body}</section>"


def _heading(title: str) -> str:
    return f"<h2>{escape(title)}</h2>"


def _list(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"
