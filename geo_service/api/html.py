"""Plain HTML views of the OGC API documents (``f=html``): small, escaped, no script.

Every data string goes through :func:`html.escape`. Pages of synthetic data carry a French
notice saying so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any, Final

from fastapi.responses import HTMLResponse

from geo_service.api.labels import StatusText
from geo_service.api.links import Link
from geo_service.formatting import fr_number

SYNTHETIC_NOTICE: Final = (
    "Données synthétiques : territoire de démonstration fictif, ces chiffres ne décrivent "
    "aucun lieu réel."
)
_STYLE: Final = (
    "body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:70rem;padding:0 1rem}"
    "table{border-collapse:collapse;font-size:.9rem}"
    "td,th{border:1px solid #ccc;padding:.2rem .4rem;text-align:left;vertical-align:top}"
    ".notice{background:#fde8f3;border:1px solid #c0398a;"
    "padding:.5rem}nav a{margin-right:1rem}.wide{overflow-x:auto}"
    ".wide td{white-space:nowrap}.wide th{font-size:.8rem;line-height:1.15}"
    ".status{font-weight:600;white-space:nowrap}"
)
#: Header labels of a feature table wrap over about this many lines at most.
HEADER_LINES: Final = 3
#: Widest header column, in characters (longer labels take more lines).
HEADER_MAX_CH: Final = 20


def page(
    title: str, body: str, *, base: str, synthetic: bool, links: Sequence[Link] = ()
) -> HTMLResponse:
    """A complete HTML page; ``body`` must already be escaped HTML, ``base`` is the site URL."""
    notice = f'<p class="notice">{escape(SYNTHETIC_NOTICE)}</p>' if synthetic else ""
    alternates = "".join(
        anchor(x["href"], "Ce document en JSON" if "json" in x.get("type", "") else x["rel"])
        for x in links
        if x["rel"] == "alternate"
    )
    full_title = title if title == "geo-service" else f"{title} — geo-service"
    text = (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(full_title)}</title><style>{_STYLE}</style></head><body>"
        f"<nav>{anchor(base + '/?f=html', 'Accueil')}"
        f"{anchor(base + '/collections?f=html', 'Collections')}{anchor(base + '/docs', 'API')}"
        f"{alternates}</nav>"
        f"<h1>{escape(title)}</h1>{notice}{body}</body></html>"
    )
    return HTMLResponse(text)


def anchor(href: str, text: str) -> str:
    """An escaped hyperlink."""
    return f'<a href="{escape(href)}">{escape(text)}</a>'


#: French titles of the service's own link relations, on the pages for people (the JSON
#: documents keep their English titles; « related » links already have French ones).
FRENCH_LINK_TITLES: Final[dict[str, str]] = {
    "self": "Cette page",
    "alternate": "Ce document en JSON",
    "collection": "La collection",
    "describedby": "Fiche détaillée (JSON)",
}


def link_list(links: Iterable[Link], *, french: bool = False) -> str:
    """An unordered list of links, with their relation; ``french``: titled in French."""
    items = "".join(
        f"<li>{anchor(x['href'], _title(x, french))} "
        f"<small>({escape(x['rel'])}, {escape(x.get('type', ''))})</small></li>"
        for x in links
    )
    return f"<ul>{items}</ul>"


def _title(link: Link, french: bool) -> str:
    given = link.get("title") or link["href"]
    return FRENCH_LINK_TITLES.get(link["rel"], given) if french else given


def value(item: Any) -> str:
    """A property value as escaped text."""
    if item is None:
        return "—"
    if isinstance(item, StatusText):
        return f'<span class="status" style="color:{item.colour}">{escape(item)}</span>'
    if isinstance(item, list):
        return "<br>".join(escape(str(x)) for x in item)
    if isinstance(item, bool):
        return "oui" if item else "non"
    if isinstance(item, float):
        return escape(fr_number(item, 0 if item.is_integer() else 3))
    if isinstance(item, int):
        return escape(fr_number(item))
    return escape(str(item))


def key_values(pairs: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of names and values."""
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{value(v)}</td></tr>" for k, v in pairs)
    return f"<table>{rows}</table>"


def feature_table(
    rows: Sequence[tuple[str, dict[str, Any]]], columns: Sequence[str], link: str
) -> str:
    """A table of features: ``(href, properties)`` rows, one column per property, the cell
    of column ``link`` a link to the feature. Values stay on one line; each column is wide
    enough for its label to take at most :data:`HEADER_LINES` lines (short labels over
    long values take the values' width)."""
    head = "".join(f'<th style="min-width:{header_width(c)}ch">{escape(c)}</th>' for c in columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{_cell(props.get(c), href if c == link else None)}</td>" for c in columns)
        + "</tr>"
        for href, props in rows
    )
    return (
        f'<div class="wide"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def header_width(label: str) -> int:
    """Characters of a column for ``label`` to wrap over at most :data:`HEADER_LINES` lines
    (up to :data:`HEADER_MAX_CH`), never narrower than its longest word."""
    longest = max((len(word) for word in label.split()), default=0)
    return max(longest, min(HEADER_MAX_CH, -(-len(label) // HEADER_LINES)))


def _cell(item: Any, href: str | None) -> str:
    if href is None:
        return value(item)
    return anchor(href, item if isinstance(item, str) and item else "—")
