"""A zone's history as a small chart for the zone map's side panel (inline SVG, no script).

The ≥ 30 Mbit/s share of the zone's locaux at each vintage of ``analyze --history``, a dot
in the colour of the zone's status then; an unknown share is a gap with « ? », never a 0.
Every text is escaped; the figures are repeated in the chart's title for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any, Final

from geo_service.formatting import GE, MBPS, fr_percent
from geo_service.maps import style
from geo_service.maps.geojson import clean

_WIDTH: Final = 240
_HEIGHT: Final = 110
_LEFT: Final = 34
_RIGHT: Final = 24
_TOP: Final = 10
_BOTTOM: Final = 28


def _share(row: dict[str, Any]) -> float | None:
    found = clean(row.get("share_thd30"))
    return None if found is None else float(found)


def history_chart(rows: Sequence[dict[str, Any]]) -> str:
    """The chart of ``rows`` (one per vintage, oldest first: ``vintage``, ``status``,
    ``share_thd30``); empty with fewer than two vintages."""
    if len(rows) < 2:
        return ""
    plot_w = _WIDTH - _LEFT - _RIGHT
    plot_h = _HEIGHT - _TOP - _BOTTOM
    step = plot_w / (len(rows) - 1)

    def x(i: int) -> float:
        return _LEFT + i * step

    def y(share: float) -> float:
        return _TOP + (1 - share) * plot_h

    parts = [
        f'<line x1="{_LEFT}" y1="{y(v):.1f}" x2="{_WIDTH - _RIGHT}" y2="{y(v):.1f}" '
        f'stroke="#ddd" stroke-width="1"/><text x="{_LEFT - 4}" y="{y(v) + 3:.1f}" '
        f'text-anchor="end" font-size="8" fill="#555">{int(v * 100)}\u202f%</text>'
        for v in (0.0, 0.5, 1.0)
    ]
    segment: list[str] = []
    lines: list[list[str]] = [segment]
    for i, row in enumerate(rows):
        share = _share(row)
        if share is None:
            segment = []
            lines.append(segment)
            continue
        segment.append(f"{x(i):.1f},{y(share):.1f}")
    parts += [
        f'<polyline points="{" ".join(points)}" fill="none" stroke="#0b3954" stroke-width="1.5"/>'
        for points in lines
        if len(points) > 1
    ]
    described = []
    for i, row in enumerate(rows):
        share = _share(row)
        status = str(row.get("status") or "unknown")
        colour = style.STATUS_COLOURS.get(status, style.STATUS_COLOURS["unknown"])
        vintage = escape(str(row.get("vintage")))
        label = style.STATUS_LABELS.get(status, status)
        described.append(f"{vintage} : {fr_percent(share)} ({label.lower()})")
        if share is None:
            parts.append(
                f'<text x="{x(i):.1f}" y="{y(0.5):.1f}" text-anchor="middle" font-size="10" '
                'fill="#666">?</text>'
            )
        else:
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(share):.1f}" r="3.5" fill="{colour}" '
                'stroke="#fff" stroke-width="1"/>'
            )
        parts.append(
            f'<text x="{x(i):.1f}" y="{_HEIGHT - 12}" text-anchor="middle" font-size="8" '
            f'fill="#333">{vintage}</text>'
        )
    title = f"Locaux à {GE}30{MBPS} par millésime"
    summary = escape(f"{title} — " + " ; ".join(described))
    return (
        f'<div class="gs-history"><strong>{escape(title)}</strong>'
        f'<svg role="img" aria-label="{summary}" viewBox="0 0 {_WIDTH} {_HEIGHT}" '
        f'width="{_WIDTH}" height="{_HEIGHT}" style="max-width:100%;height:auto">'
        f"<title>{summary}</title>{''.join(parts)}</svg>"
        "</div>"
    )
