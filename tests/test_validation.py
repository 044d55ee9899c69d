"""Validation of canonical layers: refusals name the file, columns or rows and expectation."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from conftest import box, point

from geo_service.errors import InputError
from geo_service.validation import validate_layer


def premises_frame(**columns: list[object]) -> gpd.GeoDataFrame:
    data: dict[str, list[object]] = {
        "premises_id": ["a", "b", "c"],
        "locaux": [1, 2, 3],
        "down_class": ["THD30", "BHD8", "INEL"],
    }
    data.update(columns)
    return gpd.GeoDataFrame(
        data, geometry=[point(0, 0), point(10, 0), point(20, 0)], crs="EPSG:2154"
    )


def refusal(kind: str, frame: gpd.GeoDataFrame) -> str:
    with pytest.raises(InputError) as info:
        validate_layer(kind, frame, "in.gpkg")
    return info.value.message


def test_a_valid_premises_layer_gets_canonical_columns() -> None:
    frame = premises_frame(ftth=["oui", "non", None], extra=[1, 2, 3])
    out, report = validate_layer("premises", frame.to_crs(4326), "in.gpkg")
    assert list(out.columns) == [
        "premises_id",
        "locaux",
        "down_class",
        "best_techno",
        "ftth",
        "commune_insee",
        "geometry",
    ]
    assert out.crs.equals("EPSG:2154")
    assert out["locaux"].dtype == "int64"
    assert out["ftth"].tolist()[:2] == [True, False]
    assert pd.isna(out["ftth"][2])
    assert (report.rows_read, report.rows_kept, report.repaired) == (3, 3, 0)


def test_no_crs_is_refused() -> None:
    message = refusal("premises", premises_frame().set_crs(None, allow_override=True))
    assert message.startswith("in.gpkg: no coordinate reference system")
    assert "--crs" in message


def test_empty_layer_is_refused() -> None:
    empty = premises_frame().iloc[0:0]
    assert refusal("premises", empty) == (
        "in.gpkg: the layer is empty; expected at least one premises feature"
    )


def test_every_missing_column_is_listed() -> None:
    message = refusal("premises", premises_frame().drop(columns=["locaux", "down_class"]))
    assert "missing required column(s) 'locaux', 'down_class'" in message
    assert "found: premises_id" in message


def test_duplicate_ids_are_refused_with_their_rows() -> None:
    message = refusal("premises", premises_frame(premises_id=["a", "b", "a"]))
    assert message == (
        "in.gpkg: column 'premises_id' has 1 duplicated value(s): 'a' (rows 1, 3); "
        "expected one feature per premises_id"
    )


def test_empty_ids_are_refused() -> None:
    message = refusal("premises", premises_frame(premises_id=["a", " ", None]))
    assert "column 'premises_id': empty values in rows 2, 3" in message


def test_unknown_arcep_class_is_refused() -> None:
    message = refusal("premises", premises_frame(down_class=["THD30", "FAST", "thd100"]))
    assert "column 'down_class': values 'FAST' that are not ARCEP classes in row 2" in message
    assert "INEL, HD05, HD3, BHD8, THD30, THD100, THD1G" in message


@pytest.mark.parametrize("bad", [0, -1, 1.5, "deux", None])
def test_locaux_must_be_a_positive_integer(bad: object) -> None:
    message = refusal("premises", premises_frame(locaux=[1, bad, 3]))
    assert "column 'locaux': values that are not whole numbers of premises in row 2" in message


def test_coordinates_outside_france_are_refused() -> None:
    frame = premises_frame().to_crs(4326)
    frame.geometry = [
        shapely.Point(5.4, 43.3),
        shapely.Point(-70.0, 45.0),
        shapely.Point(5.5, 43.3),
    ]
    message = refusal("premises", frame)
    assert (
        "outside metropolitan France in row 2 (e.g. row 2 at lon -70.0000, lat 45.0000)" in message
    )


def test_swapped_longitude_and_latitude_get_a_hint() -> None:
    frame = gpd.GeoDataFrame(
        {"premises_id": ["a"], "locaux": [1], "down_class": ["HD3"]},
        geometry=[shapely.Point(43.3, 5.4)],
        crs="EPSG:4326",
    )
    assert "Longitude and latitude look swapped" in refusal("premises", frame)


def test_lambert93_labelled_as_degrees_gets_a_hint() -> None:
    frame = premises_frame().set_crs("EPSG:4326", allow_override=True)
    assert "look like Lambert-93 (EPSG:2154) labelled as degrees" in refusal("premises", frame)


def test_wrong_geometry_type_is_refused() -> None:
    frame = gpd.GeoDataFrame(
        {"zone_id": ["z"], "name": ["Z"]}, geometry=[point(0, 0)], crs="EPSG:2154"
    )
    assert "Point geometries in row 1; expected MultiPolygon or Polygon" in refusal("zones", frame)


def test_invalid_polygons_are_repaired_and_counted() -> None:
    bowtie = shapely.Polygon(
        [(890000, 6250000), (890100, 6250100), (890100, 6250000), (890000, 6250100)]
    )
    frame = gpd.GeoDataFrame(
        {"zone_id": ["ok", "bowtie"], "name": ["Ok", "Nœud"]},
        geometry=[box(0, 0, 10, 10), bowtie],
        crs="EPSG:2154",
    )
    out, report = validate_layer("zones", frame, "zones.gpkg")
    assert report.repaired == 1
    assert len(out) == 2
    assert out.geometry.is_valid.all()
    assert out.geometry.iloc[1].area == pytest.approx(5000)
    assert report.warnings == [
        "zones.gpkg: 1 invalid zones polygon(s) repaired (row 2); check their outlines"
    ]


def test_missing_geometries_are_skipped_and_reported() -> None:
    frame = premises_frame()
    frame.loc[1, "geometry"] = None
    out, report = validate_layer("premises", frame, "in.gpkg")
    assert list(out["premises_id"]) == ["a", "c"]
    assert report.skipped == {"no geometry": [2]}
    assert report.warnings == ["in.gpkg: row 2 skipped: no geometry"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (1001, "01001"),
        ("1001", "01001"),
        ("13055", "13055"),
        ("2a004", "2A004"),
        (13055.0, "13055"),
    ],
)
def test_insee_codes_are_five_characters(given: object, expected: str) -> None:
    out, _ = validate_layer("premises", premises_frame(commune_insee=[given] * 3), "in.gpkg")
    assert out["commune_insee"].tolist() == [expected] * 3


def test_bad_insee_code_is_refused() -> None:
    message = refusal("premises", premises_frame(commune_insee=["13055", "1300555", None]))
    assert (
        "column 'commune_insee': values that are not INSEE codes (e.g. '1300555') in row 2"
        in message
    )


def test_point_plots_need_a_surface() -> None:
    frame = gpd.GeoDataFrame(
        {"plot_id": ["p", "f"], "available": ["true", "1"], "area_ha": [None, None]},
        geometry=[box(0, 0, 10, 10), point(50, 50)],
        crs="EPSG:2154",
    )
    assert "column 'area_ha': point plots without a surface in row 2" in refusal("land", frame)


def test_availability_must_be_boolean() -> None:
    frame = gpd.GeoDataFrame(
        {"plot_id": ["p", "q"], "available": ["oui", "peut-être"]},
        geometry=[box(0, 0, 10, 10), box(20, 0, 10, 10)],
        crs="EPSG:2154",
    )
    assert "column 'available': values that are not booleans in row 2" in refusal("land", frame)
