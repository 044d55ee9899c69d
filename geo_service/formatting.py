"""French formatting of figures for maps, reasons and opinions (decimal comma, thin spaces)."""

from __future__ import annotations

import math
from datetime import date
from typing import Final

NNBSP: Final = "\u202f"  # narrow no-break space: thousands separator and before %
#: Speed units and « at least », joined to their figure by a narrow no-break space:
#: ``f"{GE}30{MBPS}"`` → ``≥ 30 Mbit/s`` that never breaks across lines.
MBPS: Final = f"{NNBSP}Mbit/s"
GBPS: Final = f"{NNBSP}Gbit/s"
GE: Final = f"≥{NNBSP}"
_MONTHS: Final = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def fr_number(value: float | int | None, decimals: int = 0) -> str:
    """``12345.6`` → ``12 345,6`` (thin no-break spaces); ``—`` for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", NNBSP).replace(".", ",")


def quoted(text: str) -> str:
    """``text`` between French quotes held to it by narrow no-break spaces: « text » (a
    line never breaks inside the quotes, « — » stays whole)."""
    return f"«{NNBSP}{text}{NNBSP}»"


def fr_percent(share: float | None, decimals: int | None = None) -> str:
    """A share in [0, 1] as a French percentage: ``0.62`` → ``62 %``, ``—`` when unknown.

    Without ``decimals``, whole percents, and one decimal where rounding would read 0 % or
    100 % wrongly (``0,3 %``, ``99,6 %``): a zone almost covered is not printed as covered.
    """
    if share is None or math.isnan(share):
        return "—"
    if decimals is None:
        decimals = 1 if 0.0005 <= share < 0.005 or 0.995 <= share < 0.9995 else 0
    return f"{fr_number(100 * share, decimals)}{NNBSP}%"


def fr_signed(value: float, decimals: int = 0) -> str:
    """``+12``, ``−3,5`` (true minus sign); ``0`` without a sign once rounded."""
    if round(value, decimals) == 0:
        return fr_number(0, decimals)
    return ("+" if value > 0 else "\u2212") + fr_number(abs(value), decimals)


def fr_points(points: float) -> str:
    """A change of a percentage in points, one decimal: ``+12,5 points``, ``−0,5 point``."""
    word = "points" if abs(round(points, 1)) >= 2 else "point"
    return f"{fr_signed(points, 1)}{NNBSP}{word}"


def fr_hectares(area_ha: float | None) -> str:
    """Hectares with one decimal, two under one hectare: ``12,4 ha``, ``0,25 ha``."""
    if area_ha == 0:
        return f"0{NNBSP}ha"
    decimals = 2 if area_ha is not None and abs(area_ha) < 1 else 1
    return f"{fr_number(area_ha, decimals)}{NNBSP}ha"


def fr_kilometres(distance_km: float | None) -> str:
    """Kilometres with one decimal: ``11,8 km`` (``—`` when unknown)."""
    if distance_km is None or math.isnan(distance_km):
        return "—"
    return f"{fr_number(distance_km, 1)}{NNBSP}km"


def fr_minutes(minutes: float | None) -> str:
    """A travel time in whole minutes: ``19 min``, ``moins d'1 min`` (``—`` when unknown);
    tenths of a minute would claim a precision the speeds assumed do not have."""
    if minutes is None or math.isnan(minutes):
        return "—"
    if 0 < minutes < 0.5:
        return f"moins d'1{NNBSP}min"
    return f"{fr_number(round(minutes))}{NNBSP}min"


def fr_date(value: date | None) -> str:
    """``date(2026, 1, 1)`` → ``1er janvier 2026``."""
    if value is None:
        return "date inconnue"
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {_MONTHS[value.month - 1]} {value.year}"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``3 parcelles``, ``1 parcelle`` (French: 0 and 1 take the singular)."""
    word = singular if abs(count) < 2 else (plural_form or singular + "s")
    return f"{fr_number(count)} {word}"
