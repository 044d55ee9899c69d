"""Features of a collection held in memory, ready to filter, sort, page and serialise.

A :class:`FeatureIndex` is built once per collection and store version (see
:func:`feature_index`): the layer in CRS84, an STRtree over its geometries for ``bbox``
queries, each property as a numpy array (strings also as sorted integer codes, so equality
filters and sorts are vectorised), and, for small collections, every feature's geometry and
properties already as JSON text. A page of a large collection (premises) is serialised from
the arrays for that page only.
"""

from __future__ import annotations

import math
import operator
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, Protocol, TypeVar

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pygeofilter import ast as cql_ast
from shapely.geometry import mapping

from geo_service import cql
from geo_service.analysis import split_reasons
from geo_service.api.collections import CollectionSpec, FilterValue, Property, PropertyType
from geo_service.api.links import Link, feature_links
from geo_service.api.responses import dumps
from geo_service.crs import CRS84, SupportedCrs, from_crs84
from geo_service.errors import NotFoundError
from geo_service.model import OUTPUT_CRS
from geo_service.workspace import CacheKey, CacheKind, Workspace

#: Stands for the service's base URL in cached link JSON (JSON writes it as \u0000, which
#: no escaped id or title can contain).
_BASE_MARK: Final = "\x00"
_BASE_MARK_JSON: Final = "\\u0000"

#: Decimals of the coordinates on the wire (6 decimals of a degree: about 0.1 m).
COORDINATE_DECIMALS: Final = CRS84.decimals
#: Bytes of serialised item pages kept per collection and store version; a page larger than
#: an eighth of it is not kept.
PAGE_CACHE_BYTES: Final = 64 * 1024 * 1024

Positions = npt.NDArray[np.intp]
BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class _Column:
    """A property as arrays: ``values`` (float for numbers and booleans, object for strings),
    and for strings ``codes`` in sorted order (-1 for null) with the code of each value."""

    prop: Property
    values: npt.NDArray[Any]
    codes: npt.NDArray[np.int64] | None = None
    lookup: dict[str, int] | None = None

    def python(self, positions: Positions) -> list[Any]:
        """The JSON-ready values at ``positions``."""
        values = self.values[positions].tolist()
        kind = self.prop.type
        if kind == "string":
            return [None if _missing(v) else str(v) for v in values]
        if kind == "array":
            return [split_reasons(v) for v in values]
        if kind == "integer":
            return [None if not math.isfinite(v) else int(v) for v in values]
        if kind == "boolean":
            return [None if not math.isfinite(v) else bool(v) for v in values]
        return [None if not math.isfinite(v) else v for v in values]

    def sort_keys(self, positions: Positions, descending: bool) -> tuple[npt.NDArray[Any], ...]:
        """(null flag, value) keys for ``np.lexsort``; nulls come last either way."""
        if self.codes is not None:
            raw = self.codes[positions].astype(np.float64)
            null = raw < 0
        else:
            raw = self.values[positions].astype(np.float64)
            null = ~np.isfinite(raw)
        value = np.where(null, 0.0, raw)
        return null, -value if descending else value


def _coded(prop: Property, spec: CollectionSpec) -> bool:
    # Equality on the id column goes through the id index: codes only if it is sortable.
    return prop.sortable or (prop.queryable and prop.name != spec.id_column)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _column(prop: Property, frame: pd.DataFrame, *, coded: bool) -> _Column:
    """The column of ``prop``; ``coded`` strings also get sorted codes (filters, sorting)."""
    if prop.name not in frame.columns:
        series = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    else:
        series = frame[prop.name]
    if prop.type in ("string", "array"):
        values = series.to_numpy(dtype=object, na_value=None)
        if prop.type == "array" or not coded:
            return _Column(prop, values)
        text = np.array([None if _missing(v) else str(v) for v in values], dtype=object)
        codes, uniques = pd.factorize(text, sort=True, use_na_sentinel=True)
        lookup = {str(u): i for i, u in enumerate(uniques)}
        return _Column(prop, text, codes.astype(np.int64), lookup)
    try:
        numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return _Column(prop, numbers)


@dataclass(frozen=True)
class Output:
    """How features are written: the CRS of their coordinates, which properties (None: all),
    and whether the geometry is left out (``skipGeometry``)."""

    crs: SupportedCrs = CRS84
    properties: tuple[str, ...] | None = None
    skip_geometry: bool = False


DEFAULT_OUTPUT: Final = Output()


@dataclass(frozen=True)
class SerialisedPage:
    """A GeoJSON page of items serialised once: the whole response but its ``timeStamp``."""

    head: bytes
    tail: bytes

    def body(self, timestamp: str) -> bytes:
        """The response body stamped with ``timestamp``."""
        return b"".join((self.head, dumps(timestamp).encode(), self.tail))

    @property
    def size(self) -> int:
        """Bytes held."""
        return len(self.head) + len(self.tail)


class _Sized(Protocol):
    @property
    def size(self) -> int: ...


CachedT = TypeVar("CachedT", bound=_Sized)


class PageCache(Generic[CachedT]):
    """Serialised pages (or tiles) by request key, least recently used first out, bounded in
    bytes.

    It belongs to a :class:`FeatureIndex`, which is rebuilt when the store replaces the
    layer: a page is never served from an older version of the data.
    """

    def __init__(self, budget: int = PAGE_CACHE_BYTES) -> None:
        self.budget = budget
        self._pages: OrderedDict[Hashable, CachedT] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], CachedT]) -> CachedT:
        """The page of ``key``, built by ``build()`` on a miss (errors are not cached)."""
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
                return page
        page = build()
        if page.size > self.budget // 8:
            return page
        with self._lock:
            if key not in self._pages:
                self._pages[key] = page
                self._bytes += page.size
            while self._bytes > self.budget:
                _, dropped = self._pages.popitem(last=False)
                self._bytes -= dropped.size
        return page


class FeatureIndex:
    """One collection's features in memory (CRS84), with its spatial index and columns."""

    def __init__(self, spec: CollectionSpec, frame: gpd.GeoDataFrame) -> None:
        self.spec = spec
        if frame.crs is not None:
            frame = frame.to_crs(OUTPUT_CRS)
        frame = frame.reset_index(drop=True)
        self.size = len(frame)
        self.ids: npt.NDArray[Any] = np.array(
            [str(v) for v in frame[spec.id_column].tolist()], dtype=object
        )
        self._id_index = pd.Index(self.ids)
        self._id_index.get_indexer(self.ids[:1])  # builds the hash table now, not on a request
        self.geometries: npt.NDArray[Any] = np.asarray(frame.geometry.values, dtype=object)
        self.tree = shapely.STRtree(self.geometries)
        #: x, y of each feature when every one is a point (NaN where missing): boxes are then
        #: tested on the coordinates, in a few ms for a million points.
        self._points_xy = _point_coordinates(self.geometries)
        self.bbox = _bounds(self.geometries)
        self.properties_served = (*spec.properties, *_extra_properties(spec, frame))
        self.columns = {
            p.name: _column(p, frame, coded=_coded(p, spec)) for p in self.properties_served
        }
        #: Properties usable in CQL2 filters, with their type (arrays are not).
        self.filterable: dict[str, cql.PropertyKind] = {
            p.name: p.type for p in self.properties_served if p.type != "array"
        }
        self.pages: PageCache[SerialisedPage] = PageCache()
        self._nullable_columns: dict[str, pd.Series] = {}
        self._geometry_json: list[str | None] | None = None
        self._properties_json: list[str] | None = None
        self._link_templates: list[str] | None = None
        self._feature_heads: list[str] | None = None
        if spec.precompute:
            everything = np.arange(self.size, dtype=np.intp)
            self._geometry_json = self._make_geometry_json(everything)
            self._properties_json = [dumps(p) for p in self.properties(everything)]
            self._link_templates = self._make_link_templates(everything)
            self._feature_heads = self._make_feature_heads(everything)

    # -- selection ------------------------------------------------------------------------
    def position(self, feature_id: str) -> int:
        """Position of feature ``feature_id``; raises NotFoundError when absent."""
        found = self._id_index.get_indexer([feature_id])[0]
        if found < 0:
            raise NotFoundError(f"no feature '{feature_id}' in collection '{self.spec.id}'")
        return int(found)

    def positions_of(self, ids: Sequence[str]) -> Positions:
        """The sorted positions of the features with these ids (unknown ids ignored)."""
        found = self._id_index.get_indexer(list(ids))
        return np.sort(found[found >= 0]).astype(np.intp)

    def select(
        self,
        boxes: Sequence[BBox] | None = None,
        filters: dict[str, FilterValue] | None = None,
        sortby: Sequence[tuple[str, bool]] = (),
        condition: Any = None,
        matched: Positions | None = None,
    ) -> Positions | None:
        """Positions of the features matching every criterion, in order (None: all, as stored).

        Parameters
        ----------
        boxes
            CRS84 boxes; a feature matches when its geometry intersects one of them.
        condition
            A checked CQL2 filter, evaluated here (:meth:`matching`).
        matched
            The positions a filter evaluated elsewhere kept (:func:`sql_matches`).
        filters
            Property name to the value it must equal.
        sortby
            ``(property, descending)`` pairs, most significant first; nulls sort last.
        """
        positions: Positions | None = None
        if boxes is not None:
            positions = self._in_boxes(boxes)
        if condition is not None:
            kept = self.matching(condition)
            positions = kept if positions is None else np.intersect1d(positions, kept)
        if matched is not None:
            positions = matched if positions is None else np.intersect1d(positions, matched)
        for name, value in (filters or {}).items():
            positions = self._equal(name, value, positions)
        if sortby:
            positions = self._sorted(
                np.arange(self.size) if positions is None else positions, sortby
            )
        return positions

    def matching(self, node: Any) -> Positions:
        """Positions of the features a checked CQL2 AST (:func:`~geo_service.cql.parse_filter`)
        keeps: true, not false nor unknown (SQL's three-valued logic, so that a null never
        matches, even under NOT)."""
        kept = self._truth(node).to_numpy(dtype=bool, na_value=False)
        return np.flatnonzero(kept).astype(np.intp)

    def _truth(self, node: Any) -> Any:
        """Kleene truth of ``node`` for every feature (NA: unknown)."""
        if isinstance(node, bool):
            return pd.array(np.full(self.size, node), dtype="boolean")
        if isinstance(node, cql_ast.And):
            return self._truth(node.lhs) & self._truth(node.rhs)
        if isinstance(node, cql_ast.Or):
            return self._truth(node.lhs) | self._truth(node.rhs)
        if isinstance(node, cql_ast.Not):
            return ~self._truth(node.sub_node)
        if type(node) in cql.COMPARISONS:
            return _compare(self._nullable(node.lhs.name), cql.COMPARISONS[type(node)], node.rhs)
        if isinstance(node, cql_ast.Like):
            column = self._nullable(node.lhs.name)
            truth = column.str.fullmatch(cql.like_regex(node.pattern)).astype("boolean")
            return ~truth if node.not_ else truth
        if isinstance(node, cql_ast.In):
            column = self._nullable(node.lhs.name)
            truth = pd.array(column.isin(list(node.sub_nodes)).to_numpy(), dtype="boolean")
            truth[column.isna().to_numpy()] = pd.NA
            return ~truth if node.not_ else truth
        if isinstance(node, cql_ast.Between):
            column = self._nullable(node.lhs.name)
            truth = (column >= node.low) & (column <= node.high)
            return ~truth if node.not_ else truth
        if isinstance(node, cql_ast.IsNull):
            null = pd.array(self._nullable(node.lhs.name).isna(), dtype="boolean")
            return ~null if node.not_ else null
        name, predicate = cql.SPATIAL[type(node)]
        return self._spatial(name, predicate, node.rhs.geometry)

    def _spatial(self, name: str, predicate: Any, literal: Any) -> pd.arrays.BooleanArray:
        truth = np.zeros(self.size, dtype=bool)
        # Every predicate but disjoint implies intersecting: test the tree's candidates only.
        candidates = self.tree.query(literal, predicate="intersects")
        if name == "disjoint":
            truth[:] = True
            truth[candidates] = False
        else:
            truth[candidates] = predicate(self.geometries[candidates], literal)
        result = pd.array(truth, dtype="boolean")
        result[shapely.is_missing(self.geometries)] = pd.NA
        return result

    def _nullable(self, name: str) -> pd.Series:
        """The column ``name`` as a pandas Series of a nullable dtype (cached)."""
        cached = self._nullable_columns.get(name)
        if cached is None:
            column = self.columns[name]
            kind = column.prop.type
            if kind == "string":
                text = [None if _missing(v) else str(v) for v in column.values.tolist()]
                cached = pd.Series(pd.array(text, dtype="string"))
            elif kind == "boolean":
                values = column.values
                cached = pd.Series(
                    pd.array(np.where(np.isnan(values), None, values == 1.0), dtype="boolean")
                )
            else:
                cached = pd.Series(pd.array(column.values, dtype="Float64"))
                cached[np.isnan(column.values)] = pd.NA
            self._nullable_columns[name] = cached
        return cached

    def _in_boxes(self, boxes: Sequence[BBox]) -> Positions:
        if self._points_xy is not None:
            x, y = self._points_xy
            inside = np.zeros(self.size, dtype=bool)
            for west, south, east, north in boxes:
                inside |= (x >= west) & (x <= east) & (y >= south) & (y <= north)
            return np.flatnonzero(inside).astype(np.intp)
        hits = [self.tree.query(shapely.box(*b), predicate="intersects") for b in boxes]
        return np.unique(np.concatenate(hits)).astype(np.intp)

    def _equal(self, name: str, value: FilterValue, positions: Positions | None) -> Positions:
        if name == self.spec.id_column:
            found = self._id_index.get_indexer([str(value)])
            matches = found[found >= 0].astype(np.intp)
            return matches if positions is None else np.intersect1d(matches, positions)
        column = self.columns[name]
        if column.codes is not None:
            code = (column.lookup or {}).get(str(value))
            if code is None:
                return np.empty(0, dtype=np.intp)
            keys: npt.NDArray[Any] = column.codes
            target: float = code
        else:
            keys, target = column.values, float(value)
        if positions is None:
            return np.flatnonzero(keys == target).astype(np.intp)
        kept: Positions = positions[keys[positions] == target]
        return kept

    def _sorted(self, positions: Positions, sortby: Sequence[tuple[str, bool]]) -> Positions:
        keys: list[npt.NDArray[Any]] = []
        for name, descending in sortby:
            keys.extend(self.columns[name].sort_keys(positions, descending))
        order = np.lexsort(keys[::-1])
        ordered: Positions = positions[order]
        return ordered

    # -- serialisation ----------------------------------------------------------------------
    def properties(
        self, positions: Positions, names: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """The properties (all, or ``names``) of the features at ``positions``, JSON-ready."""
        names = list(self.columns) if names is None else list(names)
        values = [self.columns[name].python(positions) for name in names]
        return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]

    def geometry_json(self, positions: Positions) -> list[str | None]:
        """GeoJSON geometries (CRS84, rounded) at ``positions``."""
        if self._geometry_json is not None:
            return [self._geometry_json[i] for i in positions.tolist()]
        return self._make_geometry_json(positions)

    def properties_json(self, positions: Positions) -> list[str]:
        """The properties of the features at ``positions`` as JSON objects."""
        if self._properties_json is not None:
            return [self._properties_json[i] for i in positions.tolist()]
        return [dumps(p) for p in self.properties(positions)]

    def features_json(
        self,
        positions: Positions,
        base: str,
        links: Sequence[list[Link]] | None = None,
        output: Output = DEFAULT_OUTPUT,
    ) -> list[str]:
        """GeoJSON Features at ``positions`` shaped by ``output`` (CRS, properties, geometry),
        each with its links under the service URL ``base``
        (:func:`~geo_service.api.links.feature_links`) unless ``links`` gives them."""
        if self._feature_heads is not None and output == DEFAULT_OUTPUT:
            heads = [self._feature_heads[i] for i in positions.tolist()]
        else:
            heads = self._make_feature_heads(positions, output)
        if links is None:
            link_texts = self._links_json(positions, base)
        else:
            link_texts = [dumps(x) for x in links]
        return [f"{head}{text}}}" for head, text in zip(heads, link_texts, strict=True)]

    def _make_feature_heads(
        self, positions: Positions, output: Output = DEFAULT_OUTPUT
    ) -> list[str]:
        """Each feature's JSON up to its links: ``{"type":"Feature", ..., "links":``."""
        ids = self.ids[positions].tolist()
        geometries: list[str | None]
        if output.skip_geometry:
            geometries = [None] * len(ids)
        elif output.crs is CRS84:
            geometries = self.geometry_json(positions)
        else:
            geometries = geometry_json(self.geometries[positions], output.crs)
        if output.properties is None:
            properties = self.properties_json(positions)
        else:
            properties = [dumps(p) for p in self.properties(positions, output.properties)]
        return [
            f'{{"type":"Feature","id":{dumps(i)},"geometry":{g or "null"},"properties":{p},"links":'
            for i, g, p in zip(ids, geometries, properties, strict=True)
        ]

    def _links_json(self, positions: Positions, base: str) -> list[str]:
        # Each feature's links are JSON templates with a mark for the base URL (cached for
        # small collections), so that a page costs one string replacement per feature.
        if self._link_templates is not None:
            templates = [self._link_templates[i] for i in positions.tolist()]
        else:
            templates = self._make_link_templates(positions)
        escaped = dumps(base)[1:-1]
        return [template.replace(_BASE_MARK_JSON, escaped) for template in templates]

    def _make_link_templates(self, positions: Positions) -> list[str]:
        return [dumps(feature_links(self.spec.id, _BASE_MARK, i)) for i in self.ids[positions]]

    def _make_geometry_json(self, positions: Positions) -> list[str | None]:
        return geometry_json(self.geometries[positions])


def geometry_json(geometries: npt.NDArray[Any], crs: SupportedCrs = CRS84) -> list[str | None]:
    """GeoJSON text of each CRS84 geometry (None stays None) in ``crs``, coordinates in its
    axis order, rounded to its decimals and written in their shortest form."""
    rounded = from_crs84(geometries, crs)
    if len(rounded) and bool(np.all(shapely.get_type_id(rounded) == 0)):
        xs = shapely.get_x(rounded).tolist()
        ys = shapely.get_y(rounded).tolist()
        return [
            f'{{"type":"Point","coordinates":[{x!r},{y!r}]}}' if math.isfinite(x) else None
            for x, y in zip(xs, ys, strict=True)
        ]
    return [None if g is None else dumps(mapping(g)) for g in rounded.tolist()]


#: The comparison of each CQL2 operator (as :data:`geo_service.cql.COMPARISONS` writes it).
_COMPARE: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare(column: pd.Series, symbol: str, value: Any) -> pd.arrays.BooleanArray:
    """``column <symbol> value`` with nulls unknown."""
    return pd.array(_COMPARE[symbol](column, value), dtype="boolean")


def _extra_properties(spec: CollectionSpec, frame: pd.DataFrame) -> list[Property]:
    """Properties for columns the spec does not list (e.g. optional metrics of the analysis)."""
    known = {p.name for p in spec.properties} | {frame.geometry.name}
    extra = []
    for name in frame.columns:
        if name in known:
            continue
        dtype = frame[name].dtype
        kind: PropertyType = "string"
        if pd.api.types.is_bool_dtype(dtype):
            kind = "boolean"
        elif pd.api.types.is_integer_dtype(dtype):
            kind = "integer"
        elif pd.api.types.is_float_dtype(dtype):
            kind = "number"
        extra.append(Property(str(name), kind, f"{name} (column of the '{spec.layer}' layer)."))
    return extra


def _point_coordinates(
    geometries: npt.NDArray[Any],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
    """(x, y) of every geometry if all are points or missing, else None."""
    if len(geometries) == 0:
        return None
    kinds = shapely.get_type_id(geometries)
    if not bool(np.all((kinds == 0) | (kinds == -1))):
        return None
    x = shapely.get_x(geometries)
    y = shapely.get_y(geometries)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _bounds(geometries: npt.NDArray[Any]) -> BBox | None:
    present = geometries[~shapely.is_missing(geometries) & ~shapely.is_empty(geometries)]
    if len(present) == 0:
        return None
    bounds = shapely.total_bounds(present)
    return (float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3]))


class FiltersInSql(Protocol):
    """A store that evaluates CQL2 filters itself (PostGIS)."""

    def filter_ids(
        self, name: str, condition: Any, id_column: str
    ) -> tuple[str | None, list[str] | None]: ...


def sql_matches(
    workspace: Workspace, spec: CollectionSpec, index: FeatureIndex, condition: Any
) -> Positions | None:
    """The positions of the features a CQL2 filter keeps, evaluated by the store in SQL when it
    can (PostGIS) and holds the very version of the layer the index was built from; None
    otherwise (the index evaluates it in memory, with the same semantics)."""
    store = workspace.store
    if condition is None or not hasattr(store, "filter_ids"):
        return None
    sql_store: FiltersInSql = store
    version, ids = sql_store.filter_ids(spec.layer, condition, spec.id_column)
    if ids is None or version is None or version != workspace.version(spec.layer):
        return None
    return index.positions_of(ids)


def feature_index(workspace: Workspace, spec: CollectionSpec) -> FeatureIndex:
    """The in-memory features of collection ``spec``, rebuilt when its store layer changes."""
    return workspace.cached(
        CacheKey(CacheKind.API, f"features:{spec.id}"),
        spec.layer,
        lambda: FeatureIndex(spec, spec.load(workspace)),
    )
