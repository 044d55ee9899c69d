"""Broadband coverage of the premises in each zone, as locaux-weighted shares.

The premises are summed per zone in two steps, so that a layer too large for memory can be
summed batch by batch (e.g. partition by partition on dask): :func:`coverage_sums` gives the
integer sums of one batch (counts and locaux per zone), sums of batches add up exactly
(:meth:`CoverageSums.__add__`), and :func:`finish_coverage` turns the total into shares.
:func:`premises_coverage` does both on one in-memory layer; every engine uses these functions,
so their results are identical by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from geo_service.analysis.overlay import zone_feature_pairs, zone_point_pairs
from geo_service.model import BHD8, SPEED_CLASSES, THD1G, THD30, THD100, class_rank

#: Share columns and the lowest class rank that satisfies each.
SHARE_THRESHOLDS: Final[dict[str, int]] = {
    "share_bhd8": BHD8,
    "share_thd30": THD30,
    "share_thd100": THD100,
    "share_thd1g": THD1G,
}
#: The share columns of :func:`finish_coverage`, in order.
SHARE_COLUMNS: Final = (*SHARE_THRESHOLDS, "share_ftth")
#: The per-zone sums, in the row order of :attr:`CoverageSums.values`.
SUM_FIELDS: Final = (
    "premises",
    "locaux",
    *(f"locaux_{name.removeprefix('share_')}" for name in SHARE_THRESHOLDS),
    "locaux_ftth",
    "locaux_ftth_known",
)

#: The premises' columns the coverage reads (besides the geometry); ``ftth`` is optional.
PREMISES_COLUMNS: Final = ("locaux", "down_class", "ftth")

Int64Array = npt.NDArray[np.int64]


@dataclass(frozen=True)
class CoverageSums:
    """Integer sums of premises per zone: one row per :data:`SUM_FIELDS`, one column per zone.

    Rows: buildings, locaux, locaux at or above each class of :data:`SHARE_THRESHOLDS`,
    locaux with fibre available, and locaux where fibre availability is known. Integer sums
    add up exactly in any order, so sums of partitions equal the sums of the whole layer.
    """

    values: Int64Array

    @classmethod
    def zeros(cls, zones: int) -> CoverageSums:
        """Sums of no premises over ``zones`` zones."""
        return cls(np.zeros((len(SUM_FIELDS), zones), dtype=np.int64))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, zones: int) -> CoverageSums:
        """Sums from a frame indexed by zone position with :data:`SUM_FIELDS` columns
        (missing positions are zones without premises)."""
        full = frame.reindex(index=range(zones), columns=list(SUM_FIELDS), fill_value=0)
        return cls(np.ascontiguousarray(full.to_numpy(dtype=np.int64).T))

    @property
    def zones(self) -> int:
        """Number of zones summed over."""
        return int(self.values.shape[1])

    def field(self, name: str) -> Int64Array:
        """The sums of field ``name`` (one of :data:`SUM_FIELDS`), one per zone."""
        row: Int64Array = self.values[SUM_FIELDS.index(name)]
        return row

    def to_frame(self) -> pd.DataFrame:
        """The non-empty zones' sums: index = zone position, columns = :data:`SUM_FIELDS`."""
        touched = np.flatnonzero(self.values[0] > 0)
        return pd.DataFrame(
            self.values[:, touched].T, index=pd.Index(touched, name="zone"), columns=SUM_FIELDS
        )

    def __add__(self, other: CoverageSums) -> CoverageSums:
        if self.values.shape != other.values.shape:
            raise ValueError("coverage sums over different zones cannot be added")
        return CoverageSums(self.values + other.values)


def coverage_sums(zones: gpd.GeoSeries, premises: gpd.GeoDataFrame) -> CoverageSums:
    """Per-zone sums of a batch of premises.

    Parameters
    ----------
    zones
        Zone geometries in Lambert-93 (their positions number the sums).
    premises
        Canonical premises (``locaux``, ``down_class``, optional ``ftth``) in Lambert-93.

    Returns
    -------
    The :class:`CoverageSums` of these premises. A premises in two overlapping zones, or on
    the boundary of two zones, counts in both.
    """
    return _sums(len(zones), *zone_feature_pairs(zones, premises.geometry), premises)


def point_coverage_sums(
    zones: gpd.GeoSeries,
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    premises: pd.DataFrame,
) -> CoverageSums:
    """:func:`coverage_sums` of premises given as coordinates (Lambert-93, NaN where the
    premises has no location) and their attributes (``premises``, row by row): the same sums,
    without a geometry per premises (see :func:`zone_point_pairs`)."""
    return _sums(len(zones), *zone_point_pairs(zones, x, y), premises)


def _sums(
    n: int, zone_idx: npt.NDArray[np.intp], prem_idx: npt.NDArray[np.intp], premises: pd.DataFrame
) -> CoverageSums:
    locaux = premises["locaux"].to_numpy(dtype=np.int64)[prem_idx]
    ranks = class_rank(premises["down_class"])[prem_idx]
    # The locaux of each zone by class (unknown first), summed once: those at or above a
    # class are the sums of its column and the ones after it.
    levels = len(SPEED_CLASSES) + 1
    by_class = _bincount(zone_idx * levels + (ranks + 1), locaux, n * levels).reshape(n, levels)
    at_least = np.cumsum(by_class[:, ::-1], axis=1)[:, ::-1]
    rows = [np.bincount(zone_idx, minlength=n).astype(np.int64), at_least[:, 0]]
    rows += [at_least[:, rank + 1] for rank in SHARE_THRESHOLDS.values()]
    rows += [_bincount(zone_idx, weights, n) for weights in _ftth_rows(premises, prem_idx, locaux)]
    return CoverageSums(np.stack(rows))


def finish_coverage(sums: CoverageSums, index: pd.Index) -> pd.DataFrame:
    """Premises, locaux and coverage shares of each zone from their sums.

    Returns
    -------
    One row per zone (``index``, in the order of the sums): ``premises`` (buildings),
    ``locaux``, ``share_bhd8`` ... ``share_thd1g`` (share of locaux whose class is at least
    BHD8 ... THD1G) and ``share_ftth`` (share of locaux with fibre available, among those
    where it is known). Shares are NaN where the zone has no premises.
    """
    if sums.zones != len(index):
        raise ValueError(f"coverage sums cover {sums.zones} zones, not {len(index)}")
    total = sums.field("locaux")
    out = pd.DataFrame(index=index)
    out["premises"] = sums.field("premises")
    out["locaux"] = total
    for column in SHARE_THRESHOLDS:
        out[column] = _ratio(sums.field(f"locaux_{column.removeprefix('share_')}"), total)
    out["share_ftth"] = _ratio(sums.field("locaux_ftth"), sums.field("locaux_ftth_known"))
    return out


def premises_coverage(zones: gpd.GeoDataFrame, premises: gpd.GeoDataFrame) -> pd.DataFrame:
    """Premises, locaux and coverage shares of each zone (:func:`finish_coverage` of the
    :func:`coverage_sums` of every premises).

    Parameters
    ----------
    zones
        Zones in Lambert-93.
    premises
        Canonical premises (``locaux``, ``down_class``, optional ``ftth``) in Lambert-93.
    """
    return finish_coverage(coverage_sums(zones.geometry, premises), zones.index)


def _ftth_rows(
    premises: pd.DataFrame, prem_idx: npt.NDArray[np.intp], locaux: Int64Array
) -> list[Int64Array]:
    if "ftth" not in premises.columns:
        zero = np.zeros(len(prem_idx), dtype=np.int64)
        return [zero, zero]
    ftth = pd.array(premises["ftth"].to_numpy(), dtype="boolean")[prem_idx]
    known = ~np.asarray(ftth.isna())
    fibre = np.asarray(ftth.fillna(False), dtype=bool)
    return [locaux * fibre, locaux * known]


def _bincount(positions: npt.NDArray[np.intp], weights: Int64Array, n: int) -> Int64Array:
    # bincount sums in float64, exact for integer totals below 2**53.
    return np.bincount(positions, weights=weights, minlength=n).astype(np.int64)


def _ratio(part: npt.NDArray[Any], whole: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(whole > 0, part / np.where(whole > 0, whole, 1.0), np.nan)
