"""OGC API - Features Part 3: CQL2 filters (text and JSON), parsed by pygeofilter.

:func:`parse_filter` turns a ``filter`` value into a pygeofilter AST and checks it against the
collection's queryables: every property it names exists, every literal has the property's
type, every operator is one this service evaluates (comparisons, ``LIKE``, ``IN``,
``BETWEEN``, ``IS NULL``, ``AND``/``OR``/``NOT``, the spatial predicates ``S_INTERSECTS``,
``S_DISJOINT``, ``S_WITHIN``, ``S_CONTAINS``, ``S_TOUCHES``, ``S_OVERLAPS``, ``S_CROSSES``,
``S_EQUALS`` on ``geometry``). Anything else is refused with a 400 naming ``filter``.

Geometry literals are read in ``filter-crs`` (CRS84 by default) and held in CRS84. The checked
AST is then evaluated in memory by :mod:`geo_service.api.features` (vectorised over the
columns, SQL's three-valued logic for nulls) or translated to SQL by
:mod:`geo_service.store.cql_sql`, so both backends give the same answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, Literal

import shapely
from pygeofilter import ast, values
from shapely.geometry import shape

from geo_service.crs import SupportedCrs, to_crs84
from geo_service.errors import ParameterError

FilterLang = Literal["cql2-text", "cql2-json"]
PropertyKind = Literal["string", "integer", "number", "boolean"]

#: The name of the geometry in filters.
GEOMETRY: Final = "geometry"
#: Longest filter accepted, in characters.
MAX_FILTER_CHARS: Final = 20_000

CONFORMANCE: Final = (
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
)

#: Spatial predicates by AST class, as the shapely function that tests ``feature op literal``.
SPATIAL: Final[Mapping[type, tuple[str, Callable[..., Any]]]] = {
    ast.GeometryIntersects: ("intersects", shapely.intersects),
    ast.GeometryDisjoint: ("disjoint", shapely.disjoint),
    ast.GeometryWithin: ("within", shapely.within),
    ast.GeometryContains: ("contains", shapely.contains),
    ast.GeometryTouches: ("touches", shapely.touches),
    ast.GeometryOverlaps: ("overlaps", shapely.overlaps),
    ast.GeometryCrosses: ("crosses", shapely.crosses),
    ast.GeometryEquals: ("equals", shapely.equals),
}
COMPARISONS: Final[Mapping[type, str]] = {
    ast.Equal: "=",
    ast.NotEqual: "<>",
    ast.LessThan: "<",
    ast.LessEqual: "<=",
    ast.GreaterThan: ">",
    ast.GreaterEqual: ">=",
}


@dataclass(frozen=True)
class SpatialLiteral:
    """A geometry literal of a filter, in CRS84."""

    geometry: Any


def parse_filter(
    text: str | None,
    lang: str | None,
    crs: SupportedCrs,
    properties: Mapping[str, PropertyKind],
) -> ast.Node | None:
    """The checked AST of a ``filter`` (None without one); ParameterError naming the problem."""
    if text is None:
        if lang is not None:
            raise ParameterError("filter-lang", "given without a filter")
        return None
    if not text.strip():
        raise ParameterError("filter", "is empty; expected a CQL2 expression")
    if len(text) > MAX_FILTER_CHARS:
        raise ParameterError("filter", f"is longer than {MAX_FILTER_CHARS} characters")
    chosen = "cql2-text" if lang in (None, "cql-text") else lang
    if chosen not in ("cql2-text", "cql2-json"):
        raise ParameterError("filter-lang", f"expected cql2-text or cql2-json; got {lang!r}")
    try:
        node = _parse_text(text) if chosen == "cql2-text" else _parse_json(text)
    except ParameterError:
        raise
    except Exception as exc:
        raise ParameterError("filter", f"not valid {chosen}: {_first_line(exc)}") from None
    return _checked(node, crs, properties)


def _parse_text(text: str) -> ast.Node:
    # The CQL2 text grammar is built when its parser module loads (~0.3 s): on the first
    # text filter, not when the API starts.
    from pygeofilter.parsers.cql2_text import parse as parse_text

    return parse_text(text)


def _parse_json(text: str) -> ast.Node:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ParameterError("filter", f"not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ParameterError("filter", "a CQL2 JSON filter is a JSON object")
    from pygeofilter.parsers.cql2_json import parse as parse_json

    return parse_json(_bboxes_as_polygons(document))


def _bboxes_as_polygons(node: Any) -> Any:
    """CQL2 JSON ``{"bbox": [minx, miny, maxx, maxy]}`` as a GeoJSON polygon (the parser
    reads the four numbers in another order)."""
    if isinstance(node, list):
        return [_bboxes_as_polygons(n) for n in node]
    if not isinstance(node, dict):
        return node
    box = node.get("bbox")
    if set(node) == {"bbox"} and isinstance(box, list) and len(box) in (4, 6):
        if len(box) == 6:
            box = [box[0], box[1], box[3], box[4]]
        west, south, east, north = (float(v) for v in box)
        return shapely.geometry.mapping(shapely.box(west, south, east, north))
    return {k: _bboxes_as_polygons(v) for k, v in node.items()}


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _checked(node: Any, crs: SupportedCrs, properties: Mapping[str, PropertyKind]) -> Any:
    """``node`` with its geometry literals in CRS84, after checking what it uses."""
    check = _Checker(crs, properties)
    return check.condition(node)


class _Checker:
    def __init__(self, crs: SupportedCrs, properties: Mapping[str, PropertyKind]) -> None:
        self.crs = crs
        self.properties = properties

    def condition(self, node: Any) -> Any:
        if isinstance(node, ast.And | ast.Or):
            return type(node)(self.condition(node.lhs), self.condition(node.rhs))
        if isinstance(node, ast.Not):
            return ast.Not(self.condition(node.sub_node))
        if isinstance(node, bool):
            return node
        if type(node) in COMPARISONS:
            kind = self.attribute(node.lhs)
            return type(node)(node.lhs, self.literal(node.rhs, kind, node))
        if isinstance(node, ast.Like):
            if self.attribute(node.lhs) != "string" or not isinstance(node.pattern, str):
                raise ParameterError("filter", "LIKE compares a text property with a text pattern")
            return node
        if isinstance(node, ast.In):
            kind = self.attribute(node.lhs)
            items = [self.literal(v, kind, node) for v in node.sub_nodes]
            return ast.In(node.lhs, items, node.not_)
        if isinstance(node, ast.Between):
            kind = self.attribute(node.lhs)
            if kind not in ("integer", "number"):
                raise ParameterError("filter", "BETWEEN needs a numeric property")
            low, high = self.literal(node.low, kind, node), self.literal(node.high, kind, node)
            return ast.Between(node.lhs, low, high, node.not_)
        if isinstance(node, ast.IsNull):
            self.attribute(node.lhs)
            return node
        if type(node) in SPATIAL:
            return self.spatial(node)
        raise ParameterError("filter", f"unsupported operation {_describe(node)}")

    def attribute(self, node: Any) -> PropertyKind:
        if not isinstance(node, ast.Attribute):
            raise ParameterError(
                "filter", f"expected a property on the left of a comparison; got {_describe(node)}"
            )
        kind = self.properties.get(node.name)
        if kind is None:
            raise ParameterError(
                "filter",
                f"unknown property {node.name!r}; the queryables are "
                f"{', '.join(sorted(self.properties))}, and {GEOMETRY} in spatial functions",
            )
        return kind

    def literal(self, value: Any, kind: PropertyKind, node: Any) -> Any:
        ok = {
            "string": isinstance(value, str),
            "boolean": isinstance(value, bool),
            "integer": isinstance(value, int | float) and not isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
        }[kind]
        if isinstance(value, date | datetime) or not ok:
            raise ParameterError(
                "filter", f"{_describe(node)} compares a {kind} property with {value!r}"
            )
        return value

    def spatial(self, node: Any) -> Any:
        lhs, rhs = node.lhs, node.rhs
        if isinstance(rhs, ast.Attribute) and not isinstance(lhs, ast.Attribute):
            lhs, rhs = rhs, lhs
            if type(node) in (ast.GeometryWithin, ast.GeometryContains):
                # literal WITHIN feature is feature CONTAINS literal, and the reverse.
                within = type(node) is ast.GeometryWithin
                swapped = ast.GeometryContains if within else ast.GeometryWithin
                return swapped(lhs, SpatialLiteral(self.geometry(rhs)))
        if not isinstance(lhs, ast.Attribute) or lhs.name != GEOMETRY:
            raise ParameterError(
                "filter", f"spatial functions compare {GEOMETRY} with a geometry literal"
            )
        return type(node)(lhs, SpatialLiteral(self.geometry(rhs)))

    def geometry(self, value: Any) -> Any:
        if isinstance(value, values.Geometry):
            try:
                geometry = shape(value.geometry)
            except Exception as exc:
                raise ParameterError("filter", f"invalid geometry literal: {exc}") from None
        elif isinstance(value, values.Envelope):
            geometry = shapely.box(value.x1, value.y1, value.x2, value.y2)
        elif isinstance(value, ast.Function) and value.name.lower() == "bbox":
            numbers = list(value.arguments)
            if len(numbers) == 6:
                numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
            if len(numbers) != 4 or not all(isinstance(n, int | float) for n in numbers):
                raise ParameterError("filter", "BBOX takes 4 (or 6) numbers")
            geometry = shapely.box(*numbers)
        else:
            raise ParameterError("filter", f"expected a geometry literal; got {_describe(value)}")
        if geometry.is_empty or not bool(shapely.is_valid_input(geometry)):
            raise ParameterError("filter", "the geometry literal is empty")
        return to_crs84(geometry, self.crs)


def _describe(node: Any) -> str:
    if isinstance(node, ast.Function):
        return f"function {node.name}()"
    if isinstance(node, ast.Node):
        return type(node).__name__
    return repr(node)


def attributes(node: Any) -> set[str]:
    """The property names a filter uses (``geometry`` included)."""
    if isinstance(node, ast.Attribute):
        return {node.name}
    if isinstance(node, ast.Node):
        return set().union(*(attributes(child) for child in node.get_sub_nodes()))
    if isinstance(node, list):
        return set().union(*(attributes(child) for child in node))
    return set()


def like_regex(pattern: str) -> re.Pattern[str]:
    """The regular expression of a CQL2 ``LIKE`` pattern (``%`` any run, ``_`` one character,
    ``\\`` escapes), matching whole values."""
    out = []
    escaped = False
    for char in pattern:
        if escaped:
            out.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.DOTALL)
