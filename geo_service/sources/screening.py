"""Screening of producers' rows before validation, and the report of an import.

A producer's reader (most start with :func:`open_vector`) decides which rows to leave out and
why (not an economic category, no geometry...), repairs what it can (rings not closed) and hands
the rest to :func:`finish_layer`, which screens the coordinates (:func:`screen_coordinates`:
swapped longitude/latitude, overseas sites) and calls
:func:`~geo_service.validation.validate_layer`. Row numbers in every message are 1-based
positions of rows (features, or data lines under the header) in the file, also for rows
validation refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from geo_service.errors import InputError, format_rows
from geo_service.model import FRANCE_LONLAT_BOUNDS, LayerKind, in_france
from geo_service.sources.formats import ImportOptions
from geo_service.sources.tabular import examples
from geo_service.sources.vector import read_vector
from geo_service.validation import LayerReport, validate_layer

BoolArray = npt.NDArray[np.bool_]
SQUARE_METRES_PER_HECTARE: Final = 10_000.0
_NO_GEOMETRY: Final = "no geometry"


#: The report of an import (``data_date`` is read from the files when they say it: latest
#: update of a brownfield, ARCEP quarter; the pipeline records it unless ``--date`` is given).
ImportReport = LayerReport


OneFileReader = Callable[[Path, ImportOptions], tuple[gpd.GeoDataFrame, "ImportReport"]]
FilesReader = Callable[[Sequence[Path], ImportOptions], tuple[gpd.GeoDataFrame, "ImportReport"]]


@dataclass
class Screen:
    """What a reader decided about the rows of one file before validation."""

    source: str
    rows: int
    skipped: dict[str, list[int]] = field(default_factory=dict)
    repaired: int = 0
    warnings: list[str] = field(default_factory=list)
    data_date: date | None = None
    _pending: list[tuple[BoolArray, Callable[[list[int]], str]]] = field(default_factory=list)

    def skip(
        self,
        reason: str,
        mask: pd.Series | BoolArray,
        detail: str = "",
        examples_of: pd.Series | None = None,
    ) -> None:
        """Leave out the rows of ``mask`` (not yet left out) for ``reason``; with
        ``examples_of`` (ids...), the message quotes its values on a few of those rows."""
        mask = np.asarray(mask, dtype=bool) & ~self.skip_mask()
        rows = [int(i) + 1 for i in np.flatnonzero(mask)]
        if not rows:
            return
        self.skipped.setdefault(reason, []).extend(rows)
        if examples_of is not None:
            quoted = examples(examples_of, mask)
            detail = f"e.g. {quoted}" + (f"; {detail}" if detail else "")
        suffix = f" ({detail})" if detail else ""
        self.warnings.append(f"{self.source}: {format_rows(rows)} skipped: {reason}{suffix}")

    def repair(self, mask: pd.Series | BoolArray, what: str) -> None:
        """Count the rows of ``mask`` as repaired, with a warning saying ``what`` was done."""
        rows = [int(i) + 1 for i in np.flatnonzero(np.asarray(mask, dtype=bool))]
        if rows:
            self.repaired += len(rows)
            self.warnings.append(f"{self.source}: {format_rows(rows)} repaired: {what}")

    def warn(self, message: str) -> None:
        """Add a warning about the file."""
        self.warnings.append(f"{self.source}: {message}")

    def warn_rows(self, mask: pd.Series | BoolArray, message: Callable[[list[int]], str]) -> None:
        """Warn about the rows of ``mask`` that are kept, once every skip is decided.

        ``message`` gets the 1-based rows and returns the text (see :meth:`flush`).
        """
        self._pending.append((np.asarray(mask, dtype=bool), message))

    def flush(self) -> None:
        """Emit the warnings of :meth:`warn_rows` about the rows that are not left out."""
        kept = ~self.skip_mask()
        for mask, message in self._pending:
            rows = [int(i) + 1 for i in np.flatnonzero(mask & kept)]
            if rows:
                self.warn(message(rows))
        self._pending.clear()

    def skip_mask(self) -> BoolArray:
        """Rows left out so far."""
        mask = np.zeros(self.rows, dtype=bool)
        for rows in self.skipped.values():
            mask[np.asarray(rows, dtype=int) - 1] = True
        return mask


def screen_coordinates(frame: gpd.GeoDataFrame, screen: Screen) -> gpd.GeoDataFrame:
    """Swap back longitude/latitude written in the wrong order; leave out features abroad.

    In a geographic CRS, a feature outside metropolitan France whose swapped coordinates fall
    inside is swapped back (counted as repaired). Other features outside France (overseas
    sites of a national file) are left out with examples, unless they are most of the file,
    which is refused: its CRS is then probably wrong.
    """
    geoms = np.asarray(frame.geometry.values, dtype=object)
    present = ~screen.skip_mask() & np.array(
        [g is not None and not g.is_empty for g in geoms], dtype=bool
    )
    if not present.any() or frame.crs is None:
        return frame
    crs = CRS.from_user_input(frame.crs)
    inside = np.ones(len(frame), dtype=bool)
    inside[present] = _inside(shapely.bounds(geoms[present]), crs)
    swapped = np.zeros(len(frame), dtype=bool)
    if crs.is_geographic:
        swapped[present & ~inside] = _inside(
            shapely.bounds(geoms[present & ~inside])[:, [1, 0, 3, 2]], crs
        )
    if swapped.any():
        example = _example(frame, swapped)
        geoms = geoms.copy()
        geoms[swapped] = shapely.transform(geoms[swapped], lambda xy: xy[:, ::-1])
        frame = with_geometries(frame, geoms)
        screen.repair(swapped, f"longitude and latitude were swapped (e.g. {example})")
    outside = present & ~inside & ~swapped
    if not outside.any():
        return frame
    rows = [int(i) + 1 for i in np.flatnonzero(outside)]
    shown = "; ".join(_example(frame, outside, i) for i in range(min(3, len(rows))))
    if outside.sum() > 0.5 * present.sum():
        raise InputError(
            f"{screen.source}: {len(rows)} of {int(present.sum())} features lie outside "
            f"metropolitan France ({format_rows(rows)}; e.g. {shown}) once read in the CRS "
            f"{crs.to_string()}; expected coordinates within lon "
            f"{FRANCE_LONLAT_BOUNDS[0]}..{FRANCE_LONLAT_BOUNDS[2]}, lat "
            f"{FRANCE_LONLAT_BOUNDS[1]}..{FRANCE_LONLAT_BOUNDS[3]}: check the CRS (--crs)"
        )
    screen.skip("outside metropolitan France", outside, f"{len(rows)} feature(s), e.g. {shown}")
    return frame


def open_vector(path: Path, options: ImportOptions) -> tuple[gpd.GeoDataFrame, Screen]:
    """The features of a vector file (``--layer``, ``--crs`` applied; index reset) and a
    :class:`Screen` of its rows."""
    frame = read_vector(path, layer=options.layer, crs=options.crs).reset_index(drop=True)
    return frame, Screen(str(path), len(frame))


def finish_layer(
    kind: LayerKind, frame: gpd.GeoDataFrame, screen: Screen
) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Screen the coordinates of ``frame`` (canonical columns, :func:`screen_coordinates`) and
    validate it without the rows ``screen`` left out.

    Left-out rows stay in the frame given to validation, without geometry, so that the rows
    it names are the file's rows; its "no geometry" count is then corrected.
    """
    frame = screen_coordinates(frame, screen)
    screen.flush()
    skipped = screen.skip_mask()
    if len(frame) and skipped.all():
        reasons = "; ".join(f"{reason} ({len(rows)})" for reason, rows in screen.skipped.items())
        raise InputError(
            f"{screen.source}: no row can be used, all {screen.rows} were left out: {reasons}; "
            f"expected at least one {kind} feature"
        )
    frame = frame.reset_index(drop=True)
    if skipped.any():
        geoms = np.asarray(frame.geometry.values, dtype=object).copy()
        geoms[skipped] = None
        frame = with_geometries(frame, geoms)
    out, checked = validate_layer(kind, frame, screen.source)
    return out, _merge(checked, screen)


def combine(
    parts: Sequence[tuple[gpd.GeoDataFrame, ImportReport]], id_column: str
) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """One layer from the layers of several files, refusing ids found in two files."""
    if len(parts) == 1:
        return parts[0]
    frames = [frame for frame, _ in parts]
    reports = [report for _, report in parts]
    seen: dict[str, str] = {}
    clashes: list[str] = []
    for frame, report in parts:
        for value in frame[id_column]:
            if value in seen and seen[value] != report.source:
                clashes.append(f"'{value}' ({Path(seen[value]).name}, {Path(report.source).name})")
            seen.setdefault(value, report.source)
    if clashes:
        raise InputError(
            f"{', '.join(r.source for r in reports)}: {len(clashes)} {id_column} value(s) "
            f"found in two files: {'; '.join(clashes[:3])}; expected each feature in one file"
        )
    merged = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
    report = ImportReport(
        source=", ".join(r.source for r in reports),
        kind=reports[0].kind,
        rows_read=sum(r.rows_read for r in reports),
        rows_kept=sum(r.rows_kept for r in reports),
        repaired=sum(r.repaired for r in reports),
        data_date=max((r.data_date for r in reports if r.data_date), default=None),
    )
    for part in reports:
        for reason, rows in part.skipped.items():
            report.skipped.setdefault(f"{Path(part.source).name}: {reason}", []).extend(rows)
        report.warnings.extend(part.warnings)
    return merged, report


def with_geometries(frame: gpd.GeoDataFrame, geoms: npt.NDArray[np.object_]) -> gpd.GeoDataFrame:
    """A copy of ``frame`` whose active geometry column holds ``geoms`` (same CRS)."""
    out = frame.copy()
    out[out.geometry.name] = gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs)
    return out


def _merge(checked: LayerReport, screen: Screen) -> ImportReport:
    mine = set(screen.skip_mask().nonzero()[0] + 1)
    no_geometry = [r for r in checked.skipped.get(_NO_GEOMETRY, []) if r not in mine]
    validator_note = f"{checked.source}: {format_rows(checked.skipped.get(_NO_GEOMETRY, []))}"
    report = ImportReport(
        source=checked.source,
        kind=checked.kind,
        rows_read=checked.rows_read,
        rows_kept=checked.rows_kept,
        repaired=checked.repaired + screen.repaired,
        data_date=screen.data_date,
    )
    report.skipped = {reason: list(rows) for reason, rows in screen.skipped.items()}
    report.warnings = list(screen.warnings)
    report.skip(_NO_GEOMETRY, no_geometry)
    for reason, rows in checked.skipped.items():
        if reason != _NO_GEOMETRY:
            report.skipped.setdefault(reason, []).extend(rows)
    report.warnings.extend(
        w for w in checked.warnings if not w.startswith(f"{validator_note} skipped: ")
    )
    return report


def _inside(bounds: npt.NDArray[np.float64], crs: CRS) -> BoolArray:
    transformer = Transformer.from_crs(crs, "OGC:CRS84", always_xy=True)
    inside = np.ones(len(bounds), dtype=bool)
    for xi, yi in ((0, 1), (2, 3)):
        with np.errstate(all="ignore"):
            lon, lat = transformer.transform(bounds[:, xi], bounds[:, yi], errcheck=False)
        inside &= in_france(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return inside


def _example(frame: gpd.GeoDataFrame, mask: BoolArray, nth: int = 0) -> str:
    position = int(np.flatnonzero(mask)[nth])
    point = frame.geometry.iloc[position].representative_point()
    return f"row {position + 1} at ({point.x:.4f}, {point.y:.4f})"


def each_file(read_one: OneFileReader, id_column: str) -> FilesReader:
    """A format's reader: ``read_one`` on each file, combined into one layer (:func:`combine`)."""

    def read(
        paths: Sequence[Path], options: ImportOptions
    ) -> tuple[gpd.GeoDataFrame, ImportReport]:
        return combine([read_one(Path(p), options) for p in paths], id_column)

    return read


def point_area(
    declared_m2: pd.Series, geoms: npt.NDArray[np.object_], screen: Screen, column: str | None
) -> pd.Series:
    """``area_ha`` of plots: the declared m² in hectares; 0 for points without one.

    A brownfield given as a point without a declared surface (in ``column``; None when the
    file has no surface at all) still counts as one plot, of 0 ha; a warning counts them.
    """
    area = declared_m2 / SQUARE_METRES_PER_HECTARE
    points = np.array([g is not None and g.geom_type == "Point" for g in geoms], dtype=bool)
    unknown = points & area.isna().to_numpy()
    what = f"no surface in '{column}'" if column else "no surface (the file gives none)"
    screen.warn_rows(
        unknown,
        lambda rows: (
            f"{len(rows)} point(s) with {what} in {format_rows(rows)}: counted as plots of 0 ha"
        ),
    )
    return area.where(~unknown, 0.0)
