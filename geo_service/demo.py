"""A deterministic synthetic territory to demonstrate and test geo-service.

:func:`build_demo` draws, from one seed, a fictional territory east and north of Marseille in
Lambert-93: communes grouped in EPCIs, activity zones, business land, premises with their ARCEP
class, and a coverage raster. Every zone has a hidden *profile* that drives the classes of its
premises and the speeds burnt into the raster under it:

- ``fibre``: at least 92 % of the locaux on fibre (THD100 or THD1G), the zone is served;
- ``mixed``: at most 82 % of the locaux at THD30 or better, the zone is underserved;
- ``copper``: old copper, mostly HD3 and BHD8, at most 28 % THD30 or better;
- ``white``: mostly INEL, HD05 and HD3, at most 30 % BHD8 or better, the zone is unserved;
- ``empty``: a new zone without premises; the raster decides its status, except for a few that
  lie entirely in a nodata area of the raster and stay unknown.

Nothing is read from disk or the network; the same seed gives identical layers.

At national scale (:data:`NATIONAL_SCALES`, about 45,000 zones and 45 million premises) the
territory is too large to hold at once: :func:`national_blocks` draws it block by block, each
block a département-like territory of its own seed, moved to its place on a grid over France
and given the codes of a département, so that a consumer writes each block's premises away
before the next is drawn.
"""

from __future__ import annotations

import datetime
import math
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from affine import Affine
from rasterio import features
from shapely import affinity
from shapely.geometry.base import BaseGeometry

from geo_service.errors import ParameterError
from geo_service.model import (
    CANONICAL_CRS,
    SPEED_CLASSES,
    TECHNOLOGIES,
    CoverageRaster,
    speed_class_rank,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
GeomArray = npt.NDArray[np.object_]


@dataclass(frozen=True)
class DemoScale:
    """Size of a synthetic territory.

    Attributes
    ----------
    name : str
        Name of the scale, a key of :data:`SCALES` for the predefined ones.
    communes, epcis, zones, plots, premises : int
        Number of features of each layer (``epcis`` groups the communes).
    width_km, height_km : float
        Extent of the territory, east and north of its south-west corner.
    resolution_m : float
        Pixel size of the coverage raster.
    """

    name: str
    communes: int
    epcis: int
    zones: int
    plots: int
    premises: int
    width_km: float
    height_km: float
    resolution_m: float = 50.0


SCALES: Final[dict[str, DemoScale]] = {
    "demo": DemoScale("demo", 20, 3, 60, 2_000, 60_000, 50.0, 40.0),
    "departement": DemoScale("departement", 120, 8, 500, 16_000, 1_300_000, 120.0, 90.0),
}
DEMO_SOURCE: Final = "Territoire de démonstration synthétique (geo-service)"
DEMO_DATA_DATE: Final = datetime.date(2026, 1, 1)


@dataclass(frozen=True)
class DemoTerritory:
    """The layers of a synthetic territory, in Lambert-93.

    Attributes
    ----------
    communes, zones, land, premises : geopandas.GeoDataFrame
        Canonical vector layers (DESIGN.md, "Canonical layers").
    coverage : CoverageRaster
        Maximum download speed in Mbit/s, NaN where unknown.
    profiles : pandas.Series
        Hidden profile of each zone (``fibre``, ``mixed``, ``copper``, ``white``, ``empty``),
        indexed by ``zone_id``; for tests and documentation, not a layer column.
    scale : DemoScale
        Size of the territory.
    seed : int
        Seed it was drawn from.
    data_date : datetime.date
        Date given to every layer.
    """

    communes: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    land: gpd.GeoDataFrame
    premises: gpd.GeoDataFrame
    coverage: CoverageRaster
    profiles: pd.Series
    scale: DemoScale
    seed: int
    data_date: datetime.date


_ORIGIN: Final = (870_000.0, 6_240_000.0)
_PROFILES: Final = ("fibre", "mixed", "copper", "white", "empty")
_PROFILE_SHARES: Final = (0.35, 0.25, 0.20, 0.10, 0.10)
_ZONE_PREMISES_SHARE: Final = 0.55
_ZONE_LAND_SHARE: Final = 0.75
_FRICHE_SHARE: Final = 0.05
_NODATA_SHARE: Final = 0.05
_ZONE_GAP_M: Final = 150.0
_EDGE_MARGIN_M: Final = 300.0
_ZONE_SIGMA_M: Final[dict[str, float]] = {"fibre": 1500.0, "mixed": 3000.0, "copper": 5000.0}
_SHAPES: Final = ("rectangle", "rotated", "l_shape", "hull", "ribbon", "multi", "holed")
_SHAPE_SHARES: Final = (0.25, 0.25, 0.14, 0.16, 0.08, 0.08, 0.04)

_CLASS = {name: i for i, name in enumerate(SPEED_CLASSES)}
_TECHNO = {name: i for i, name in enumerate(TECHNOLOGIES)}

#: One option of a tier: (ARCEP class, technology, relative weight within the tier).
_Option = tuple[str, str, float]


@dataclass(frozen=True)
class _ProfileSpec:
    """How the premises of a zone of one profile get their classes.

    The buildings are shuffled and walked in order, accumulating their locaux; a building falls
    in the first tier whose cumulative cut its running share (before it) has not reached, so the
    locaux share of the first ``k`` tiers is at least the ``k``-th cut. Tiers are listed in the
    order whose bound matters: best first for fibre zones (a floor on fibre), worst first for the
    others (a ceiling on the better classes).
    """

    cuts: tuple[tuple[float, float], ...]
    tiers: tuple[tuple[_Option, ...], ...]
    ftth_share: float


_FIBRE_TIER: Final = (("THD1G", "FO", 0.75), ("THD100", "FO", 0.25))
_THD30_TIER: Final = (("THD30", "COAX", 0.3), ("THD30", "CU", 0.5), ("THD30", "THDR", 0.2))
_PROFILE_SPECS: Final[dict[str, _ProfileSpec]] = {
    "fibre": _ProfileSpec(
        ((0.92, 1.0),),
        (_FIBRE_TIER, (*_THD30_TIER, ("BHD8", "CU", 0.2))),
        0.4,
    ),
    "mixed": _ProfileSpec(
        ((0.02, 0.10), (0.18, 0.42), (0.55, 0.80)),
        (
            (("HD3", "CU", 1.0),),
            (("BHD8", "CU", 0.6), ("BHD8", "4GF", 0.25), ("BHD8", "THDR", 0.15)),
            (("THD100", "COAX", 0.3), *_THD30_TIER),
            _FIBRE_TIER,
        ),
        0.35,
    ),
    "copper": _ProfileSpec(
        ((0.02, 0.10), (0.30, 0.70), (0.72, 0.90)),
        (
            (("HD05", "CU", 0.7), ("HD05", "HDR", 0.3)),
            (("HD3", "CU", 0.85), ("HD3", "HDR", 0.15)),
            (("BHD8", "CU", 0.75), ("BHD8", "4GF", 0.15), ("BHD8", "THDR", 0.1)),
            (("THD30", "CU", 0.8), ("THD30", "COAX", 0.2)),
        ),
        0.05,
    ),
    "white": _ProfileSpec(
        ((0.10, 0.25), (0.25, 0.55), (0.70, 0.90)),
        (
            (("INEL", "CU", 0.8), ("INEL", "HDR", 0.2)),
            (("HD05", "CU", 0.7), ("HD05", "HDR", 0.3)),
            (("HD3", "CU", 0.8), ("HD3", "HDR", 0.2)),
            (("BHD8", "4GF", 0.5), ("BHD8", "CU", 0.3), ("THD30", "THDR", 0.2)),
        ),
        0.0,
    ),
}

_NAME_STARTS: Final = (
    "Aub", "Bel", "Brun", "Cad", "Cas", "Fonv", "Lav", "Mal", "Mir",
    "Mont", "Roqu", "Sauv", "Tour", "Varg", "Vent", "Castel", "Paill", "Aur",
)  # fmt: skip
_NAME_ENDS: Final = (
    "assac", "eirol", "elle", "enque", "ières", "ignan",
    "ouls", "argues", "esque", "ounet", "adour", "ane",
)  # fmt: skip
_SAINTS: Final = (
    "Aurèle", "Baudile", "Césaire", "Estève", "Florent", "Honorat",
    "Marcel", "Mitre", "Pons", "Romain", "Sauveur", "Trophime",
)  # fmt: skip
_NAME_SUFFIXES: Final = (
    "-des-Garrigues", "-sur-Arc", "-de-Provence", "-les-Pins", "-de-la-Crau", "-les-Oliviers",
    "-sur-Durance", "-la-Colline", "-des-Alpilles", "-le-Vieux", "-d'Huveaune", "-les-Bains",
)  # fmt: skip
_PLACES: Final = (
    "des Oliviers", "du Grand Vallon", "de la Crau Neuve", "des Hauts Paluds", "de l'Étang Salé",
    "des Cigales", "du Moulin Blanc", "de la Bastide Rouge", "des Garrigues", "du Pont de l'Arc",
    "de la Pinède", "du Plan d'Oste", "des Lavandes", "de la Tuilerie", "des Aiguilles",
    "du Canal", "de la Gare", "des Jonquiers", "du Mistral", "des Restanques",
    "du Roucas", "de la Source", "des Cades", "du Vieux Chêne", "de la Plaine Haute",
    "des Amandiers", "du Mas de l'Étoile", "de la Vallée de l'Arc", "des Tamaris", "de la Draille",
    "du Clos Fleuri", "des Bories", "de la Verrerie", "des Salins", "du Bois Sacré",
    "de la Colline Bleue", "des Figuières", "du Pas de la Mule", "de la Bergerie", "des Peupliers",
    "du Grand Rocher", "de l'Olivette", "des Micocouliers", "du Val de Durance", "de la Farigoule",
    "des Carrières", "du Relais", "de la Chèvre d'Or", "des Écluses", "du Puits Neuf",
)  # fmt: skip
_PLACE_QUALIFIERS: Final = (
    "", " Nord", " Sud", " Est", " Ouest", " II", " III", " Nord II", " Sud II", " Est II",
    " Ouest II",
)  # fmt: skip
_KINDS: Final = ("ZA", "ZI", "ZAC", "Parc d'activités", "Technopôle")
_VOCATIONS: Final[dict[str, tuple[tuple[str, ...], tuple[float, ...]]]] = {
    "ZA": (("artisanale", "mixte", "commerciale"), (0.5, 0.25, 0.25)),
    "ZI": (("industrielle", "logistique"), (0.6, 0.4)),
    "ZAC": (("mixte", "commerciale", "tertiaire"), (0.4, 0.35, 0.25)),
    "Parc d'activités": (("tertiaire", "mixte", "logistique"), (0.4, 0.3, 0.3)),
    "Technopôle": (("tertiaire",), (1.0,)),
}
_MAX_COMMUNES: Final = len(_NAME_STARTS) * len(_NAME_ENDS)


@dataclass(frozen=True)
class _Territory:
    """The territory rectangle and the grid of its coverage raster."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float
    resolution: float
    rows: int
    cols: int

    @property
    def box(self) -> shapely.Polygon:
        return shapely.box(self.xmin, self.ymin, self.xmax, self.ymax)

    @property
    def top(self) -> float:
        return self.ymin + self.rows * self.resolution

    @property
    def transform(self) -> Affine:
        return Affine(self.resolution, 0.0, self.xmin, 0.0, -self.resolution, self.top)

    def inner(self, margin: float) -> shapely.Polygon:
        return shapely.box(
            self.xmin + margin, self.ymin + margin, self.xmax - margin, self.ymax - margin
        )

    def pixel(self, x: FloatArray, y: FloatArray) -> tuple[IntArray, IntArray]:
        """Row and column of the pixels holding points ``(x, y)`` of the territory."""
        col = np.clip(((x - self.xmin) // self.resolution).astype(np.int64), 0, self.cols - 1)
        row = np.clip(((self.top - y) // self.resolution).astype(np.int64), 0, self.rows - 1)
        return row, col


@dataclass(frozen=True)
class _Communes:
    """Commune polygons with their seeds and population weights, in layer order."""

    geometry: GeomArray
    centres: FloatArray
    weights: FloatArray
    codes: npt.NDArray[np.str_]
    frame: gpd.GeoDataFrame


@dataclass(frozen=True)
class _Zone:
    """A placed zone; ``region`` is where its own premises and plots go."""

    geometry: BaseGeometry
    region: BaseGeometry
    profile: str
    raster: str
    parent: int


@dataclass(frozen=True)
class _Fields:
    """Coverage components on the raster grid, before zones and nodata are burnt in."""

    fibre: BoolArray
    copper: npt.NDArray[np.float32]
    radio: BoolArray


def build_demo(
    scale: str | DemoScale = "demo",
    seed: int = 2154,
    progress: Callable[[str], None] | None = None,
) -> DemoTerritory:
    """Draw a synthetic territory around Aix-Marseille.

    Parameters
    ----------
    scale : str or DemoScale, default "demo"
        A name of :data:`SCALES` (``"demo"`` or ``"departement"``) or a custom scale.
    seed : int, default 2154
        Seed of :func:`numpy.random.default_rng`; the same seed gives identical layers.
    progress : callable, optional
        Called with the name of each step (``"communes"``, ``"zones"``, ``"coverage"``,
        ``"land"``, ``"premises"``) before it runs.

    Returns
    -------
    DemoTerritory
        The layers in Lambert-93, the raster, and the hidden profile of each zone.

    Raises
    ------
    ParameterError
        If ``scale`` is not a known name or describes an impossible territory.
    """
    spec = _resolve_scale(scale)
    report = progress if progress is not None else _silent
    rngs = np.random.default_rng(seed).spawn(5)
    territory = _territory(spec)
    report("communes")
    communes = _build_communes(rngs[0], spec, territory)
    report("zones")
    nodata = _nodata_rectangles(rngs[1], territory)
    zones = _place_zones(rngs[1], spec, territory, communes, nodata)
    zones = _order_zones(zones, communes)
    zone_frame, profiles = _zone_layer(rngs[1], zones, communes)
    report("coverage")
    fields = _coverage_fields(rngs[2], territory, communes)
    coverage = _coverage_raster(rngs[2], territory, fields, zones, nodata)
    report("land")
    land = _land_layer(rngs[3], spec, territory, communes, zones)
    report("premises")
    premises = _premises_layer(rngs[4], spec, territory, communes, zones, land, fields)
    return DemoTerritory(
        communes=communes.frame,
        zones=zone_frame,
        land=land,
        premises=premises,
        coverage=coverage,
        profiles=profiles,
        scale=spec,
        seed=seed,
        data_date=DEMO_DATA_DATE,
    )


def _silent(step: str) -> None:
    del step


def _resolve_scale(scale: str | DemoScale) -> DemoScale:
    if isinstance(scale, DemoScale):
        _check_scale(scale)
        return scale
    if scale not in SCALES:
        raise ParameterError("scale", f"expected one of {', '.join(SCALES)}; got {scale!r}")
    return SCALES[scale]


def _check_scale(scale: DemoScale) -> None:
    problems = []
    if not 4 <= scale.communes <= _MAX_COMMUNES:
        problems.append(f"communes must be between 4 and {_MAX_COMMUNES}")
    if not 1 <= scale.epcis <= scale.communes:
        problems.append("epcis must be between 1 and the number of communes")
    if scale.zones < 20:
        problems.append("zones must be at least 20")
    if scale.plots < 2 * scale.zones:
        problems.append("plots must be at least twice the zones")
    if scale.premises < 20 * scale.zones:
        problems.append("premises must be at least 20 times the zones")
    if min(scale.width_km, scale.height_km) < 20:
        problems.append("width_km and height_km must be at least 20")
    if not 10 <= scale.resolution_m <= 500:
        problems.append("resolution_m must be between 10 and 500")
    if problems:
        raise ParameterError("scale", "; ".join(problems))


def _territory(scale: DemoScale) -> _Territory:
    width, height = scale.width_km * 1000.0, scale.height_km * 1000.0
    res = scale.resolution_m
    x0, y0 = _ORIGIN
    return _Territory(
        x0, y0, x0 + width, y0 + height, res, math.ceil(height / res), math.ceil(width / res)
    )


def _apportion(n: int, shares: Sequence[float], at_least: int = 0) -> list[int]:
    """Split ``n`` into integer counts proportional to ``shares`` (largest remainders)."""
    raw = np.asarray(shares, dtype=float) / sum(shares) * n
    counts = np.floor(raw).astype(np.int64)
    order = np.argsort(counts - raw, kind="stable")
    counts[order[: n - int(counts.sum())]] += 1
    for i in np.flatnonzero(counts < at_least):
        give = int(min(at_least - counts[i], n))
        counts[i] += give
        counts[int(np.argmax(counts))] -= give
    return [int(c) for c in counts]


def _ids(prefix: str, n: int, width: int) -> npt.NDArray[np.str_]:
    numbers = np.arange(1, n + 1).astype(np.str_)
    return np.char.add(prefix, np.char.zfill(numbers, width))


# --- communes ----------------------------------------------------------------------------------


def _build_communes(rng: np.random.Generator, scale: DemoScale, territory: _Territory) -> _Communes:
    n = scale.communes
    bounds = territory.box
    seeds = np.column_stack(
        [
            rng.uniform(territory.xmin, territory.xmax, n),
            rng.uniform(territory.ymin, territory.ymax, n),
        ]
    )
    for _ in range(3):
        seeds = shapely.get_coordinates(shapely.centroid(_voronoi(seeds, bounds)))
    cells = _voronoi(seeds, bounds)
    weights = rng.lognormal(0.0, 0.8, n)
    weights /= weights.sum()
    names = _commune_names(rng, n)
    epci = _group_epcis(rng, seeds, scale.epcis)

    order = np.argsort([_sort_key(name) for name in names], kind="stable")
    first = 13901 if n <= 99 else 13501
    codes = np.arange(first, first + n).astype(np.str_)
    population = np.maximum(np.round(weights * scale.premises * 1.6), 150).astype(np.int64)
    sirens = np.array([f"2990000{k + 1:02d}" for k in range(scale.epcis)], dtype=np.str_)
    epci_names = np.array([_epci_name(k) for k in range(scale.epcis)], dtype=np.str_)
    frame = gpd.GeoDataFrame(
        {
            "commune_insee": codes,
            "name": names[order],
            "epci_siren": sirens[epci[order]],
            "epci_name": epci_names[epci[order]],
            "population": population[order],
        },
        geometry=cells[order],
        crs=CANONICAL_CRS,
    )
    return _Communes(cells[order], seeds[order], weights[order], codes, frame)


_EPCI_NAMES: Final = (
    "Métropole des Calanques Fictives",
    "Communauté d'agglomération du Pays des Oliviers",
    "Communauté de communes du Val de Garrigue",
    "Communauté de communes des Collines du Levant",
    "Communauté d'agglomération de l'Étang Bleu",
    "Communauté de communes de la Haute Vallée",
    "Communauté de communes des Restanques",
    "Communauté d'agglomération du Plateau Doré",
)


def _epci_name(k: int) -> str:
    """Fictional name of the k-th EPCI."""
    return _EPCI_NAMES[k] if k < len(_EPCI_NAMES) else f"Communauté de communes n° {k + 1}"


def _voronoi(points: FloatArray, bounds: shapely.Polygon) -> GeomArray:
    """Voronoi cells of ``points``, in their order, clipped to ``bounds``."""
    diagram = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=bounds)
    cells = shapely.get_parts(diagram)
    seed, cell = shapely.STRtree(cells).query(shapely.points(points), predicate="within")
    ordered = np.empty(len(points), dtype=object)
    ordered[seed] = cells[cell]
    return np.asarray(shapely.intersection(ordered, bounds), dtype=object)


def _sort_key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _commune_names(rng: np.random.Generator, n: int) -> npt.NDArray[np.str_]:
    n_saints = min(round(0.25 * n), len(_SAINTS) * len(_NAME_SUFFIXES))
    n_bases = n - n_saints
    base_pick = rng.choice(_MAX_COMMUNES, n_bases, replace=False)
    bases = [
        _NAME_STARTS[i // len(_NAME_ENDS)] + _NAME_ENDS[i % len(_NAME_ENDS)] for i in base_pick
    ]
    with_suffix = rng.random(n_bases) < 0.4
    suffixes = rng.choice(len(_NAME_SUFFIXES), n_bases)
    names = [
        base + (_NAME_SUFFIXES[s] if w else "")
        for base, w, s in zip(bases, with_suffix, suffixes, strict=True)
    ]
    saint_pick = rng.choice(len(_SAINTS) * len(_NAME_SUFFIXES), n_saints, replace=False)
    names += [
        f"Saint-{_SAINTS[i // len(_NAME_SUFFIXES)]}{_NAME_SUFFIXES[i % len(_NAME_SUFFIXES)]}"
        for i in saint_pick
    ]
    return np.array(names, dtype=np.str_)[rng.permutation(n)]


def _group_epcis(rng: np.random.Generator, points: FloatArray, k: int) -> IntArray:
    """Group points in ``k`` compact clusters (k-means), numbered west to east."""
    centres = points[rng.choice(len(points), k, replace=False)].copy()
    labels = np.zeros(len(points), dtype=np.int64)
    for _ in range(20):
        distance = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        labels = distance.argmin(axis=1)
        for j in range(k):
            if not (labels == j).any():
                sizes = np.bincount(labels, minlength=k)
                labels[int(np.argmin(np.where(sizes[labels] > 1, distance[:, j], np.inf)))] = j
            centres[j] = points[labels == j].mean(axis=0)
    rank = np.argsort(np.argsort(centres[:, 0], kind="stable"), kind="stable")
    return rank[labels].astype(np.int64)


def _locate(points: GeomArray, communes: GeomArray) -> IntArray:
    """Index of the commune holding each geometry (the nearest one if none does)."""
    tree = shapely.STRtree(communes)
    source, target = tree.query(points, predicate="intersects")
    found = np.full(len(points), -1, dtype=np.int64)
    _, first = np.unique(source, return_index=True)
    found[source[first]] = target[first]
    missing = np.flatnonzero(found < 0)
    if len(missing):
        found[missing] = tree.query_nearest(points[missing], all_matches=False)[1]
    return found


# --- zones -------------------------------------------------------------------------------------


def _nodata_rectangles(rng: np.random.Generator, territory: _Territory) -> list[shapely.Polygon]:
    """Pixel-aligned rectangles, apart from each other, covering ~5 % of the territory."""
    width, height = territory.xmax - territory.xmin, territory.ymax - territory.ymin
    count = max(2, round(width * height / 2.5e9))
    res = territory.resolution
    rectangles: list[shapely.Polygon] = []
    for _ in range(1000):
        if len(rectangles) == count:
            return rectangles
        area = _NODATA_SHARE * width * height / count
        aspect = rng.uniform(0.7, 1.4)
        w = round(math.sqrt(area * aspect) / res) * res
        h = round(area / w / res) * res
        x = territory.xmin + round(rng.uniform(1000.0, width - 1000.0 - w) / res) * res
        y = territory.ymin + round(rng.uniform(1000.0, height - 1000.0 - h) / res) * res
        candidate = shapely.box(x, y, x + w, y + h)
        if not any(candidate.distance(r) < 3000.0 for r in rectangles):
            rectangles.append(candidate)
    raise RuntimeError("cannot place the nodata areas of the demo raster")


def _place_zones(
    rng: np.random.Generator,
    scale: DemoScale,
    territory: _Territory,
    communes: _Communes,
    nodata: list[shapely.Polygon],
) -> list[_Zone]:
    n = scale.zones
    n_pairs = max(2, round(n / 30))
    profiles = rng.permutation(np.repeat(_PROFILES, _apportion(n, _PROFILE_SHARES)))
    extension_slots = np.flatnonzero(np.isin(profiles, ("fibre", "mixed", "copper")))[:n_pairs]
    extension_profiles = profiles[extension_slots]
    base = np.delete(profiles, extension_slots)
    rasters = _raster_profiles(base)
    areas = np.clip(rng.lognormal(math.log(10.0), 1.1, len(base)), 2.0, 250.0) * 1e4
    unknown = rasters == "nodata"
    areas[unknown] = rng.uniform(2.0, 15.0, int(unknown.sum())) * 1e4
    shapes = rng.permutation(np.repeat(_SHAPES, _apportion(len(base), _SHAPE_SHARES, 1)))

    placed = np.empty(n, dtype=object)
    geometries: list[BaseGeometry | None] = [None] * len(base)
    for count, i in enumerate(np.lexsort((-areas, ~unknown))):
        nodata_area = nodata[count % len(nodata)] if unknown[i] else None
        geometry = _place_zone(
            rng,
            _ZoneSpec(str(shapes[i]), float(areas[i]), str(base[i]), str(rasters[i])),
            territory,
            communes,
            nodata,
            nodata_area,
            placed[:count],
        )
        placed[count] = geometry
        geometries[i] = geometry
    zones = [
        _Zone(g, g, str(p), str(r), -1)
        for g, p, r in zip(geometries, base, rasters, strict=True)
        if g is not None
    ]
    for profile in extension_profiles:
        zones.append(_extend_zone(rng, str(profile), zones, territory))
    return zones


def _raster_profiles(profiles: npt.NDArray[np.str_]) -> npt.NDArray[np.str_]:
    """Profile burnt in the raster: empty zones are unknown (nodata) or resolvable by the raster."""
    rasters = profiles.astype(object)
    empty = np.flatnonzero(profiles == "empty")
    n_unknown = min(len(empty), max(2, len(empty) // 5))
    rasters[empty[:n_unknown]] = "nodata"
    cycle = ("fibre", "copper", "white")
    for k, i in enumerate(empty[n_unknown:]):
        rasters[i] = cycle[k % len(cycle)]
    return rasters.astype(np.str_)


@dataclass(frozen=True)
class _ZoneSpec:
    """What a zone to place looks like: outline kind, target area (m²), profiles."""

    shape: str
    area: float
    profile: str
    raster: str


def _place_zone(
    rng: np.random.Generator,
    spec: _ZoneSpec,
    territory: _Territory,
    communes: _Communes,
    nodata: list[shapely.Polygon],
    nodata_area: shapely.Polygon | None,
    placed: GeomArray,
) -> BaseGeometry:
    res = territory.resolution
    if nodata_area is not None:
        xmin, ymin, xmax, ymax = nodata_area.bounds
        allowed = shapely.box(xmin + 2 * res, ymin + 2 * res, xmax - 2 * res, ymax - 2 * res)
    else:
        allowed = territory.inner(_EDGE_MARGIN_M)
    resolvable = spec.profile == "empty" and spec.raster != "nodata"
    avoid = shapely.union_all(nodata) if resolvable else None
    area = spec.area
    for attempt in range(1000):
        if attempt and attempt % 50 == 0:
            area = max(area * 0.8, 2e4)
        x, y = _zone_centre(rng, spec.profile, allowed, communes)
        geometry = affinity.translate(_zone_shape(rng, spec.shape, area), x, y)
        if not allowed.contains(geometry):
            continue
        if avoid is not None and _near(avoid, geometry, 3 * res).any():
            continue
        if _near(placed, geometry, _ZONE_GAP_M).any():
            continue
        return geometry
    raise RuntimeError("cannot place the zones of the demo territory; is it too small?")


def _zone_centre(
    rng: np.random.Generator, profile: str, allowed: shapely.Polygon, communes: _Communes
) -> tuple[float, float]:
    xmin, ymin, xmax, ymax = allowed.bounds
    sigma = _ZONE_SIGMA_M.get(profile)
    if sigma is None:
        return float(rng.uniform(xmin, xmax)), float(rng.uniform(ymin, ymax))
    centre = communes.centres[rng.choice(len(communes.centres), p=communes.weights)]
    x, y = centre + rng.normal(0.0, sigma, 2)
    return float(x), float(y)


def _zone_shape(rng: np.random.Generator, shape: str, area: float) -> BaseGeometry:
    """A zone outline of ``area`` square metres, centred on the origin."""
    aspect = rng.uniform(1.0, 2.5)
    w, h = math.sqrt(aspect), 1.0 / math.sqrt(aspect)
    geometry: BaseGeometry
    if shape == "l_shape":
        a, b = rng.uniform(0.35, 0.65, 2)
        geometry = shapely.box(0, 0, w, h).difference(shapely.box(a * w, b * h, w, h))
    elif shape == "hull":
        k = int(rng.integers(8, 15))
        angle = rng.uniform(0, 2 * math.pi, k)
        radius = np.sqrt(rng.uniform(0.2, 1.0, k))
        ring = np.column_stack([w * radius * np.cos(angle), h * radius * np.sin(angle)])
        geometry = shapely.MultiPoint(ring).convex_hull
    elif shape == "ribbon":
        heading = np.cumsum(rng.uniform(-0.7, 0.7, int(rng.integers(2, 4))))
        steps = np.column_stack([np.cos(heading), np.sin(heading)])
        line = shapely.LineString(np.vstack([[0.0, 0.0], np.cumsum(steps, axis=0)]))
        geometry = line.buffer(rng.uniform(0.15, 0.3), quad_segs=4)
    else:
        geometry = shapely.box(-w / 2, -h / 2, w / 2, h / 2)
        if shape == "multi":
            parts = int(rng.integers(2, 4))
            roads = [
                shapely.box(-w / 2 + w * k / parts - 0.015, -h, -w / 2 + w * k / parts + 0.015, h)
                for k in range(1, parts)
            ]
            geometry = geometry.difference(shapely.union_all(roads))
        elif shape == "holed":
            centre = shapely.Point(rng.uniform(-w / 8, w / 8), rng.uniform(-h / 8, h / 8))
            geometry = geometry.difference(centre.buffer(h * rng.uniform(0.15, 0.25)))
    if shape != "rectangle":
        geometry = affinity.rotate(geometry, rng.uniform(0.0, 180.0), origin="centroid")
    factor = math.sqrt(area / geometry.area)
    geometry = affinity.scale(geometry, factor, factor, origin="centroid")
    centroid = geometry.centroid
    return affinity.translate(geometry, -centroid.x, -centroid.y)


def _extend_zone(
    rng: np.random.Generator,
    profile: str,
    zones: list[_Zone],
    territory: _Territory,
) -> _Zone:
    """An extension of a zone of ``profile``: a rectangle overlapping 5-35 % of its area."""
    parents = {z.parent for z in zones}
    candidates = [
        i
        for i, z in enumerate(zones)
        if z.profile == profile and z.parent < 0 and i not in parents and z.raster != "nodata"
    ]
    inner = territory.inner(_EDGE_MARGIN_M)
    for i in rng.permutation(candidates):
        parent = zones[int(i)].geometry
        others = np.array([z.geometry for j, z in enumerate(zones) if j != i], dtype=object)
        for _ in range(30):
            extension = _extension_shape(rng, parent)
            if extension is None or not inner.contains(extension):
                continue
            if _near(others, extension, _ZONE_GAP_M).any():
                continue
            return _Zone(extension, extension.difference(parent), profile, profile, int(i))
    raise RuntimeError("cannot place the zone extensions of the demo territory")


def _extension_shape(rng: np.random.Generator, parent: BaseGeometry) -> BaseGeometry | None:
    area = max(parent.area * rng.uniform(0.3, 0.7), 2e4)
    aspect = rng.uniform(1.0, 2.0)
    w = math.sqrt(area * aspect)
    theta = rng.uniform(0.0, 2 * math.pi)
    rectangle = affinity.rotate(
        shapely.box(-w / 2, -area / w / 2, w / 2, area / w / 2),
        theta,
        origin=(0, 0),
        use_radians=True,
    )
    centre = parent.centroid
    reach = 2.0 * math.sqrt(parent.area) + w
    for step in np.linspace(0.0, reach, 60):
        candidate = affinity.translate(
            rectangle, centre.x + step * math.cos(theta), centre.y + step * math.sin(theta)
        )
        overlap = candidate.intersection(parent).area / area
        if overlap < 0.35:
            return candidate if overlap >= 0.05 else None
    return None


def _near(
    geometries: GeomArray | BaseGeometry, geometry: BaseGeometry, distance: float
) -> BoolArray:
    """Whether each of ``geometries`` comes within ``distance`` of ``geometry``."""
    return np.atleast_1d(shapely.intersects(geometries, geometry.buffer(distance, quad_segs=4)))


def _order_zones(zones: list[_Zone], communes: _Communes) -> list[_Zone]:
    """Base zones by commune then west to east, each extension right after the zone it extends."""
    points = shapely.point_on_surface(np.array([z.geometry for z in zones], dtype=object))
    commune = _locate(points, communes.geometry)
    x = shapely.get_x(points)
    base = [i for i, z in enumerate(zones) if z.parent < 0]
    base.sort(key=lambda i: (int(commune[i]), float(x[i])))
    order: list[int] = []
    for i in base:
        order.append(i)
        order.extend(j for j, z in enumerate(zones) if z.parent == i)
    new_index = {old: new for new, old in enumerate(order)}
    return [
        _Zone(z.geometry, z.region, z.profile, z.raster, new_index.get(z.parent, -1))
        for z in (zones[i] for i in order)
    ]


def _zone_layer(
    rng: np.random.Generator, zones: list[_Zone], communes: _Communes
) -> tuple[gpd.GeoDataFrame, pd.Series]:
    geometry = np.array([z.geometry for z in zones], dtype=object)
    commune = _locate(shapely.point_on_surface(geometry), communes.geometry)
    n = len(zones)
    ids = _ids("DEMO-Z", n, 3)
    kinds: list[str] = []
    vocations: list[str] = []
    states: list[str] = []
    names: list[str] = []
    places = _place_names(rng, n)
    parents = {z.parent for z in zones}
    for i, zone in enumerate(zones):
        if zone.parent >= 0:
            kinds.append(kinds[zone.parent])
            vocations.append(vocations[zone.parent])
            states.append("en projet")
            names.append(f"{names[zone.parent]} (extension)")
            continue
        kind = _zone_kind(rng, zone)
        options, weights = _VOCATIONS[kind]
        kinds.append(kind)
        vocations.append(options[int(rng.choice(len(options), p=weights))])
        states.append(_zone_state(rng, zone, i in parents))
        names.append(f"{kind} {places[i]}")
    frame = gpd.GeoDataFrame(
        {
            "zone_id": ids,
            "name": np.array(names, dtype=np.str_),
            "commune_insee": communes.codes[commune],
            "epci_siren": communes.frame["epci_siren"].to_numpy()[commune].astype(np.str_),
            "kind": np.array(kinds, dtype=np.str_),
            "vocation": np.array(vocations, dtype=np.str_),
            "state": np.array(states, dtype=np.str_),
        },
        geometry=geometry,
        crs=CANONICAL_CRS,
    )
    profiles = pd.Series(
        np.array([z.profile for z in zones], dtype=np.str_),
        index=pd.Index(ids, name="zone_id"),
        name="profile",
    )
    return frame, profiles


def _place_names(rng: np.random.Generator, n: int) -> list[str]:
    plain = [_PLACES[i] for i in rng.permutation(len(_PLACES))]
    qualified = [
        _PLACES[i // (len(_PLACE_QUALIFIERS) - 1)]
        + _PLACE_QUALIFIERS[1 + i % (len(_PLACE_QUALIFIERS) - 1)]
        for i in rng.permutation(len(_PLACES) * (len(_PLACE_QUALIFIERS) - 1))
    ]
    names = plain + qualified
    names += [f"n° {k}" for k in range(len(names) + 1, n + 1)]
    return names[:n]


def _zone_kind(rng: np.random.Generator, zone: _Zone) -> str:
    if zone.geometry.area >= 80e4:
        weights = (0.0, 0.4, 0.2, 0.3, 0.1)
    else:
        weights = (0.45, 0.12, 0.2, 0.2, 0.03)
    kind = _KINDS[int(rng.choice(len(_KINDS), p=weights))]
    if kind == "Technopôle" and zone.profile != "fibre":
        return "Parc d'activités"
    return kind


def _zone_state(rng: np.random.Generator, zone: _Zone, extended: bool) -> str:
    if extended:
        return "en extension"
    if zone.profile == "empty":
        return "en projet"
    return "en extension" if rng.random() < 0.08 else "existante"


# --- coverage ----------------------------------------------------------------------------------


def _coverage_fields(
    rng: np.random.Generator, territory: _Territory, communes: _Communes
) -> _Fields:
    """Fibre around the commune centres, copper decaying from central offices, radio patches."""
    shape = (territory.rows, territory.cols)
    res = territory.resolution
    xs = (territory.xmin + (np.arange(territory.cols) + 0.5) * res).astype(np.float64)
    ys = (territory.top - (np.arange(territory.rows) + 0.5) * res).astype(np.float64)
    relative = communes.weights / np.median(communes.weights)
    fibre_radius = np.clip(1500.0 * np.sqrt(relative), 700.0, 4000.0)
    reach = np.full(shape, np.inf)
    for (cx, cy), radius in zip(communes.centres, fibre_radius, strict=True):
        rows, cols, distance = _window(xs, ys, cx, cy, 2.0 * radius)
        reach[rows, cols] = np.minimum(reach[rows, cols], distance / radius)
    wobble = np.clip(1.0 + 0.35 * _smooth_noise(rng, shape, 40), 0.5, None)
    fibre = reach * wobble < 1.0

    offices = communes.centres + rng.normal(0.0, 400.0, communes.centres.shape)
    copper = np.full(shape, 0.3)
    for cx, cy in offices:
        rows, cols, distance = _window(xs, ys, cx, cy, 10_000.0)
        speed = np.maximum(95.0 * np.exp(-distance / 900.0), 20.0 * np.exp(-distance / 3800.0))
        copper[rows, cols] = np.maximum(copper[rows, cols], speed)
    copper *= np.exp(0.25 * _smooth_noise(rng, shape, 30))
    radio = (_smooth_noise(rng, shape, 100) > 1.2) & ~fibre & (copper < 30.0)
    return _Fields(fibre, np.clip(copper, 0.1, 95.0).astype(np.float32), radio)


def _window(
    xs: FloatArray, ys: FloatArray, cx: float, cy: float, radius: float
) -> tuple[slice, slice, FloatArray]:
    """Slices of the pixels within ``radius`` of a point and their distances to it."""
    c0, c1 = np.searchsorted(xs, [cx - radius, cx + radius])
    r0, r1 = np.searchsorted(-ys, [-(cy + radius), -(cy - radius)])
    distance = np.hypot(xs[None, c0:c1] - cx, ys[r0:r1, None] - cy)
    return slice(int(r0), int(r1)), slice(int(c0), int(c1)), distance


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cell: int) -> FloatArray:
    """Standard-normal noise varying smoothly over ``cell`` pixels (bilinear interpolation)."""
    rows, cols = shape
    coarse = rng.standard_normal((rows // cell + 2, cols // cell + 2))
    fy, fx = (np.arange(rows) + 0.5) / cell, (np.arange(cols) + 0.5) / cell
    iy, ix = fy.astype(np.int64), fx.astype(np.int64)
    wy, wx = (fy - iy)[:, None], (fx - ix)[None, :]
    top = coarse[iy[:, None], ix[None, :]] * (1 - wx) + coarse[iy[:, None], ix[None, :] + 1] * wx
    bottom = (
        coarse[iy[:, None] + 1, ix[None, :]] * (1 - wx)
        + coarse[iy[:, None] + 1, ix[None, :] + 1] * wx
    )
    return np.asarray(top * (1 - wy) + bottom * wy, dtype=np.float64)


def _coverage_raster(
    rng: np.random.Generator,
    territory: _Territory,
    fields: _Fields,
    zones: list[_Zone],
    nodata: list[shapely.Polygon],
) -> CoverageRaster:
    """The fields as speeds, each zone's profile burnt in with noise, then the nodata areas."""
    speed = np.where(fields.fibre, 1000.0, fields.copper).astype(np.float32)
    speed[fields.radio] = np.maximum(speed[fields.radio], 40.0)
    shape = (territory.rows, territory.cols)
    codes = {"fibre": 1, "mixed": 2, "copper": 3, "white": 4}
    burnt = features.rasterize(
        [(z.geometry, codes[z.raster]) for z in zones if z.raster in codes],
        out_shape=shape,
        transform=territory.transform,
        fill=0,
        all_touched=True,
        dtype="uint8",
    )
    for profile, code in codes.items():
        pixels = burnt == code
        speed[pixels] = _profile_speeds(rng, profile, int(pixels.sum()))
    hidden = features.rasterize(
        [(r, 1) for r in nodata], out_shape=shape, transform=territory.transform, dtype="uint8"
    )
    speed[hidden == 1] = np.nan
    return CoverageRaster(speed, territory.transform, CANONICAL_CRS)


def _profile_speeds(rng: np.random.Generator, profile: str, n: int) -> npt.NDArray[np.float32]:
    u = rng.random(n)
    if profile == "fibre":
        speeds = np.where(u < 0.85, 1000.0, rng.uniform(100.0, 500.0, n))
    elif profile == "mixed":
        speeds = np.select(
            [u < 0.45, u < 0.7], [1000.0, rng.uniform(30.0, 100.0, n)], rng.uniform(8.0, 30.0, n)
        )
    elif profile == "copper":
        speeds = np.where(u < 0.75, rng.uniform(8.0, 30.0, n), rng.uniform(3.0, 8.0, n))
    else:
        speeds = np.where(u < 0.15, rng.uniform(0.1, 0.5, n), rng.uniform(0.5, 8.0, n))
    return speeds.astype(np.float32)


# --- land --------------------------------------------------------------------------------------


def _land_layer(
    rng: np.random.Generator,
    scale: DemoScale,
    territory: _Territory,
    communes: _Communes,
    zones: list[_Zone],
) -> gpd.GeoDataFrame:
    n_friches = max(1, round(_FRICHE_SHARE * scale.plots))
    friches_in = round(0.4 * n_friches)
    target_in = round(_ZONE_LAND_SHARE * scale.plots) - friches_in
    regions = [z.region for z in zones]
    weights = np.array([r.area for r in regions]) ** 0.9 * rng.lognormal(0.0, 0.5, len(zones))
    wanted = rng.multinomial(target_in, weights / weights.sum())
    cells = [_plot_cells(rng, r, int(k)) for r, k in zip(regions, wanted, strict=True)]
    rates = np.array([_available_rate(rng, z) for z in zones])
    zone_plots = np.concatenate(cells) if cells else np.empty(0, dtype=object)
    zone_rate = np.repeat(rates, [len(c) for c in cells])

    zone_union = shapely.union_all(np.array([z.geometry for z in zones], dtype=object))
    shapely.prepare(zone_union)
    outside = _outside_plots(
        rng, scale.plots - n_friches - len(zone_plots), territory, communes, zone_union
    )
    polygons = np.concatenate([zone_plots, outside])
    polygon_available = rng.random(len(polygons)) < np.concatenate(
        [zone_rate, np.full(len(outside), 0.35)]
    )
    friches = _friches(rng, n_friches, friches_in, zones, polygons, territory, communes, zone_union)
    friche_available = rng.random(n_friches) < 0.5
    statuses = np.concatenate(
        [
            _plot_status(rng, polygon_available),
            np.where(friche_available, "friche sans projet", "friche avec projet"),
        ]
    )
    geometry = np.concatenate([polygons, friches])
    area = np.concatenate(
        [
            shapely.area(polygons) / 1e4,
            np.round(np.clip(rng.lognormal(0.4, 0.8, n_friches), 0.1, 20.0), 2),
        ]
    )
    n = len(geometry)
    return gpd.GeoDataFrame(
        {
            "plot_id": _ids("DEMO-P", n, 5),
            "available": np.concatenate([polygon_available, friche_available]),
            "status": statuses.astype(np.str_),
            "source": np.repeat(np.array(["terrain-eco", "friche"]), [len(polygons), n_friches]),
            "area_ha": area.astype(np.float64),
        },
        geometry=geometry,
        crs=CANONICAL_CRS,
    )


def _available_rate(rng: np.random.Generator, zone: _Zone) -> float:
    """Share of available plots in a zone: often none, sometimes most, mostly so in new zones."""
    if zone.profile == "empty":
        return float(rng.uniform(0.5, 1.0))
    u = rng.random()
    if u < 0.5:
        return 0.0
    if u < 0.82:
        return float(rng.uniform(0.05, 0.35))
    return float(rng.uniform(0.5, 0.9))


def _plot_status(rng: np.random.Generator, available: BoolArray) -> npt.NDArray[np.str_]:
    u = rng.random(len(available))
    free = np.where(u < 0.7, "disponible", "en cours de commercialisation")
    taken = np.where(u < 0.8, "occupé", "réservé")
    return np.where(available, free, taken)


def _plot_cells(rng: np.random.Generator, region: BaseGeometry, n: int) -> GeomArray:
    """Up to ``n`` non-overlapping rectangles inside ``region``, on a grid along its main axis."""
    if n == 0 or region.is_empty:
        return np.empty(0, dtype=object)
    cell_area = float(np.clip(region.area * 0.55 / n, 1200.0, 50_000.0))
    aspect = rng.uniform(1.0, 2.0)
    w, h = math.sqrt(cell_area * aspect), math.sqrt(cell_area / aspect)
    origin = region.centroid
    angle = _main_axis(region)
    local = affinity.rotate(region, -angle, origin=origin, use_radians=True)
    xmin, ymin, xmax, ymax = local.bounds
    gx, gy = np.meshgrid(
        np.arange(xmin - rng.uniform(0, w), xmax, w), np.arange(ymin - rng.uniform(0, h), ymax, h)
    )
    gx, gy = gx.ravel(), gy.ravel()
    fx, fy = rng.uniform(0.8, 1.0, (2, len(gx)))
    boxes = shapely.box(gx + 2.0, gy + 2.0, gx + w * fx - 2.0, gy + h * fy - 2.0)
    shapely.prepare(local)
    inside = boxes[shapely.within(boxes, local)]
    if len(inside) > n:
        inside = inside[np.sort(rng.choice(len(inside), n, replace=False))]
    return _rotate(inside, angle, (origin.x, origin.y))


def _main_axis(geometry: BaseGeometry) -> float:
    envelope = shapely.oriented_envelope(geometry)
    coords = shapely.get_coordinates(envelope)
    if len(coords) < 3:
        return 0.0
    dx, dy = coords[1] - coords[0]
    return math.atan2(dy, dx)


def _rotate(geometries: GeomArray, angle: float, origin: tuple[float, float]) -> GeomArray:
    cos, sin = math.cos(angle), math.sin(angle)
    matrix = np.array([[cos, sin], [-sin, cos]])
    centre = np.asarray(origin)

    def turn(coords: FloatArray) -> FloatArray:
        return np.asarray((coords - centre) @ matrix + centre, dtype=np.float64)

    return np.asarray(shapely.transform(geometries, turn), dtype=object)


def _rectangles(
    x: FloatArray, y: FloatArray, w: FloatArray, h: FloatArray, angle: FloatArray
) -> GeomArray:
    """Rectangles centred on ``(x, y)``, of sides ``w`` and ``h``, turned by ``angle`` radians."""
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5]])
    dx, dy = corners[None, :, 0] * w[:, None], corners[None, :, 1] * h[:, None]
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    coords = np.stack([x[:, None] + dx * cos - dy * sin, y[:, None] + dx * sin + dy * cos], axis=2)
    return np.asarray(shapely.polygons(coords), dtype=object)


def _outside_plots(
    rng: np.random.Generator,
    n: int,
    territory: _Territory,
    communes: _Communes,
    zone_union: BaseGeometry,
) -> GeomArray:
    """``n`` rectangles near the commune centres, off the zones and apart from each other."""
    inner = territory.inner(_EDGE_MARGIN_M)
    zone_margin = zone_union.buffer(30.0, quad_segs=4)
    shapely.prepare(inner)
    shapely.prepare(zone_margin)
    accepted = np.empty(0, dtype=object)
    sigma = 0.3 * np.sqrt(shapely.area(communes.geometry))
    for _ in range(100):
        missing = n - len(accepted)
        if missing <= 0:
            return accepted[:n]
        m = int(missing * 1.5) + 16
        xy = _scatter(rng, m, communes, sigma, 0.3, territory)
        area = np.clip(rng.lognormal(math.log(6000.0), 0.9, m), 500.0, 50_000.0)
        aspect = rng.uniform(1.0, 2.0, m)
        angle = np.where(rng.random(m) < 0.5, rng.uniform(0.0, math.pi, m), 0.0)
        candidates = _rectangles(
            xy[:, 0], xy[:, 1], np.sqrt(area * aspect), np.sqrt(area / aspect), angle
        )
        keep = shapely.contains(inner, candidates) & ~shapely.intersects(zone_margin, candidates)
        source, target = shapely.STRtree(candidates).query(candidates, predicate="intersects")
        keep[target[source < target]] = False
        if len(accepted):
            hit, _ = shapely.STRtree(accepted).query(candidates, predicate="intersects")
            keep[hit] = False
        accepted = np.concatenate([accepted, candidates[keep]])
    raise RuntimeError("cannot place the plots of the demo territory outside its zones")


def _friches(
    rng: np.random.Generator,
    n: int,
    n_in_zones: int,
    zones: list[_Zone],
    plots: GeomArray,
    territory: _Territory,
    communes: _Communes,
    zone_union: BaseGeometry,
) -> GeomArray:
    """Points of brownfields: some in occupied zones (off the plots), the rest off the zones."""
    hosts = np.flatnonzero([z.profile != "empty" for z in zones])
    per_zone = np.bincount(rng.choice(hosts, n_in_zones), minlength=len(zones))
    plot_union = shapely.union_all(plots)
    shapely.prepare(plot_union)
    inside = [
        _sample_in(rng, zones[i].region, int(k), plot_union)
        for i, k in enumerate(per_zone)
        if k > 0
    ]
    xy = np.concatenate([*inside, np.empty((0, 2))])
    sigma = 0.3 * np.sqrt(shapely.area(communes.geometry))
    blocked = shapely.union_all([zone_union, plot_union])
    shapely.prepare(blocked)
    outside = _scatter_off(rng, n - len(xy), communes, sigma, 0.5, territory, blocked)
    xy = np.concatenate([xy, outside])
    return np.asarray(shapely.points(xy), dtype=object)


# --- premises ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Buildings:
    """Premises as arrays: coordinates, locaux, class and technology indices, fibre availability."""

    xy: FloatArray
    locaux: IntArray
    classes: IntArray
    technos: IntArray
    ftth: BoolArray

    @staticmethod
    def concat(parts: Sequence[_Buildings]) -> _Buildings:
        return _Buildings(
            np.concatenate([p.xy for p in parts]),
            np.concatenate([p.locaux for p in parts]),
            np.concatenate([p.classes for p in parts]),
            np.concatenate([p.technos for p in parts]),
            np.concatenate([p.ftth for p in parts]),
        )


def _premises_layer(
    rng: np.random.Generator,
    scale: DemoScale,
    territory: _Territory,
    communes: _Communes,
    zones: list[_Zone],
    land: gpd.GeoDataFrame,
    fields: _Fields,
) -> gpd.GeoDataFrame:
    free = land.geometry.to_numpy()[
        land["available"].to_numpy() & (land["source"] == "terrain-eco").to_numpy()
    ]
    free_union = shapely.union_all(free)
    shapely.prepare(free_union)
    n_in = round(_ZONE_PREMISES_SHARE * scale.premises)
    counts = _zone_premises_counts(rng, n_in, zones)
    inside = [
        _zone_buildings(rng, zone, int(k), free_union)
        for zone, k in zip(zones, counts, strict=True)
        if k > 0
    ]
    zone_union = shapely.union_all(np.array([z.geometry for z in zones], dtype=object))
    blocked = shapely.union_all([zone_union, free_union])
    shapely.prepare(blocked)
    outside = _outside_buildings(rng, scale.premises - n_in, territory, communes, fields, blocked)
    buildings = _Buildings.concat([*inside, outside])

    points = np.asarray(shapely.points(buildings.xy), dtype=object)
    commune = _locate(points, communes.geometry)
    return gpd.GeoDataFrame(
        {
            "premises_id": _ids("DEMO-B", scale.premises, 7),
            "locaux": buildings.locaux,
            "down_class": np.array(SPEED_CLASSES, dtype=np.str_)[buildings.classes],
            "best_techno": np.array(TECHNOLOGIES, dtype=np.str_)[buildings.technos],
            "ftth": buildings.ftth,
            "commune_insee": communes.codes[commune],
        },
        geometry=points,
        crs=CANONICAL_CRS,
    )


def _zone_buildings(
    rng: np.random.Generator, zone: _Zone, n: int, exclude: BaseGeometry
) -> _Buildings:
    """``n`` buildings spread over a zone (off its available plots), classed by its profile."""
    xy = _sample_in(rng, zone.region, n, exclude)
    locaux = _locaux(rng, n)
    classes, technos, ftth = _zone_classes(rng, zone.profile, locaux)
    return _Buildings(xy, locaux, classes, technos, ftth)


def _outside_buildings(
    rng: np.random.Generator,
    n: int,
    territory: _Territory,
    communes: _Communes,
    fields: _Fields,
    blocked: BaseGeometry,
) -> _Buildings:
    """``n`` buildings around the commune centres, classed by the coverage fields under them."""
    sigma = 0.12 * np.sqrt(shapely.area(communes.geometry))
    xy = _scatter_off(rng, n, communes, sigma, 0.15, territory, blocked)
    classes, technos, ftth = _outside_classes(rng, xy, territory, fields)
    return _Buildings(xy, _locaux(rng, n), classes, technos, ftth)


def _zone_premises_counts(rng: np.random.Generator, n: int, zones: list[_Zone]) -> IntArray:
    """Buildings per zone: none in empty zones, at least 5 elsewhere, the rest by area."""
    occupied = np.array([z.profile != "empty" for z in zones])
    floor = np.where(occupied, min(5, n // max(1, int(occupied.sum()))), 0)
    area = np.array([z.region.area for z in zones])
    weights = np.where(occupied, area * rng.lognormal(0.0, 0.6, len(zones)), 0.0)
    extra = rng.multinomial(n - int(floor.sum()), weights / weights.sum())
    return (floor + extra).astype(np.int64)


def _locaux(rng: np.random.Generator, n: int) -> IntArray:
    """Locaux per building: 1 to 3 mostly, a Pareto tail up to 200."""
    return np.clip(np.floor(rng.random(n) ** (-1 / 1.5)), 1, 200).astype(np.int64)


def _zone_classes(
    rng: np.random.Generator, profile: str, locaux: IntArray
) -> tuple[IntArray, IntArray, BoolArray]:
    """Class and technology indices and fibre availability of the buildings of one zone."""
    spec = _PROFILE_SPECS[profile]
    n = len(locaux)
    order = rng.permutation(n)
    weights = locaux[order].astype(np.float64)
    before = (np.cumsum(weights) - weights) / weights.sum()
    cuts = np.array([rng.uniform(lo, hi) for lo, hi in spec.cuts])
    tier = np.empty(n, dtype=np.int64)
    tier[order] = np.searchsorted(cuts, before, side="right")
    classes = np.empty(n, dtype=np.int64)
    technos = np.empty(n, dtype=np.int64)
    for t, options in enumerate(spec.tiers):
        members = np.flatnonzero(tier == t)
        classes[members], technos[members] = _pick(rng, options, len(members))
    fibre = technos == _TECHNO["FO"]
    ftth = fibre | (rng.random(n) < spec.ftth_share)
    return classes, technos, ftth


def _pick(
    rng: np.random.Generator, options: Sequence[_Option], n: int
) -> tuple[IntArray, IntArray]:
    weights = np.array([w for _, _, w in options])
    choice = rng.choice(len(options), n, p=weights / weights.sum())
    classes = np.array([_CLASS[c] for c, _, _ in options], dtype=np.int64)
    technos = np.array([_TECHNO[t] for _, t, _ in options], dtype=np.int64)
    return classes[choice], technos[choice]


def _outside_classes(
    rng: np.random.Generator, xy: FloatArray, territory: _Territory, fields: _Fields
) -> tuple[IntArray, IntArray, BoolArray]:
    """Classes read from the coverage fields under each building, most fibre-area ones connected."""
    row, col = territory.pixel(xy[:, 0], xy[:, 1])
    fibre, copper, radio = fields.fibre[row, col], fields.copper[row, col], fields.radio[row, col]
    n = len(xy)
    u = rng.random((4, n))
    speed = np.where(radio, np.maximum(copper, 40.0), copper)
    classes = speed_class_rank(speed)
    technos = np.select(
        [
            radio & (copper < 30.0),
            (classes == _CLASS["BHD8"]) & (u[0] < 0.25),
            (classes < _CLASS["BHD8"]) & (u[0] < 0.15),
        ],
        [_TECHNO["THDR"], _TECHNO["4GF"], _TECHNO["HDR"]],
        _TECHNO["CU"],
    ).astype(np.int64)
    connected = fibre & (u[1] < 0.85)
    cable = fibre & ~connected & (u[2] < 0.3)
    classes = np.where(cable, _CLASS["THD100"], classes)
    technos = np.where(cable, _TECHNO["COAX"], technos)
    classes = np.where(connected, np.where(u[3] < 0.8, _CLASS["THD1G"], _CLASS["THD100"]), classes)
    technos = np.where(connected, _TECHNO["FO"], technos)
    ftth = connected | (fibre & (u[2] >= 0.3) & (u[3] < 0.5))
    return classes.astype(np.int64), technos.astype(np.int64), ftth


# --- sampling ----------------------------------------------------------------------------------


def _sample_in(
    rng: np.random.Generator, region: BaseGeometry, n: int, exclude: BaseGeometry | None = None
) -> FloatArray:
    """``n`` uniform points in ``region`` (outside ``exclude``), as an (n, 2) array."""
    xmin, ymin, xmax, ymax = region.bounds
    shapely.prepare(region)
    fill = max(region.area / ((xmax - xmin) * (ymax - ymin)), 0.05)
    found = [np.empty((0, 2))]
    total = 0
    for _ in range(200):
        if total >= n:
            return np.concatenate(found)[:n]
        m = int((n - total) / fill * 1.3) + 8
        x, y = rng.uniform(xmin, xmax, m), rng.uniform(ymin, ymax, m)
        keep = shapely.contains_xy(region, x, y)
        if exclude is not None:
            keep &= ~shapely.contains_xy(exclude, x, y)
        found.append(np.column_stack([x[keep], y[keep]]))
        total += int(keep.sum())
    raise RuntimeError("cannot sample points in a zone of the demo territory")


def _scatter(
    rng: np.random.Generator,
    n: int,
    communes: _Communes,
    sigma: FloatArray,
    uniform_share: float,
    territory: _Territory,
) -> FloatArray:
    """Points around the commune centres (by population), a share uniform over the territory."""
    k = rng.choice(len(communes.weights), n, p=communes.weights)
    xy = communes.centres[k] + rng.normal(0.0, 1.0, (n, 2)) * sigma[k, None]
    uniform = rng.random(n) < uniform_share
    xy[uniform, 0] = rng.uniform(territory.xmin, territory.xmax, int(uniform.sum()))
    xy[uniform, 1] = rng.uniform(territory.ymin, territory.ymax, int(uniform.sum()))
    return xy


def _scatter_off(
    rng: np.random.Generator,
    n: int,
    communes: _Communes,
    sigma: FloatArray,
    uniform_share: float,
    territory: _Territory,
    blocked: BaseGeometry,
) -> FloatArray:
    """``n`` points from :func:`_scatter` inside the territory and outside ``blocked``."""
    found = [np.empty((0, 2))]
    total = 0
    for _ in range(100):
        if total >= n:
            return np.concatenate(found)[:n]
        m = int((n - total) * 1.3) + 16
        xy = _scatter(rng, m, communes, sigma, uniform_share, territory)
        x, y = xy[:, 0], xy[:, 1]
        keep = (
            (x > territory.xmin)
            & (x < territory.xmax)
            & (y > territory.ymin)
            & (y < territory.ymax)
            & ~shapely.contains_xy(blocked, x, y)
        )
        found.append(xy[keep])
        total += int(keep.sum())
    raise RuntimeError("cannot scatter points over the demo territory")


# --- national scale ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NationalScale:
    """A national territory: a grid of ``columns`` × ``rows`` blocks, each of scale ``block``.

    Block ``k`` (row by row from the south-west) gets the ``k``-th département code of
    :func:`national_departements`, a seed derived from the national seed and ``k``, and its
    place on the grid; its ids start with ``N<code>-`` and its INSEE codes with ``<code>``.
    """

    name: str
    columns: int
    rows: int
    block: DemoScale

    @property
    def blocks(self) -> int:
        """Number of blocks."""
        return self.columns * self.rows

    @property
    def zones(self) -> int:
        """Number of zones of the whole territory."""
        return self.blocks * self.block.zones

    @property
    def premises(self) -> int:
        """Number of premises of the whole territory."""
        return self.blocks * self.block.premises


#: Blocks of 80 km × 80 km with 500 zones and 500,000 premises each; the coverage raster is
#: drawn at 200 m (a 50 m raster of France would take about 1 GB).
NATIONAL_SCALES: Final[dict[str, NationalScale]] = {
    "national": NationalScale(
        "national",
        10,
        9,
        DemoScale("national-block", 120, 8, 500, 1_500, 500_000, 80.0, 80.0, 200.0),
    ),
}
#: South-west corner of the national grid in Lambert-93 (the Bay of Biscay coast, roughly).
_NATIONAL_ORIGIN: Final = (230_000.0, 6_250_000.0)
_MAX_BLOCKS: Final = 94


def national_departements(count: int) -> list[str]:
    """The département codes given to ``count`` blocks: 01 to 95 without Corsica's 20."""
    return [f"{d:02d}" for d in range(1, 96) if d != 20][:count]


def national_grid(scale: str | NationalScale = "national") -> CoverageRaster:
    """The coverage raster grid of a national territory, every pixel unknown (NaN)."""
    spec = _resolve_national(scale)
    block = _territory(spec.block)
    data = np.full((spec.rows * block.rows, spec.columns * block.cols), np.nan, np.float32)
    x0, y0 = _NATIONAL_ORIGIN
    top = y0 + spec.rows * block.rows * block.resolution
    transform = Affine(block.resolution, 0.0, x0, 0.0, -block.resolution, top)
    return CoverageRaster(data, transform, CANONICAL_CRS)


def paste_block(national: CoverageRaster, block: CoverageRaster) -> None:
    """Copy the raster of a block (from :func:`national_blocks`) into ``national``, in place."""
    res = national.transform.a
    col = round((block.transform.c - national.transform.c) / res)
    row = round((national.transform.f - block.transform.f) / res)
    rows, cols = block.shape
    national.data[row : row + rows, col : col + cols] = block.data


def national_blocks(
    scale: str | NationalScale = "national",
    seed: int = 2154,
    progress: Callable[[str], None] | None = None,
) -> Iterator[DemoTerritory]:
    """Draw a national territory block by block.

    Parameters
    ----------
    scale : str or NationalScale, default "national"
        A name of :data:`NATIONAL_SCALES` or a custom national scale.
    seed : int, default 2154
        National seed; block ``k`` is drawn by :func:`build_demo` from a seed derived from
        ``(seed, k)``, so the same seed gives identical blocks.
    progress : callable, optional
        Called with ``"block k/n"`` before each block is drawn.

    Yields
    ------
    DemoTerritory
        Each block in national coordinates, ids and codes (its ``scale`` is the block's).
    """
    spec = _resolve_national(scale)
    report = progress if progress is not None else _silent
    codes = national_departements(spec.blocks)
    block = _territory(spec.block)
    for k, code in enumerate(codes):
        report(f"block {k + 1}/{spec.blocks}")
        block_seed = int(np.random.SeedSequence([seed, k]).generate_state(1)[0])
        row, col = divmod(k, spec.columns)
        dx = _NATIONAL_ORIGIN[0] + col * (block.xmax - block.xmin) - block.xmin
        dy = _NATIONAL_ORIGIN[1] + row * (block.top - block.ymin) - block.ymin
        yield _national_block(build_demo(spec.block, seed=block_seed), code, dx, dy)


def _resolve_national(scale: str | NationalScale) -> NationalScale:
    if isinstance(scale, str):
        if scale not in NATIONAL_SCALES:
            raise ParameterError(
                "scale", f"expected one of {', '.join(NATIONAL_SCALES)}; got {scale!r}"
            )
        scale = NATIONAL_SCALES[scale]
    _check_scale(scale.block)
    block = _territory(scale.block)
    if not 1 <= scale.blocks <= _MAX_BLOCKS:
        raise ParameterError("scale", f"a national territory has 1 to {_MAX_BLOCKS} blocks")
    if block.cols * block.resolution != block.xmax - block.xmin or (block.top != block.ymax):
        raise ParameterError("scale", "the block size must be a whole number of raster pixels")
    return scale


def _national_block(territory: DemoTerritory, code: str, dx: float, dy: float) -> DemoTerritory:
    """A block moved by ``(dx, dy)``, its ids prefixed ``N<code>-``, its codes in ``code``."""
    offset = np.array([dx, dy])
    layers = {}
    for name in ("communes", "zones", "land", "premises"):
        frame = getattr(territory, name).copy()
        frame.geometry = shapely.transform(frame.geometry.values, lambda xy: xy + offset)
        for column in ("zone_id", "plot_id", "premises_id"):
            if column in frame.columns:
                frame[column] = frame[column].str.replace("DEMO-", f"N{code}-", n=1)
        if "commune_insee" in frame.columns:
            frame["commune_insee"] = code + frame["commune_insee"].str.slice(2)
        if "epci_siren" in frame.columns:
            frame["epci_siren"] = "2" + code + "0000" + frame["epci_siren"].str.slice(-2)
        if "epci_name" in frame.columns:
            frame["epci_name"] = frame["epci_name"] + f" ({code})"
        layers[name] = frame
    raster = territory.coverage
    moved = CoverageRaster(raster.data, Affine.translation(dx, dy) @ raster.transform, raster.crs)
    profiles = territory.profiles.copy()
    profiles.index = layers["zones"]["zone_id"].to_numpy()
    profiles.index.name = "zone_id"
    return DemoTerritory(
        communes=layers["communes"],
        zones=layers["zones"],
        land=layers["land"],
        premises=layers["premises"],
        coverage=moved,
        profiles=profiles,
        scale=territory.scale,
        seed=territory.seed,
        data_date=territory.data_date,
    )
