"""French popups, tooltips and search keys of the zones; every data string is HTML-escaped."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any, Final
from urllib.parse import quote

from geo_service.analysis import split_reasons
from geo_service.analysis.fields import (
    PRIORITY_DECIMALS,
    ZONE_MEASURES,
    ResultField,
    commune_basis_figures,
    figures,
    format_value,
    zone_field,
)
from geo_service.formatting import (
    GE,
    MBPS,
    fr_date,
    fr_hectares,
    fr_number,
    fr_percent,
    plural,
)
from geo_service.maps.style import BASIS_LABELS, STATUS_COLOURS, STATUS_LABELS
from geo_service.model import AccessClass

Row = Mapping[str, Any]

_ISO_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Links:
    """Where the app's pages live: ``base`` is prepended to every path (``""``: same site)."""

    base: str = ""

    def _path(self, path: str) -> str:
        return f"{self.base.rstrip('/')}{path}"

    def zone_item(self, zone_id: str) -> str:
        """The zone's OGC API Features item."""
        return self._path(f"/collections/zones/items/{quote(zone_id, safe='')}")

    def zone_opinion(self, zone_id: str) -> str:
        """The zone's planning opinion."""
        return self._path(f"/zones/{quote(zone_id, safe='')}/opinion")

    def zone_map(self, zone_id: str) -> str:
        """The zone's map."""
        return self._path(f"/maps/zones/{quote(zone_id, safe='')}")

    def territory_map(self) -> str:
        """The territory map."""
        return self._path("/maps/territory")


def text(value: str) -> str:
    """``value`` escaped for an HTML text node (``&``, ``<``, ``>``)."""
    return escape(value, quote=False)


def search_key(*parts: object) -> str:
    """Lower-case, accent-free, HTML-escaped text, as the map's search box compares it."""
    joined = " ".join(str(p) for p in parts if p is not None and p == p)
    decomposed = unicodedata.normalize("NFD", joined)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()
    return escape(plain)


def period_label(value: Any) -> str | None:
    """The period of ARCEP statistics in French, None when unknown.

    ``T1 2018`` stays as it is; an ISO date ``2026-03-31`` becomes ``31 mars 2026``.
    """
    if not _present(value) or not str(value).strip():
        return None
    period = str(value).strip()
    if _ISO_DATE.match(period):
        try:
            return fr_date(date.fromisoformat(period))
        except ValueError:
            pass
    return period


def arcep_period(value: Any) -> str | None:
    """``période T1 2018``, or ``données du 31 mars 2026`` for a date; None when unknown."""
    label = period_label(value)
    if label is None:
        return None
    return f"période {label}" if label == str(value).strip() else f"données du {label}"


def commune_basis(row: Row) -> str:
    """``Statut estimé d'après les statistiques communales de l'Arcep (période …)``."""
    period = arcep_period(row.get("commune_period"))
    when = f" ({period})" if period else ""
    return f"Statut estimé d'après les statistiques communales de l'Arcep{when}"


def zone_tooltip(row: Row, commune_name: str | None) -> str:
    """Short HTML tooltip: name, commune, status and share of locaux at ≥ 30 Mbit/s."""
    status = str(row["status"])
    where = f" · {text(commune_name)}" if commune_name else ""
    return (
        f"<strong>{text(str(row['name']))}</strong>{where}<br>"
        f"{text(STATUS_LABELS.get(status, status))} · {text(_thd30_phrase(row))}"
    )


def zone_popup(row: Row, commune_name: str | None, links: Links | None) -> str:
    """The zone's key figures, reasons and links, as escaped French HTML.

    Each figure cell carries ``data-field="<result column>"`` so the value can be checked
    against the analysis.
    """
    status = str(row["status"])
    zone_id = str(row["zone_id"])
    subtitle = [zone_id]
    if commune_name or _present(row.get("commune_insee")):
        insee = row.get("commune_insee")
        code = f" ({insee})" if _present(insee) else ""
        subtitle.append(f"{commune_name or ''}{code}".strip())
    if _present(row.get("kind")):
        subtitle.append(str(row["kind"]))
    parts = [
        '<div class="gs-popup">',
        f"<h3>{text(str(row['name']))}</h3>",
        f'<p class="gs-sub">{" · ".join(text(s) for s in subtitle)}</p>',
        f'<p><span class="gs-badge" style="background:{STATUS_COLOURS.get(status, "#999999")}">'
        f"{text(STATUS_LABELS.get(status, status))}</span> "
        f'<span class="gs-basis">{text(_basis(row))}</span></p>',
    ]
    if _present(row.get("rank")):
        parts.append(
            f'<p class="gs-priority">Priorité <span data-field="priority">'
            f"{text(fr_number(row['priority'], PRIORITY_DECIMALS))}</span>/100 · rang "
            f'<span data-field="rank">{int(row["rank"])}</span></p>'
        )
    parts.append(_figures_table(row))
    reasons = split_reasons(row.get("reasons"))
    if reasons:
        parts.append('<ul class="gs-reasons">')
        parts.extend(f"<li>{text(reason)}</li>" for reason in reasons)
        parts.append("</ul>")
    parts += _access_block(row)
    if links is not None:
        parts.append(
            '<p class="gs-links">'
            f'<a href="{escape(links.zone_opinion(zone_id))}" target="_blank" rel="noopener">'
            "Avis de la CCI</a>"
            f'<a href="{escape(links.zone_map(zone_id))}" target="_blank" rel="noopener">'
            "Carte de la zone</a>"
            f'<a href="{escape(links.zone_item(zone_id))}" target="_blank" rel="noopener">'
            "Données (API)</a></p>"
        )
    parts.append("</div>")
    return "".join(parts)


def _access_block(row: Row) -> list[str]:
    """The zone's transport access: its class and, when known, the facts behind it (the
    distances and stop counts are in the figures table)."""
    access = row.get("access_class")
    if not _present(access):
        return []
    word = format_value(zone_field("access_class"), str(access))
    out = [
        '<p class="gs-access">Desserte et accessibilité : '
        f'<span data-field="access_class">{text(word)}</span></p>'
    ]
    reasons = split_reasons(row.get("access_reasons"))
    if str(access) != AccessClass.UNKNOWN.value and reasons:
        items = "".join(f"<li>{text(reason)}</li>" for reason in reasons)
        out.append(f'<ul class="gs-access-reasons">{items}</ul>')
    return out


def _basis(row: Row) -> str:
    basis = str(row.get("status_basis"))
    return commune_basis(row) if basis == "commune" else BASIS_LABELS.get(basis, "")


def _figures_table(row: Row) -> str:
    area, *premises = ZONE_MEASURES
    lines = [_field_line(zone_field(area), row)]
    if str(row.get("status_basis")) == "commune":
        lines += [(f.field.name, f.field.label, f.text) for f in commune_basis_figures(row)]
    else:
        lines += [_field_line(zone_field(name), row) for name in premises]
    valid = _float(row.get("raster_valid_share"))
    if valid is not None:
        lines.append(
            (
                "raster_share_thd30",
                f"Surface à {GE}30{MBPS} (raster, connue sur {fr_percent(valid)})",
                fr_percent(_float(row.get("raster_share_thd30"))),
            )
        )
    land = _float(row.get("available_land_ha")) or 0.0
    plots = _int(row.get("available_plots"))
    lines.append(
        (
            "available_land_ha",
            f"Foncier disponible ({plural(plots, 'parcelle')})",
            fr_hectares(land),
        )
    )
    lines += [(f.field.name, f.field.label, f.text) for f in figures(row)]
    cells = "".join(
        f'<tr><th>{text(label)}</th><td data-field="{field}">{text(value)}</td></tr>'
        for field, label, value in lines
    )
    return f'<table class="gs-figures">{cells}</table>'


def _field_line(field: ResultField, row: Row) -> tuple[str, str, str]:
    """A figure of the popup: result column, French label and value as the registry of result
    fields writes them (``—`` when unknown)."""
    raw = row.get(field.name)
    value = str(raw) if field.dtype == "string" and _present(raw) else _float(raw)
    return field.name, field.label, format_value(field, value)


def _thd30_phrase(row: Row) -> str:
    if str(row.get("status_basis")) == "commune":
        return _commune_phrase(row)
    if _int(row.get("locaux")) > 0:
        return f"{fr_percent(_float(row.get('share_thd30')))} des locaux à {GE}30{MBPS}"
    raster = _float(row.get("raster_share_thd30"))
    if raster is not None:
        return f"{fr_percent(raster)} de la surface à {GE}30{MBPS} (raster)"
    return "aucun local recensé"


def _commune_phrase(row: Row) -> str:
    thd30 = _float(row.get("commune_share_thd30"))
    if thd30 is not None:
        return f"{fr_percent(thd30)} des locaux de la commune à {GE}30{MBPS} (Arcep)"
    ftth = fr_percent(_float(row.get("commune_share_ftth")))
    return f"{ftth} des locaux de la commune raccordables à la fibre (Arcep)"


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    return str(value) not in ("", "<NA>", "nan", "None")


def _float(value: Any) -> float | None:
    if not _present(value):
        return None
    return float(value)


def _int(value: Any) -> int:
    return int(value) if _present(value) else 0
