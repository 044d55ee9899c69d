"""The home page for people: what a planner opening the service in a browser looks for.

``/`` asked for by a browser (HTML preferred, no ``f``) gives this French page: the territory
map, the zones by status, the flagged zones by rank with their maps and opinions, the
territory opinion, the layers with their sources and dates, and the ways in for programs.
The OGC landing page stays at ``/`` as JSON and at ``/?f=html``.
"""

from __future__ import annotations

from html import escape
from typing import Final

import numpy as np
from fastapi import Request
from fastapi.responses import HTMLResponse

from geo_service import pipeline
from geo_service.analysis.aggregate import status_counts
from geo_service.analysis.fields import PRIORITY_DECIMALS
from geo_service.api import html
from geo_service.api.collections import COLLECTIONS
from geo_service.api.deps import is_synthetic
from geo_service.api.features import feature_index
from geo_service.api.labels import StatusText
from geo_service.api.links import base_url, segment
from geo_service.errors import GeoServiceError
from geo_service.formatting import fr_date, fr_number
from geo_service.maps.style import STATUS_ORDER
from geo_service.model import LayerMeta
from geo_service.workspace import Workspace

#: Flagged zones listed on the home page (the rest: the map and the territory opinion).
LISTED_ZONES: Final = 15


def home_page(request: Request, workspace: Workspace) -> HTMLResponse:
    """The French home page of the service."""
    base = base_url(request)
    sections = [
        f'<nav><a href="{escape(base)}/maps/territory">Carte du territoire</a>'
        f'<a href="{escape(base)}/territory/opinion?f=html">Avis sur le territoire</a>'
        f'<a href="{escape(base)}/territory/opinion?f=pdf">Avis (PDF)</a></nav>',
        _zones_section(workspace, base),
        _layers_section(workspace),
        _programs_section(base),
    ]
    return html.page(
        "Desserte numérique des zones d'activités",
        "".join(sections),
        base=base,
        synthetic=is_synthetic(workspace),
    )


def _zones_section(workspace: Workspace, base: str) -> str:
    try:
        zones = workspace.results().zones
    except GeoServiceError:
        return (
            "<p>Aucune analyse n'est encore enregistrée : importez les couches puis lancez "
            "<code>geo-service analyze</code>.</p>"
        )
    counts = status_counts(zones)
    rows = "".join(
        f"<tr><th>{html.value(StatusText(s))}</th><td>{fr_number(counts.get(s, 0))}</td></tr>"
        for s in STATUS_ORDER
    )
    index = feature_index(workspace, COLLECTIONS["zones"])
    ranked = index.select(sortby=[("rank", False)])
    order = np.arange(index.size) if ranked is None else ranked
    every = [p for p in index.properties(order) if p.get("rank") is not None]
    flagged = every[:LISTED_ZONES]
    listed = (
        f"les {fr_number(len(flagged))} premières sur {fr_number(len(every))} zones signalées"
        if len(every) > len(flagged)
        else f"{fr_number(len(every))} zones signalées"
    )
    items = "".join(
        "<tr><td>{rank}</td><td>{name}</td><td>{status}</td><td>{priority}/100</td>"
        '<td><a href="{base}/maps/zones/{zone}">carte</a> · '
        '<a href="{base}/zones/{zone}/opinion?f=html">avis</a></td></tr>'.format(
            rank=escape(str(p["rank"])),
            name=escape(str(p["name"])),
            status=html.value(StatusText(str(p["status"]))),
            priority=escape(fr_number(p["priority"], PRIORITY_DECIMALS)),
            base=escape(base),
            zone=escape(segment(str(p["zone_id"]))),
        )
        for p in flagged
    )
    return (
        f"<h2>Zones d'activités par statut ({fr_number(len(zones))})</h2>"
        f"<table>{rows}</table>"
        f"<h2>Zones prioritaires</h2><p>Par rang de priorité : {listed} "
        f'(<a href="{escape(base)}/collections/zones/items?f=html&amp;sortby=rank">toutes les '
        "zones</a>).</p>"
        "<table><tr><th>Rang</th><th>Zone</th><th>Statut</th><th>Priorité</th>"
        f"<th></th></tr>{items}</table>"
    )


def _layers_section(workspace: Workspace) -> str:
    rows = "".join(
        f"<tr><td>{escape(meta.title)}{_vintages(meta, older)}</td><td>{escape(meta.source)}</td>"
        f"<td>{escape(fr_date(meta.data_date))}</td><td>{escape(meta.licence)}</td></tr>"
        for meta, older in pipeline.grouped_vintages(workspace.store.list_layers())
    )
    return (
        "<h2>Données</h2><table><tr><th>Couche</th><th>Source</th><th>Date des données</th>"
        f"<th>Licence</th></tr>{rows}</table>"
    )


def _vintages(meta: LayerMeta, older: list[LayerMeta]) -> str:
    """« millésime 2018-T1 ; précédents, en lecture seule : 2017-T3, 2017-T4 » (or nothing)."""
    if meta.vintage is None and not older:
        return ""
    parts = [f"millésime {meta.vintage}"] if meta.vintage else []
    if older:
        labels = ", ".join(str(m.vintage) for m in older)
        parts.append(f"précédents, en lecture seule : {labels}")
    return f"<br><small>{escape(' ; '.join(parts))}</small>"


def _programs_section(base: str) -> str:
    links = [
        (f"{base}/?f=html", "Page d'accueil OGC API (QGIS, GDAL, OWSLib)"),
        (f"{base}/collections?f=html", "Collections"),
        (f"{base}/docs", "Documentation de l'API"),
        (f"{base}/openapi.json", "Définition OpenAPI"),
        (f"{base}/tileMatrixSets", "Tuiles vectorielles"),
    ]
    items = "".join(f"<li>{html.anchor(href, label)}</li>" for href, label in links)
    return f"<h2>Pour les logiciels</h2><ul>{items}</ul>"
