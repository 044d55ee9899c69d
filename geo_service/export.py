"""Writing analysis results to files: GeoPackage, GeoJSON, CSV or GeoParquet, by extension.

Each export carries the run information (thresholds, weights, input layers and their dates):
in the GeoPackage layer metadata, as a ``metadata`` member of the GeoJSON, in the Parquet
schema metadata, and in a ``<file>.metadata.json`` beside a CSV. Files are written to a
temporary name and renamed, so a failed export never leaves a half-written file.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import pandas as pd
import pyarrow.parquet as pq
import pyogrio

from geo_service.analysis import AnalysisResult
from geo_service.errors import ParameterError, StoreError
from geo_service.model import OUTPUT_CRS

EXPORT_SUFFIXES: Final = (".gpkg", ".geojson", ".csv", ".parquet")
_COORDINATE_DECIMALS: Final = 6  # about 0.1 m in degrees


def export_results(result: AnalysisResult, path: Path) -> Path:
    """Write ``result`` to ``path``; the format follows the extension (see module docstring)."""
    path = Path(path)
    suffix = path.suffix.lower()
    writers: dict[str, Callable[[AnalysisResult, Path], None]] = {
        ".gpkg": _write_gpkg,
        ".geojson": _write_geojson,
        ".csv": _write_csv,
        ".parquet": _write_parquet,
    }
    if suffix not in writers:
        raise ParameterError(
            "--out",
            f"'{path.name}' has an unsupported extension; expected one of "
            f"{', '.join(EXPORT_SUFFIXES)}",
        )
    if not path.parent.is_dir():
        raise ParameterError("--out", f"directory {path.parent} does not exist")
    _write_atomically(path, lambda tmp: writers[suffix](result, tmp))
    if suffix == ".csv":
        text = json.dumps(run_metadata(result), ensure_ascii=False, indent=2)
        _write_atomically(_csv_sidecar(path), lambda tmp: tmp.write_text(text, "utf-8"))
    return path


def _write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex}{path.suffix}")
    try:
        write(tmp)
        tmp.replace(path)
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _csv_sidecar(path: Path) -> Path:
    return path.parent / f"{path.name}.metadata.json"


def run_metadata(result: AnalysisResult) -> dict[str, Any]:
    """The run information as JSON-ready data."""
    data: dict[str, Any] = result.run.model_dump(mode="json")
    data["synthetic"] = result.run.synthetic
    return data


def _write_gpkg(result: AnalysisResult, path: Path) -> None:
    metadata = {"GEO_SERVICE_RUN": json.dumps(run_metadata(result), ensure_ascii=False)}
    for layer, frame in (
        ("zones", result.zones),
        ("communes", result.communes),
        ("epcis", result.epcis),
    ):
        pyogrio.write_dataframe(
            frame, path, layer=layer, driver="GPKG", layer_metadata=metadata, append=False
        )


def _write_geojson(result: AnalysisResult, path: Path) -> None:
    frame = result.zones.to_crs(OUTPUT_CRS)
    collection = json.loads(frame.to_json(na="null", drop_id=True, to_wgs84=False))
    collection["metadata"] = run_metadata(result)
    for feature in collection["features"]:
        feature["geometry"] = _rounded(feature["geometry"])
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")


def _write_csv(result: AnalysisResult, path: Path) -> None:
    frame = pd.DataFrame(result.zones.drop(columns="geometry"))
    points = result.zones.representative_point().to_crs(OUTPUT_CRS)
    frame["lon"] = points.x.round(_COORDINATE_DECIMALS)
    frame["lat"] = points.y.round(_COORDINATE_DECIMALS)
    frame.to_csv(path, index=False, encoding="utf-8")


def _write_parquet(result: AnalysisResult, path: Path) -> None:
    result.zones.to_parquet(path, index=False)
    table = pq.read_table(path)
    merged = {
        **(table.schema.metadata or {}),
        b"geo_service": json.dumps(run_metadata(result), ensure_ascii=False).encode(),
    }
    pq.write_table(table.replace_schema_metadata(merged), path)


def _rounded(geometry: dict[str, Any] | None) -> dict[str, Any] | None:
    if geometry is None:
        return None

    def walk(value: Any) -> Any:
        if isinstance(value, int | float):
            return round(value, _COORDINATE_DECIMALS)
        return [walk(v) for v in value]

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


def read_exported_metadata(path: Path) -> dict[str, Any]:
    """The run information stored in an export (any of the four formats)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".gpkg":
        meta = pyogrio.read_info(path, layer="zones")["layer_metadata"]
        return dict(json.loads(meta["GEO_SERVICE_RUN"]))
    if suffix == ".geojson":
        return dict(json.loads(path.read_text("utf-8"))["metadata"])
    if suffix == ".csv":
        return dict(json.loads(_csv_sidecar(path).read_text("utf-8")))
    schema = pq.read_schema(path)
    return dict(json.loads((schema.metadata or {})[b"geo_service"]))


__all__ = ["EXPORT_SUFFIXES", "export_results", "read_exported_metadata", "run_metadata"]
