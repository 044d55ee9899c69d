"""Static map images of an opinion's subject (PNG, matplotlib, no browser and no internet).

The maps use the colours of the interactive maps (:mod:`geo_service.maps.style`) for the
zones by status, the available land, the coverage raster and the commune boundaries; premises
are dots in three groups (below 8, 8 to 30, 30 Mbit/s and more). Without a basemap, the
commune boundaries and names give the context.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PatchCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath
from PIL import Image

from geo_service.analysis import AnalysisResult
from geo_service.formatting import GE, MBPS
from geo_service.maps.style import (
    COMMUNE_STROKE,
    COVERAGE_RAMP,
    LAND_FILL,
    LAND_STROKE,
    OUTLINE,
    PREMISES_GROUP_COLOURS,
    RASTER_BREAKS,
    RASTER_LABELS,
    STATUS_COLOURS,
    STATUS_ORDER,
    ZONE_OPACITY,
    seen,
)
from geo_service.model import BHD8, CANONICAL_CRS, THD30, CoverageRaster, ZoneStatus, class_rank
from geo_service.opinions.model import Opinion, OpinionKind
from geo_service.opinions.wording import STATUS_LABELS

#: Figure size (inches, rendered at _DPI) of each map: wide for a zone, taller for areas.
_ZONE_SIZE: Final = (7.2, 3.5)
_AREA_SIZE: Final = (7.2, 4.3)
_DPI: Final = 150
#: zlib level of the PNG maps (Pillow's default), for the HTML opinions they are embedded in.
PNG_COMPRESS_LEVEL: Final = 6
#: zlib level of the maps handed to WeasyPrint, which decodes and compresses them again into
#: the PDF: written fast rather than small.
PDF_PNG_COMPRESS_LEVEL: Final = 1
_AXES: Final = (0.01, 0.16, 0.98, 0.83)  # left, bottom, width, height (figure fraction)
_BACKGROUND: Final = "#f7f7f4"
_LABEL_SIZE: Final = 6.5  # points
#: Space (inches) between the map and its legend.
_LEGEND_GAP: Final = 0.04
#: Edge of the legend swatches of pale colours.
_SWATCH_EDGE: Final = "#b0b0b0"
_RASTER_ALPHA: Final = 0.35
#: Outline width (points) of the zone of a zone map.
_ZONE_OUTLINE: Final = 2.6
#: Area (points²) of a zone's dot on the area maps, and the distance (points) from its centre
#: that commune names keep clear (its radius, its edge and a margin).
_MARKER_SIZE: Final = 22.0
_MARKER_CLEARANCE: Final = _MARKER_SIZE**0.5 / 2 + 1.5
#: Grid places tried for a commune name before it is left out.
_LABEL_PLACES: Final = 400


@dataclass(frozen=True)
class MapLayers:
    """What a static map draws: the analysis results, and optionally land, premises and the
    coverage raster (Lambert-93)."""

    result: AnalysisResult
    land: gpd.GeoDataFrame | None = None
    premises: gpd.GeoDataFrame | None = None
    raster: CoverageRaster | None = None


def opinion_map(
    opinion: Opinion, layers: MapLayers, *, compress_level: int = PNG_COMPRESS_LEVEL
) -> bytes:
    """The PNG map of an opinion's subject (zone, commune or territory); ``compress_level``
    (zlib, 0-9) trades its size for the time taken to write it."""
    if opinion.kind == OpinionKind.ZONE and opinion.subject_id is not None:
        figure = zone_figure(layers, opinion.subject_id)
    elif opinion.kind == OpinionKind.COMMUNE and opinion.subject_id is not None:
        figure = commune_figure(layers, opinion.subject_id)
    else:
        figure = territory_figure(layers)
    return _png(figure, compress_level)


def zone_map(layers: MapLayers, zone_id: str) -> bytes:
    """A zone, its neighbours, the available land and the premises by speed, as PNG."""
    return _png(zone_figure(layers, zone_id))


def zone_figure(layers: MapLayers, zone_id: str) -> Figure:
    """The figure of :func:`zone_map`."""
    zones = layers.result.zones
    target = zones[zones["zone_id"].astype(str) == str(zone_id)]
    geom = shapely.union_all(np.asarray(target.geometry.values))
    extent = _padded(geom.bounds, 0.25, 400.0, _ZONE_SIZE)
    fig, ax = _figure(extent, _ZONE_SIZE)
    raster_handles = _raster(ax, layers.raster, extent)
    _communes(ax, layers.result, extent, labels=False)
    others = zones[zones["zone_id"].astype(str) != str(zone_id)]
    # outlines in the status colour, unfilled: a translucent fill over the raster would blend
    # into another status's colour (orange over blue reads grey)
    nearby = others.cx[extent[0] : extent[2], extent[1] : extent[3]]
    _outlines(ax, nearby, width=0.9, dashed=True)
    _land(ax, layers.land, extent)
    _outlines(ax, target, width=_ZONE_OUTLINE, dashed=False)
    _premises(ax, layers.premises, extent)
    status = str(target["status"].iloc[0]) if len(target) else ZoneStatus.UNKNOWN.value
    handles: list[Patch | Line2D] = [_outline_handle(status, "Zone étudiée")]
    handles += [*_land_handles(layers.land), *_premises_handles(layers.premises)]
    handles += raster_handles
    if len(nearby):
        handles.append(
            Patch(
                facecolor="none",
                edgecolor="#777777",
                linewidth=0.9,
                linestyle="--",
                label="Autres zones, contour à la couleur de leur statut",
            )
        )
    _finish(fig, ax, extent, handles)
    return fig


def commune_map(layers: MapLayers, insee: str) -> bytes:
    """A commune's boundary and zones (by status, with their rank), as PNG."""
    return _png(commune_figure(layers, insee))


def commune_figure(layers: MapLayers, insee: str) -> Figure:
    """The figure of :func:`commune_map`."""
    result = layers.result
    communes = result.communes
    own = communes[communes["commune_insee"].astype(str) == str(insee)]
    zones = result.zones[result.zones["commune_insee"].astype(str) == str(insee)]
    shapes = [g for g in [*own.geometry, *zones.geometry] if g is not None and not g.is_empty]
    if not shapes:
        return territory_figure(layers)
    extent = _padded(shapely.union_all(shapes).bounds, 0.08, 500.0, _AREA_SIZE)
    fig, ax = _figure(extent, _AREA_SIZE)
    _communes(ax, result, extent, labels=True, highlight=str(insee), markers=zones)
    _land(ax, layers.land, extent)
    _zones(ax, zones, width=1.2)
    _markers(ax, zones)
    handles: list[Patch | Line2D] = [*_status_handles(zones["status"]), *_land_handles(layers.land)]
    _finish(fig, ax, extent, handles)
    _rank_labels(fig, ax, zones)
    return fig


def territory_map(layers: MapLayers) -> bytes:
    """Every zone as a marker coloured by status, flagged ones numbered by rank, as PNG."""
    return _png(territory_figure(layers))


def territory_figure(layers: MapLayers) -> Figure:
    """The figure of :func:`territory_map`."""
    result = layers.result
    shapes = [g for g in result.communes.geometry if g is not None and not g.is_empty]
    shapes = shapes or list(result.zones.geometry)
    extent = _padded(shapely.union_all(shapes).bounds, 0.03, 500.0, _AREA_SIZE)
    fig, ax = _figure(extent, _AREA_SIZE)
    _communes(ax, result, extent, labels=True, markers=result.zones)
    _zones(ax, result.zones, width=0.8)
    _markers(ax, result.zones)
    handles: list[Patch | Line2D] = [*_status_handles(result.zones["status"])]
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor="white",
            markeredgecolor=OUTLINE,
            markersize=9,
            label="n : rang de priorité",
        )
    )
    _finish(fig, ax, extent, handles)
    _rank_labels(fig, ax, result.zones)
    return fig


def _figure(
    extent: tuple[float, float, float, float], size: tuple[float, float]
) -> tuple[Figure, Axes]:
    fig = Figure(figsize=size, dpi=_DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes(_AXES)
    ax.set_facecolor(_BACKGROUND)
    ax.set_xlim(extent[0], extent[2])
    ax.set_ylim(extent[1], extent[3])
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("#999999")
        spine.set_linewidth(0.6)
    return fig, ax


def _fitted(
    extent: tuple[float, float, float, float], size: tuple[float, float]
) -> tuple[float, float, float, float]:
    """``extent`` widened in one direction to the shape of the axes (same scale on x and y)."""
    x0, y0, x1, y1 = extent
    ratio = (size[0] * _AXES[2]) / (size[1] * _AXES[3])
    width, height = x1 - x0, y1 - y0
    if width / height < ratio:
        grow = (height * ratio - width) / 2
        return (x0 - grow, y0, x1 + grow, y1)
    grow = (width / ratio - height) / 2
    return (x0, y0 - grow, x1, y1 + grow)


def _padded(
    bounds: Sequence[float], ratio: float, minimum: float, size: tuple[float, float]
) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = bounds
    pad = max((x1 - x0) * ratio, (y1 - y0) * ratio, minimum / 2)
    return _fitted((x0 - pad, y0 - pad, x1 + pad, y1 + pad), size)


def _paths(geoms: Iterable[shapely.Geometry | None]) -> list[MplPath]:
    out = []
    for geom in geoms:
        if geom is None or shapely.is_empty(geom):
            continue
        parts = getattr(geom, "geoms", [geom])
        rings = [
            ring
            for part in parts
            if isinstance(part, shapely.Polygon)
            for ring in (part.exterior, *part.interiors)
        ]
        if rings:
            out.append(
                MplPath.make_compound_path(
                    *(MplPath(np.asarray(r.coords)[:, :2], closed=True) for r in rings)
                )
            )
    return out


def _polygons(ax: Axes, geoms: Iterable[shapely.Geometry | None], **style: Any) -> None:
    paths = _paths(geoms)
    if paths:
        ax.add_collection(PatchCollection([PathPatch(p) for p in paths], **style))


def _communes(
    ax: Axes,
    result: AnalysisResult,
    extent: tuple[float, float, float, float],
    *,
    labels: bool,
    highlight: str | None = None,
    markers: gpd.GeoDataFrame | None = None,
) -> None:
    """Commune boundaries (``highlight`` in white), and their names clear of the markers
    of ``markers`` (the zones drawn as dots)."""
    communes = result.communes
    communes = communes[communes.geometry.notna()]
    if len(communes) == 0:
        return
    shown = communes.cx[extent[0] : extent[2], extent[1] : extent[3]]
    _polygons(ax, shown.geometry, facecolor="none", edgecolor=COMMUNE_STROKE, linewidth=0.5)
    if highlight is not None:
        own = shown[shown["commune_insee"].astype(str) == highlight]
        _polygons(ax, own.geometry, facecolor="#ffffff", edgecolor=OUTLINE, linewidth=1.6)
    if not labels:
        return
    dots = _marker_points(markers) if markers is not None else shapely.MultiPoint()
    _commune_labels(ax, shown, extent, dots)


def _commune_labels(
    ax: Axes,
    communes: gpd.GeoDataFrame,
    extent: tuple[float, float, float, float],
    dots: shapely.Geometry,
) -> None:
    """Names of the communes, largest first, each at the first place (from its representative
    point outwards) where it overlaps neither a zone's dot (``dots``) nor another name: inside
    its own commune on one line, or on two lines broken at a hyphen, where it fits (a name
    across a boundary reads as either commune's), else the nearest free place; skipped where
    there is none, or the commune is too small to be named."""
    box = shapely.box(*extent)
    metres_per_point = (extent[2] - extent[0]) / (ax.bbox.width / _DPI * 72)
    avoid = shapely.buffer(dots, _MARKER_CLEARANCE * metres_per_point)
    placed: list[shapely.Polygon] = []
    visible = [
        (name, geom.intersection(box))
        for name, geom in zip(communes["name"], communes.geometry, strict=True)
    ]
    for name, part in sorted(visible, key=lambda item: -item[1].area):
        if not isinstance(name, str) or part.is_empty or part.area < box.area * 0.01:
            continue
        within = part.buffer(_LABEL_SIZE * 0.3 * metres_per_point)
        places = _label_places(part, _LABEL_SIZE * 0.6 * metres_per_point)
        free = (
            (text, label)
            for text in _label_texts(name)
            for label in _label_boxes(text, places, metres_per_point)
            if box.contains(label)
            and not label.intersects(avoid)
            and not any(label.intersects(other) for other in placed)
        )
        first: tuple[str, shapely.Polygon] | None = None
        for choice in free:
            first = first or choice
            if within.contains(choice[1]):
                first = choice
                break
        if first is None:
            continue
        text, label = first
        point = label.centroid
        placed.append(label)
        ax.text(
            point.x,
            point.y,
            text,
            ha="center",
            va="center",
            fontsize=_LABEL_SIZE,
            color="#555555",
            style="italic",
            linespacing=1.0,
        )


def _label_boxes(
    text: str, places: Sequence[shapely.Point], metres_per_point: float
) -> Iterator[shapely.Polygon]:
    """The box (metres) of ``text`` centred on each of ``places``, in turn."""
    lines = text.split("\n")
    half_w = max(map(len, lines)) * _LABEL_SIZE * 0.3 * metres_per_point
    half_h = len(lines) * _LABEL_SIZE * 0.6 * metres_per_point
    for point in places:
        yield shapely.box(point.x - half_w, point.y - half_h, point.x + half_w, point.y + half_h)


def _label_texts(name: str) -> list[str]:
    """A commune name on one line, then on two broken at its hyphen nearest the middle."""
    hyphens = [i for i, c in enumerate(name) if c == "-"]
    if not hyphens:
        return [name]
    cut = min(hyphens, key=lambda i: abs(i - len(name) / 2))
    return [name, f"{name[: cut + 1]}\n{name[cut + 1 :]}"]


def _label_places(part: shapely.Geometry, step: float) -> list[shapely.Point]:
    """Places for a name inside ``part``: its representative point, then the points of a grid
    of ``step`` inside it, nearest first (at most :data:`_LABEL_PLACES`)."""
    start = shapely.point_on_surface(part)
    x0, y0, x1, y1 = shapely.bounds(part)
    xs, ys = np.meshgrid(np.arange(x0, x1, step), np.arange(y0, y1, step))
    inside = shapely.contains_xy(part, xs.ravel(), ys.ravel())
    grid = np.asarray(shapely.points(xs.ravel()[inside], ys.ravel()[inside]))
    nearest = np.argsort(shapely.distance(grid, start))[:_LABEL_PLACES]
    return [start, *grid[nearest]]


def _dot_positions(zones: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Where the zones' dots are drawn (:func:`_markers`) and their ranks attached."""
    return zones.geometry.representative_point()


def _marker_points(zones: gpd.GeoDataFrame) -> shapely.Geometry:
    """The zones' dots as one geometry."""
    points = _dot_positions(zones)
    return shapely.MultiPoint([p for p in points.values if p is not None and not p.is_empty])


def _zones(ax: Axes, zones: gpd.GeoDataFrame, *, width: float) -> None:
    """Zones filled with their status colour as the interactive maps draw them (opaque, so
    the colour is the legend's whatever lies beneath), outlined."""
    for status in STATUS_ORDER[::-1]:
        part = zones[zones["status"] == status]
        colour = STATUS_COLOURS[ZoneStatus(status)]
        _polygons(ax, part.geometry, facecolor=colour, edgecolor="none", alpha=ZONE_OPACITY)
        _polygons(
            ax,
            part.geometry,
            facecolor="none",
            edgecolor=OUTLINE if width > 1 else colour,
            linewidth=width,
            linestyle="--" if status == ZoneStatus.UNSERVED.value and width > 1 else "-",
        )


def _raster(
    ax: Axes, raster: CoverageRaster | None, extent: tuple[float, float, float, float]
) -> list[Patch]:
    """The coverage raster under the map, in the classes of the interactive maps; the legend
    entries of the classes shown."""
    if raster is None or raster.crs != CANONICAL_CRS or raster.transform.b or raster.transform.d:
        return []
    t = raster.transform
    rows, cols = raster.shape
    col0 = max(0, int(np.floor((extent[0] - t.c) / t.a)))
    col1 = min(cols, int(np.ceil((extent[2] - t.c) / t.a)))
    row0 = max(0, int(np.floor((extent[3] - t.f) / t.e)))
    row1 = min(rows, int(np.ceil((extent[1] - t.f) / t.e)))
    if col1 <= col0 or row1 <= row0:
        return []
    window = raster.data[row0:row1, col0:col1].astype(float)
    known = ~np.isnan(window)
    classes = np.digitize(np.nan_to_num(window, nan=-1.0), RASTER_BREAKS[1:])
    colours = np.array([to_rgba(c, _RASTER_ALPHA) for c in COVERAGE_RAMP])
    image = colours[classes]
    image[~known] = (0.0, 0.0, 0.0, 0.0)
    ax.imshow(
        image,
        extent=(t.c + col0 * t.a, t.c + col1 * t.a, t.f + row1 * t.e, t.f + row0 * t.e),
        origin="upper",
        interpolation="nearest",
        zorder=0,
    )
    ax.set_xlim(extent[0], extent[2])
    ax.set_ylim(extent[1], extent[3])
    shown = sorted(set(classes[known].tolist()))
    return [
        # opaque, the colour seen over the map's background, edged: the palest classes
        # vanished into the white page below the map
        Patch(
            facecolor=seen(COVERAGE_RAMP[i], _RASTER_ALPHA, _BACKGROUND),
            edgecolor=_SWATCH_EDGE,
            linewidth=0.4,
            label=f"Carte : {RASTER_LABELS[i]}",
        )
        for i in shown
    ]


def _land(ax: Axes, land: gpd.GeoDataFrame | None, extent: tuple[float, ...]) -> None:
    if land is None or len(land) == 0:
        return
    shown = land[land["available"].astype(bool)].cx[extent[0] : extent[2], extent[1] : extent[3]]
    polygons = shown[shown.geom_type.isin(("Polygon", "MultiPolygon"))]
    _polygons(
        ax,
        polygons.geometry,
        facecolor=LAND_FILL,
        edgecolor=LAND_STROKE,
        linewidth=0.4,
        alpha=0.55,
        hatch="////",
    )


def _premises(ax: Axes, premises: gpd.GeoDataFrame | None, extent: tuple[float, ...]) -> None:
    if premises is None or len(premises) == 0:
        return
    shown = premises.cx[extent[0] : extent[2], extent[1] : extent[3]]
    if len(shown) == 0:
        return
    ranks = class_rank(shown["down_class"])
    xs, ys = shapely.get_x(shown.geometry.values), shapely.get_y(shown.geometry.values)
    for key, mask in (
        ("poor", (ranks >= 0) & (ranks < BHD8)),
        ("fair", (ranks >= BHD8) & (ranks < THD30)),
        ("good", ranks >= THD30),
    ):
        ax.scatter(xs[mask], ys[mask], s=3, c=PREMISES_GROUP_COLOURS[key], linewidths=0, zorder=3)


def _markers(ax: Axes, zones: gpd.GeoDataFrame) -> None:
    """A dot in its status colour on every zone (their ranks: :func:`_rank_labels`)."""
    points = _dot_positions(zones)
    for status in STATUS_ORDER[::-1]:
        mask = (zones["status"] == status).to_numpy()
        ax.scatter(
            shapely.get_x(points.values[mask]),
            shapely.get_y(points.values[mask]),
            s=_MARKER_SIZE,
            c=STATUS_COLOURS[ZoneStatus(status)],
            edgecolors=OUTLINE,
            linewidths=0.5,
            zorder=4,
        )


#: Offsets (points) tried in turn for a rank label: beside its marker first, then further out
#: with a leader line, until its box overlaps no other text.
_LABEL_OFFSETS: Final = tuple(
    (dx * r, dy * r)
    for r in (7.0, 11.0, 15.0, 20.0, 26.0, 33.0, 41.0, 50.0)
    for dx, dy in (
        (0.7, 0.7),
        (0.7, -0.7),
        (-0.7, 0.7),
        (-0.7, -0.7),
        (1.0, 0.0),
        (-1.0, 0.0),
        (0.0, 1.0),
        (0.0, -1.0),
        (0.92, 0.38),
        (-0.92, 0.38),
        (0.92, -0.38),
        (-0.92, -0.38),
        (0.38, 0.92),
        (-0.38, 0.92),
        (0.38, -0.92),
        (-0.38, -0.92),
    )
)
_LABEL_MARGIN_PX: Final = 2.0


def _rank_labels(fig: Figure, ax: Axes, zones: gpd.GeoDataFrame) -> None:
    """The rank of each flagged zone beside its marker, placed in rank order where its box
    overlaps no text already drawn (commune names, other ranks, scale bar) and stays inside the
    map; a leader line joins a label set apart. Call once every other text is drawn."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    inside = ax.get_window_extent(renderer)
    taken = [t.get_window_extent(renderer).padded(_LABEL_MARGIN_PX) for t in ax.texts]
    flagged = zones[zones["rank"].notna()].sort_values("rank")
    points = _dot_positions(flagged)
    for point, rank in zip(points.values, flagged["rank"], strict=True):
        label = ax.annotate(
            str(round(float(rank))),
            (point.x, point.y),
            xytext=_LABEL_OFFSETS[0],
            textcoords="offset points",
            ha="center",
            va="center",
            fontsize=6,
            fontweight="bold",
            color=OUTLINE,
            zorder=5,
            bbox={"boxstyle": "circle,pad=0.15", "fc": "white", "ec": OUTLINE, "lw": 0.4},
            arrowprops={"arrowstyle": "-", "color": OUTLINE, "lw": 0.4, "shrinkA": 0},
        )
        box = _label_box(label, renderer)
        for offset in _LABEL_OFFSETS:
            label.set_position(offset)
            box = _label_box(label, renderer)
            free = not any(box.overlaps(other) for other in taken)
            if free and inside.contains(box.x0, box.y0) and inside.contains(box.x1, box.y1):
                break
        else:  # no free place (never seen on real maps): the first, beside its marker
            label.set_position(_LABEL_OFFSETS[0])
            box = _label_box(label, renderer)
        taken.append(box)


def _label_box(label: Any, renderer: Any) -> Any:
    """The window box of a rank label, its circle included."""
    label.update_positions(renderer)
    label.update_bbox_position_size(renderer)
    patch = label.get_bbox_patch()
    return patch.get_window_extent(renderer).padded(_LABEL_MARGIN_PX)


def _outlines(ax: Axes, zones: gpd.GeoDataFrame, *, width: float, dashed: bool) -> None:
    """Zones as unfilled outlines in their status colour (the zone map's way)."""
    for status in STATUS_ORDER[::-1]:
        part = zones[zones["status"] == status]
        _polygons(
            ax,
            part.geometry,
            facecolor="none",
            edgecolor=STATUS_COLOURS[ZoneStatus(status)],
            linewidth=width,
            linestyle="--" if dashed else "-",
        )


def _outline_handle(status: str, label: str) -> Patch:
    """The legend entry of a zone drawn by :func:`_outlines`."""
    return Patch(
        facecolor="none",
        edgecolor=STATUS_COLOURS[ZoneStatus(status)],
        linewidth=_ZONE_OUTLINE * 0.8,
        label=f"{label} ({STATUS_LABELS[status]})",
    )


def _status_handles(statuses: Iterable[object]) -> list[Patch]:
    present = {str(s) for s in statuses}
    return [
        Patch(
            facecolor=STATUS_COLOURS[ZoneStatus(s)],
            edgecolor=OUTLINE,
            linewidth=0.5,
            label=f"Zone {STATUS_LABELS[s]}",
        )
        for s in STATUS_ORDER
        if s in present
    ]


def _land_handles(land: gpd.GeoDataFrame | None) -> list[Patch]:
    if land is None:
        return []
    return [
        Patch(
            facecolor=LAND_FILL,
            edgecolor=LAND_STROKE,
            hatch="////",
            alpha=0.55,
            label="Foncier disponible",
        )
    ]


def _premises_handles(premises: gpd.GeoDataFrame | None) -> list[Line2D]:
    if premises is None:
        return []
    labels = {
        "good": f"Bâtiment à {GE}30{MBPS}",
        "fair": f"Bâtiment de 8 à 30{MBPS}",
        "poor": f"Bâtiment à moins de 8{MBPS}",
    }
    return [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=4,
            markerfacecolor=PREMISES_GROUP_COLOURS[key],
            markeredgewidth=0,
            label=label,
        )
        for key, label in labels.items()
    ]


def _finish(
    fig: Figure, ax: Axes, extent: tuple[float, ...], handles: Sequence[Patch | Line2D]
) -> None:
    _scale_bar(ax, extent)
    ax.text(0.985, 0.97, "N ↑", transform=ax.transAxes, ha="right", va="top", fontsize=8)
    if handles:
        legend = fig.legend(
            handles=list(handles),
            loc="lower center",
            ncol=min(3, len(handles)),
            fontsize=6.5,
            frameon=False,
            bbox_to_anchor=(0.5, 0.0),
        )
        _clear_of_legend(fig, ax, legend)


def _clear_of_legend(fig: Figure, ax: Axes, legend: Legend) -> None:
    """Make the figure taller below the map when its legend would reach into it (the scale
    bar sat on the legend's first row): the map keeps its size, the legend its place."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    ax.apply_aspect()
    overlap = legend.get_window_extent(renderer).y1 - ax.get_window_extent(renderer).y0
    extra = (overlap + _LEGEND_GAP * fig.dpi) / fig.dpi  # inches
    if extra <= 0:
        return
    width, height = fig.get_size_inches()
    box = ax.get_position(original=True)
    taller = height + extra
    fig.set_size_inches(width, taller)
    ax.set_position(
        (box.x0, (box.y0 * height + extra) / taller, box.width, box.height * height / taller)
    )


def _scale_bar(ax: Axes, extent: tuple[float, ...]) -> None:
    width = extent[2] - extent[0]
    length = next(
        (n for n in (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000) if n >= width / 6),
        100000,
    )
    x0 = extent[0] + width * 0.03
    y0 = extent[1] + (extent[3] - extent[1]) * 0.04
    ax.plot([x0, x0 + length], [y0, y0], color=OUTLINE, linewidth=2.5, solid_capstyle="butt")
    label = f"{length // 1000} km" if length >= 1000 else f"{length} m"
    ax.text(x0 + length / 2, y0, label, ha="center", va="bottom", fontsize=7)


def _png(fig: Figure, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """The figure as an RGB PNG: the pixels ``savefig`` gives, without their alpha channel
    (opaque everywhere on the white figure), which WeasyPrint would otherwise split into a
    mask and compress a second time in every PDF."""
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg), "figure made without its Agg canvas"
    canvas.draw()  # type: ignore[no-untyped-call]
    rgba = np.asarray(canvas.buffer_rgba())  # type: ignore[no-untyped-call]
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba[..., :3])).save(
        buffer, format="png", compress_level=compress_level, dpi=(_DPI, _DPI)
    )
    return buffer.getvalue()
