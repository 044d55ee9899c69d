"""Properties as people read them in the HTML pages: French labels and values.

The labels and formats come from the result fields' one declaration
(:mod:`geo_service.analysis.fields`, the same as the map popups and the opinions); statuses
read as on the maps (:data:`geo_service.maps.style.STATUS_LABELS`); a missing value reads
"—", never 0. Properties the registry does not declare keep their name and raw value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from geo_service.analysis.fields import RESULT_FIELDS, field_of, format_value
from geo_service.maps.style import BASIS_LABELS, STATUS_LABELS, STATUS_TEXT_COLOURS

#: Columns shown first, in this order, when a collection has them: what a zone's reader looks
#: for first (its status and priority), then which zone it is.
LEADING: Final = ("status", "priority", "rank", "name")


def ordered(columns: Sequence[str]) -> list[str]:
    """``columns`` with the leading ones (status, priority, rank, name) first."""
    first = [c for c in LEADING if c in columns]
    return first + [c for c in columns if c not in first]


def label(layer: str, column: str) -> str:
    """The French label of ``column`` of ``layer`` (its name when undeclared)."""
    field = field_of(RESULT_FIELDS.get(layer, ()), column)
    return field.label if field is not None else column


class StatusText(str):
    """A zone status as people read it (``Mal desservie``), with the colour the maps give it
    (:data:`~geo_service.maps.style.STATUS_TEXT_COLOURS`, readable on white)."""

    colour: str

    def __new__(cls, status: str) -> StatusText:
        text = super().__new__(cls, STATUS_LABELS.get(status, status))
        text.colour = STATUS_TEXT_COLOURS.get(status, "#333333")
        return text


def shown(layer: str, column: str, value: Any) -> Any:
    """``value`` of ``column`` as people read it (French text), raw when undeclared."""
    if column == "status" and isinstance(value, str):
        return StatusText(value)
    if column == "status_basis" and isinstance(value, str):
        return BASIS_LABELS.get(value, value)
    field = field_of(RESULT_FIELDS.get(layer, ()), column)
    if field is None or isinstance(value, list | bool):
        return value
    return format_value(field, value)


def readable(layer: str, properties: dict[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    """``properties`` keyed by French label, values as people read them, in ``columns`` order."""
    return {label(layer, c): shown(layer, c, properties.get(c)) for c in columns}
