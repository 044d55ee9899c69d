"""Colours, classes and French labels shared by every map and legend.

Zone statuses use the Okabe–Ito palette (distinguishable with every common colour-vision
deficiency), and flagged zones also get a thick outline (dashed when unserved) so the status
never rests on colour alone. Coverage (raster speed, share of locaux at ≥ 30 Mbit/s, the
communes' ARCEP shares) uses one sequential ColorBrewer ramp, dark = poor, light = good (gaps
stand out); premises use the colour-blind-safe diverging ColorBrewer RdYlBu ramp from INEL
(red) to THD1G (blue).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from geo_service.analysis.priority import FLAGGED as _FLAGGED
from geo_service.formatting import GBPS, GE, MBPS, fr_percent
from geo_service.model import SPEED_CLASSES, STATUS_WORDS, ZoneStatus
from geo_service.settings import AnalysisParams

#: Fill colour of each zone status (Okabe–Ito).
STATUS_COLOURS: Final[dict[str, str]] = {
    ZoneStatus.SERVED: "#009E73",
    ZoneStatus.UNDERSERVED: "#E69F00",
    ZoneStatus.UNSERVED: "#D55E00",
    ZoneStatus.UNKNOWN: "#999999",
}


def favicon_svg() -> str:
    """The service's icon: four zones in the status colours, flagged ones first (SVG)."""
    cells = "".join(
        f'<rect x="{2 + 15 * (i % 2)}" y="{2 + 15 * (i // 2)}" width="13" height="13" '
        f'rx="2" fill="{STATUS_COLOURS[status]}"/>'
        for i, status in enumerate(
            (ZoneStatus.UNSERVED, ZoneStatus.UNDERSERVED, ZoneStatus.SERVED, ZoneStatus.UNKNOWN)
        )
    )
    return f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">{cells}</svg>'


#: Darker shade of each status colour, for text on white (contrast of at least 4.5:1).
STATUS_TEXT_COLOURS: Final[dict[str, str]] = {
    ZoneStatus.SERVED: "#00704f",
    ZoneStatus.UNDERSERVED: "#9a6400",
    ZoneStatus.UNSERVED: "#a13c00",
    ZoneStatus.UNKNOWN: "#666666",
}
#: French name of each zone status on maps and legends: the words of the opinions and of the
#: result fields (``model.STATUS_WORDS``), capitalised.
STATUS_LABELS: Final[dict[str, str]] = {
    status: words[0].capitalize() for status, words in STATUS_WORDS.items()
}
#: Statuses in legend order, flagged first.
STATUS_ORDER: Final = (
    ZoneStatus.UNSERVED,
    ZoneStatus.UNDERSERVED,
    ZoneStatus.SERVED,
    ZoneStatus.UNKNOWN,
)
#: The flagged statuses (under-served and unserved), drawn with a thick outline.
FLAGGED: Final = frozenset(_FLAGGED)
#: What ``status_basis`` means, in French.
BASIS_LABELS: Final[dict[str, str]] = {
    "premises": "d'après les locaux recensés",
    "raster": "d'après le raster de couverture (aucun local recensé)",
    "commune": "d'après les statistiques communales de l'Arcep (aucun local recensé)",
    "none": "aucune donnée exploitable",
}

#: Buildings of the static opinion maps by speed (below 8, 8 to 30, at least 30 Mbit/s): a
#: deep purple, a magenta and a blue, hues no zone status uses (each at least 40 ΔE from
#: every status colour), so that a slow building never reads as an unserved zone.
PREMISES_GROUP_COLOURS: Final[dict[str, str]] = {
    "poor": "#3f007d",
    "fair": "#c51b7d",
    "good": "#0072B2",
}
OUTLINE: Final = "#1a1a1a"
#: Thin outline of the zones that are not flagged.
PLAIN_ZONE_OUTLINE: Final = "#555555"


#: Thick outline of the flagged zones: a darker shade of their status colour, still nearer
#: (CIELAB ΔE) to it than to any other status colour, so that a zone of a few pixels, mostly
#: outline at the territory's zoom, reads in its status (a black outline made them read
#: black, no class of the legend).
FLAGGED_OUTLINES: Final[dict[str, str]] = {
    ZoneStatus.UNSERVED: "#a13c00",
    ZoneStatus.UNDERSERVED: "#b58400",
}


def zone_outline(status: str) -> str:
    """Outline of a zone of ``status`` on the maps: :data:`FLAGGED_OUTLINES` (thick) for the
    flagged statuses, a thin grey for the others."""
    return FLAGGED_OUTLINES.get(status, PLAIN_ZONE_OUTLINE)


LAND_FILL: Final = "#CC79A7"
LAND_STROKE: Final = "#7a3a5f"
UNAVAILABLE_LAND: Final = "#8c8c8c"
COMMUNE_STROKE: Final = "#4d4d4d"

#: Ramp of the coverage layers, from the poorest class to the best (ColorBrewer Blues,
#: reversed): gaps are dark and stand out, well-covered areas fade into the background.
COVERAGE_RAMP: Final = ("#08519c", "#3182bd", "#6baed6", "#bdd7e7", "#eff3ff")

#: Colour of each ARCEP class (ColorBrewer RdYlBu, 7 classes).
CLASS_COLOURS: Final[dict[str, str]] = dict(
    zip(
        SPEED_CLASSES,
        ("#d73027", "#fc8d59", "#fee090", "#ffffbf", "#e0f3f8", "#91bfdb", "#4575b4"),
        strict=True,
    )
)
#: French legend label of each ARCEP class.
CLASS_LABELS: Final[dict[str, str]] = {
    "INEL": f"INEL — moins de 0,5{MBPS}",
    "HD05": f"HD05 — 0,5 à 3{MBPS}",
    "HD3": f"HD3 — 3 à 8{MBPS}",
    "BHD8": f"BHD8 — 8 à 30{MBPS} (bon haut débit)",
    "THD30": f"THD30 — 30 à 100{MBPS} (très haut débit)",
    "THD100": f"THD100 — 100{MBPS} à 1{GBPS}",
    "THD1G": f"THD1G — 1{GBPS} et plus",
}
UNKNOWN_CLASS_COLOUR: Final = "#bdbdbd"
#: Fill of the communes without ARCEP statistics on the commune coverage layer.
NO_COMMUNE_FIGURES: Final = "#d9d9d9"

#: Lower bounds (Mbit/s) of the raster classes, one per colour of :data:`COVERAGE_RAMP`.
RASTER_BREAKS: Final = (0.0, 8.0, 30.0, 100.0, 1000.0)
RASTER_LABELS: Final = (
    f"moins de 8{MBPS}",
    f"8 à 30{MBPS}",
    f"30 à 100{MBPS}",
    f"100{MBPS} à 1{GBPS}",
    f"1{GBPS} et plus",
)


#: Colour of the map where no basemap tile covers it (``.leaflet-container`` in
#: geo-service-map.css): what translucent layers are blended over.
MAP_BACKGROUND: Final = "#f4f3ef"
#: Fill opacity of each layer, declared once: the maps draw the layer with it and its legend
#: swatches are its colours blended over :data:`MAP_BACKGROUND` with it (:func:`seen`), the
#: colours the reader sees. Zones are opaque, so that a status colour never mixes with the
#: coverage drawn beneath it (orange over blue would read as the grey of « statut inconnu »).
ZONE_OPACITY: Final = 1.0
HEXAGON_OPACITY: Final = 0.75
RASTER_OPACITY: Final = 0.75
LAND_OPACITY: Final = 0.6
COMMUNE_OPACITY: Final = 0.6
#: Transport facilities (circles); stops whose departures are unknown are drawn pale.
FACILITY_OPACITY: Final = 0.85
FACILITY_UNKNOWN_OPACITY: Final = 0.2
#: Communes without statistics are drawn fainter than the others.
NO_COMMUNE_FIGURES_OPACITY: Final = 0.3


def seen(colour: str, opacity: float, background: str = MAP_BACKGROUND) -> str:
    """``colour`` drawn with ``opacity`` over ``background``, as an opaque ``#rrggbb``."""
    top, under = rgb(colour), rgb(background)
    mixed = (round(opacity * t + (1 - opacity) * u) for t, u in zip(top, under, strict=True))
    return "#" + "".join(f"{c:02x}" for c in mixed)


def rgb(colour: str) -> tuple[int, int, int]:
    """``#rrggbb`` as its red, green and blue (0-255)."""
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


@dataclass(frozen=True)
class LegendEntry:
    """One line of a legend: a swatch (fill drawn with the layer's opacity, stroke, dash) and
    a French label; ``fill`` None: an outline-only swatch."""

    label: str
    fill: str | None
    stroke: str = OUTLINE
    dashed: bool = False
    thick: bool = False
    opacity: float = 1.0

    @property
    def swatch(self) -> str | None:
        """The swatch's colour as seen on the map (:func:`seen`), None when outline-only."""
        return None if self.fill is None else seen(self.fill, self.opacity)


def share_breaks(params: AnalysisParams) -> tuple[float, ...]:
    """Lower bounds of the five classes of the THD30 share (the last is the *served* threshold)."""
    served = params.served_thd30_share
    candidates = (0.0, 0.3, 0.6, 0.8)
    return (*(b for b in candidates if b < served), served)[-5:]


def share_entries(params: AnalysisParams) -> list[LegendEntry]:
    """Legend of the hexagons: share of locaux at ≥ 30 Mbit/s by class."""
    breaks = share_breaks(params)
    ramp = COVERAGE_RAMP[-len(breaks) :]
    entries = []
    for i, low in enumerate(breaks):
        if i + 1 < len(breaks):
            label = f"{fr_percent(low)} à {fr_percent(breaks[i + 1])}"
        else:
            label = f"{fr_percent(low)} et plus"
        entries.append(LegendEntry(label, ramp[i], stroke="#9e9e9e", opacity=HEXAGON_OPACITY))
    return entries


def raster_entries() -> list[LegendEntry]:
    """Legend of the coverage raster."""
    return [
        LegendEntry(label, colour, stroke="#9e9e9e", opacity=RASTER_OPACITY)
        for label, colour in zip(RASTER_LABELS, COVERAGE_RAMP, strict=True)
    ]


def status_entries(params: AnalysisParams) -> list[LegendEntry]:
    """Legend of the zone statuses, with the thresholds of the run."""
    served = fr_percent(params.served_thd30_share)
    unserved = fr_percent(params.unserved_bhd8_share)
    details = {
        ZoneStatus.UNSERVED: f"moins de {unserved} des locaux à {GE}8{MBPS}",
        ZoneStatus.UNDERSERVED: f"moins de {served} des locaux à {GE}30{MBPS}",
        ZoneStatus.SERVED: f"au moins {served} des locaux à {GE}30{MBPS}",
        ZoneStatus.UNKNOWN: "ni locaux, ni raster, ni statistiques communales exploitables",
    }
    return [
        LegendEntry(
            f"{STATUS_LABELS[status]} — {details[status]}",
            STATUS_COLOURS[status],
            stroke=zone_outline(status),
            dashed=status == ZoneStatus.UNSERVED,
            thick=status in FLAGGED,
            opacity=ZONE_OPACITY,
        )
        for status in STATUS_ORDER
    ]


def class_entries(classes: list[str] | None = None) -> list[LegendEntry]:
    """Legend of the premises' ARCEP classes (all classes, or those given, best last)."""
    shown = [c for c in SPEED_CLASSES if classes is None or c in classes]
    return [LegendEntry(CLASS_LABELS[c], CLASS_COLOURS[c], stroke="#333333") for c in shown]
