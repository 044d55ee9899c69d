"""CQL2 filters as PostGIS SQL: a checked pygeofilter AST (see :mod:`geo_service.cql`)
becomes a ``WHERE`` clause composed with :mod:`psycopg.sql` — identifiers quoted by
:class:`~psycopg.sql.Identifier`, every value a ``%s`` parameter — never by pasting text.

SQL's own three-valued logic gives the null semantics the in-memory evaluation copies, so both
backends answer the same. Geometry literals are CRS84 and are transformed to the layer's SRID.
"""

from __future__ import annotations

from typing import Any, Final

import shapely
from psycopg import sql
from pygeofilter import ast

from geo_service.cql import COMPARISONS, SPATIAL

#: Spatial predicate name -> PostGIS function, ``function(feature, literal)``.
_ST_FUNCTIONS: Final = {
    "intersects": "ST_Intersects",
    "disjoint": "ST_Disjoint",
    "within": "ST_Within",
    "contains": "ST_Contains",
    "touches": "ST_Touches",
    "overlaps": "ST_Overlaps",
    "crosses": "ST_Crosses",
    "equals": "ST_Equals",
}


class WhereClause:
    """A ``WHERE`` condition and its parameters, built from a checked CQL2 AST."""

    def __init__(self, geometry_column: str, srid: int) -> None:
        self.geometry = sql.Identifier(geometry_column)
        self.srid = srid
        self.params: list[Any] = []

    def build(self, node: Any) -> sql.Composable:
        """The SQL of ``node`` (its values appended to :attr:`params`)."""
        if isinstance(node, bool):
            return sql.SQL("TRUE" if node else "FALSE")
        if isinstance(node, ast.And | ast.Or):
            word = sql.SQL(" AND " if isinstance(node, ast.And) else " OR ")
            return sql.SQL("({})").format(word.join([self.build(node.lhs), self.build(node.rhs)]))
        if isinstance(node, ast.Not):
            return sql.SQL("(NOT {})").format(self.build(node.sub_node))
        if type(node) in COMPARISONS:
            operator = sql.SQL(COMPARISONS[type(node)])
            return sql.SQL("({} {} {})").format(
                self._column(node.lhs), operator, self._value(node.rhs)
            )
        if isinstance(node, ast.Like):
            negation = sql.SQL("NOT " if node.not_ else "")
            return sql.SQL("({} {}LIKE {} ESCAPE '\\')").format(
                self._column(node.lhs), negation, self._value(node.pattern)
            )
        if isinstance(node, ast.In):
            negation = sql.SQL("NOT " if node.not_ else "")
            items = sql.SQL(", ").join([self._value(v) for v in node.sub_nodes])
            return sql.SQL("({} {}IN ({}))").format(self._column(node.lhs), negation, items)
        if isinstance(node, ast.Between):
            negation = sql.SQL("NOT " if node.not_ else "")
            return sql.SQL("({} {}BETWEEN {} AND {})").format(
                self._column(node.lhs), negation, self._value(node.low), self._value(node.high)
            )
        if isinstance(node, ast.IsNull):
            test = sql.SQL("IS NOT NULL" if node.not_ else "IS NULL")
            return sql.SQL("({} {})").format(self._column(node.lhs), test)
        name, _ = SPATIAL[type(node)]
        self.params.append(shapely.to_wkb(node.rhs.geometry))
        literal = sql.SQL("ST_Transform(ST_SetSRID(ST_GeomFromWKB(%s), 4326), {})").format(
            sql.Literal(self.srid)
        )
        return sql.SQL("{}({}, {})").format(sql.SQL(_ST_FUNCTIONS[name]), self.geometry, literal)

    def _column(self, node: ast.Attribute) -> sql.Composable:
        return sql.Identifier(node.name)

    def _value(self, value: Any) -> sql.Composable:
        self.params.append(value)
        return sql.SQL("%s")


def where_clause(node: Any, geometry_column: str, srid: int) -> tuple[sql.Composable, list[Any]]:
    """The ``WHERE`` condition of a checked CQL2 AST and its parameters."""
    clause = WhereClause(geometry_column, srid)
    return clause.build(node), clause.params
