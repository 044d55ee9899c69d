"""Reading vector files in every supported format, and coverage rasters, into canonical layers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from conftest import X0, Y0

from geo_service.errors import InputError
from geo_service.sources import read_coverage_raster, read_layer_file, read_vector

TRIANGLE = f"POLYGON (({X0} {Y0}, {X0 + 100} {Y0}, {X0 + 100} {Y0 + 100}, {X0} {Y0}))"


@pytest.mark.filterwarnings("ignore:Column names longer than 10:UserWarning")
@pytest.mark.filterwarnings("ignore:Normalized/laundered field name:RuntimeWarning")
@pytest.mark.parametrize(
    ("suffix", "writer"),
    [
        (".gpkg", lambda f, p: f.to_file(p, driver="GPKG")),
        (".geojson", lambda f, p: f.to_crs(4326).to_file(p, driver="GeoJSON")),
        (".shp", lambda f, p: f.to_file(p, driver="ESRI Shapefile")),
        (".fgb", lambda f, p: f.to_file(p, driver="FlatGeobuf")),
        (".parquet", lambda f, p: f.to_parquet(p)),
    ],
)
def test_vector_formats_give_the_same_layer(tmp_path: Path, zones, suffix, writer) -> None:
    path = tmp_path / f"zones{suffix}"
    writer(zones, path)
    out, report = read_layer_file("zones", path)
    assert sorted(out["zone_id"]) == ["A", "B", "C", "D"]  # FlatGeobuf sorts spatially
    assert out.crs.equals("EPSG:2154")
    assert out.area.sum() == pytest.approx(50_000, rel=1e-6)
    assert report.rows_kept == 4
    assert set(out["commune_insee"]) == {"13001", "13002"}  # even when a Shapefile cut the name


def test_csv_with_wkt_in_lambert93(tmp_path: Path) -> None:
    path = tmp_path / "zones.csv"
    path.write_text(
        f'zone_id;name;geometry\nZ1;"Zone un";"{TRIANGLE}"\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="no coordinate reference system"):
        read_layer_file("zones", path)
    out, _ = read_layer_file("zones", path, crs="EPSG:2154")
    assert out.area.iloc[0] == pytest.approx(5000)


def test_csv_with_ewkt_takes_its_srid(tmp_path: Path) -> None:
    path = tmp_path / "zones.csv"
    path.write_text(
        f'zone_id,name,wkt\nZ1,Un,"SRID=2154;{TRIANGLE}"\n',
        encoding="utf-8",
    )
    out, _ = read_layer_file("zones", path)
    assert out.area.iloc[0] == pytest.approx(5000)


def test_csv_with_lon_lat_latin1_semicolons_and_decimal_commas(tmp_path: Path) -> None:
    path = tmp_path / "premises.csv"
    path.write_bytes(
        "premises_id;locaux;down_class;lon;lat;commentaire\n"
        "b1;2;THD100;5,4474;43,5297;Aix-en-Provence\n"
        "b2;1;HD3;5,3698;43,2965;Marseille, quartier de l'Opéra\n".encode("cp1252")
    )
    out, _ = read_layer_file("premises", path)
    assert list(out["premises_id"]) == ["b1", "b2"]
    assert out.geometry.x.between(890_000, 900_000).all()


def test_csv_without_geometry_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "premises.csv"
    path.write_text("premises_id,locaux,down_class\nb1,1,HD3\n", encoding="utf-8")
    with pytest.raises(InputError, match="no geometry column; expected a WKT column"):
        read_vector(path)


def test_csv_with_bad_wkt_names_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "zones.csv"
    path.write_text("zone_id,name,geometry\nZ1,Un,POLYGON((0 0\nZ2,Deux,\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"column 'geometry': row 1 are not WKT geometries"):
        read_vector(path, crs="EPSG:2154")


def test_unknown_extension_missing_file_and_garbage_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_vector(tmp_path / "absent.gpkg")
    (tmp_path / "zones.xlsx").write_text("x")
    with pytest.raises(InputError, match=r"unsupported file extension '\.xlsx'"):
        read_vector(tmp_path / "zones.xlsx")
    (tmp_path / "zones.gpkg").write_bytes(b"SQLite format 3\x00 truncated")
    with pytest.raises(InputError, match=r"zones.gpkg: cannot be read as a vector file"):
        read_vector(tmp_path / "zones.gpkg")


def test_geopackage_with_several_layers_needs_a_layer_name(tmp_path: Path, zones) -> None:
    path = tmp_path / "multi.gpkg"
    zones.to_file(path, layer="zae", driver="GPKG")
    zones.head(1).to_file(path, layer="other", driver="GPKG")
    with pytest.raises(
        InputError, match=r"holds several layers \(zae, other\); choose one with --layer"
    ):
        read_vector(path)
    assert len(read_vector(path, layer="zae")) == 4


def write_tif(
    path: Path, data: np.ndarray, transform: Affine, crs: str | None, nodata=None
) -> None:
    profile = {
        "driver": "GTiff",
        "width": data.shape[-1],
        "height": data.shape[-2],
        "count": 1 if data.ndim == 2 else data.shape[0],
        "dtype": data.dtype.name,
        "transform": transform,
        "nodata": nodata,
    }
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        if data.ndim == 2:
            dst.write(data, 1)
        else:
            dst.write(data)


def test_raster_in_lambert93_is_read_with_nodata_as_nan(tmp_path: Path) -> None:
    data = np.array([[100, 5], [-9999, 30]], dtype=np.float32)
    write_tif(tmp_path / "c.tif", data, Affine(50, 0, X0, 0, -50, Y0), "EPSG:2154", nodata=-9999)
    raster = read_coverage_raster(tmp_path / "c.tif")
    assert raster.crs == "EPSG:2154"
    assert np.isnan(raster.data[1, 0])
    assert raster.data[0, 0] == 100


def test_raster_in_wgs84_is_reprojected_to_lambert93(tmp_path: Path) -> None:
    data = np.full((20, 20), 50, dtype=np.float32)
    write_tif(tmp_path / "c.tif", data, Affine(0.001, 0, 5.4, 0, -0.001, 43.3), "EPSG:4326")
    raster = read_coverage_raster(tmp_path / "c.tif")
    assert raster.crs == "EPSG:2154"
    xmin, _, xmax, _ = raster.bounds
    assert 890_000 < xmin < xmax < 900_000
    assert np.nanmax(raster.data) == 50


@pytest.mark.parametrize(
    ("data", "crs", "message"),
    [
        (np.ones((2, 2, 2), dtype=np.float32), "EPSG:2154", "has 2 bands; expected one band"),
        (np.ones((2, 2), dtype=np.float32), None, "no coordinate reference system"),
        (-np.ones((2, 2), dtype=np.float32), "EPSG:2154", "hold negative values"),
    ],
    ids=["two-bands", "no-crs", "negative"],
)
def test_bad_rasters_are_refused(tmp_path: Path, data, crs, message) -> None:
    write_tif(tmp_path / "c.tif", data, Affine(50, 0, X0, 0, -50, Y0), crs)
    with pytest.raises(InputError, match=message):
        read_coverage_raster(tmp_path / "c.tif")


def test_raster_outside_france_is_refused(tmp_path: Path) -> None:
    write_tif(
        tmp_path / "c.tif",
        np.ones((2, 2), dtype=np.float32),
        Affine(0.1, 0, -70, 0, -0.1, 45),
        "EPSG:4326",
    )
    with pytest.raises(InputError, match="outside metropolitan France"):
        read_coverage_raster(tmp_path / "c.tif")


def test_a_text_file_is_not_a_raster(tmp_path: Path) -> None:
    (tmp_path / "c.tif").write_text("not a tiff")
    with pytest.raises(InputError, match="cannot be read as a raster"):
        read_coverage_raster(tmp_path / "c.tif")


@pytest.mark.parametrize(
    ("dtype", "nodata"), [("float32", np.nan), ("float32", -1.0), ("int16", -1), ("float32", None)]
)
def test_coverage_raster_pixels_are_the_masked_read(
    tmp_path: Path, dtype: str, nodata: float | None
) -> None:
    """A float32 file whose only mask is its NaN nodata is read as its pixels (one pass);
    every file reads as its masked pixels filled with NaN."""
    data = np.arange(12, dtype=dtype).reshape(3, 4)
    if nodata is not None and not np.isnan(nodata):
        data[1, 2] = nodata
    if dtype == "float32":
        data[0, 0] = np.nan
    path = tmp_path / "coverage.tif"
    profile = {"driver": "GTiff", "width": 4, "height": 3, "count": 1, "dtype": dtype}
    transform = Affine(50, 0, X0, 0, -50, Y0 + 150)
    with rasterio.open(path, "w", **profile, crs="EPSG:2154", transform=transform) as dst:
        if nodata is not None:
            dst.nodata = nodata
        dst.write(data, 1)
    with rasterio.open(path) as src:
        expected = src.read(1, masked=True).astype(np.float32).filled(np.nan)
    assert np.isnan(expected).sum() == (dtype == "float32") + (nodata == -1)
    np.testing.assert_array_equal(read_coverage_raster(path).data, expected)
