"""Tests of the synthetic demo territory (``geo_service.demo``), on the "demo" scale."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from rasterio import features

from geo_service.demo import (
    DEMO_DATA_DATE,
    SCALES,
    DemoScale,
    DemoTerritory,
    build_demo,
)
from geo_service.errors import ParameterError
from geo_service.model import CANONICAL_CRS, SPEED_CLASSES, TECHNOLOGIES, class_rank

LAYERS = ("communes", "zones", "land", "premises")
SCALE = SCALES["demo"]
STRING = "string"

COLUMNS = {
    "communes": {
        "commune_insee": STRING,
        "name": STRING,
        "epci_siren": STRING,
        "epci_name": STRING,
        "population": "int64",
    },
    "zones": {
        "zone_id": STRING,
        "name": STRING,
        "commune_insee": STRING,
        "epci_siren": STRING,
        "kind": STRING,
        "vocation": STRING,
        "state": STRING,
    },
    "land": {
        "plot_id": STRING,
        "available": "bool",
        "status": STRING,
        "source": STRING,
        "area_ha": "float64",
    },
    "premises": {
        "premises_id": STRING,
        "locaux": "int64",
        "down_class": STRING,
        "best_techno": STRING,
        "ftth": "bool",
        "commune_insee": STRING,
    },
}
ALLOWED_TECHNOS = {
    "THD1G": {"FO"},
    "THD100": {"FO", "COAX"},
    "THD30": {"COAX", "CU", "THDR"},
    "BHD8": {"CU", "4GF", "THDR"},
    "HD3": {"CU", "HDR"},
    "HD05": {"CU", "HDR"},
    "INEL": {"CU", "HDR"},
}


@pytest.fixture(scope="module")
def demo() -> DemoTerritory:
    return build_demo("demo")


@pytest.fixture(scope="module")
def territory_box(demo: DemoTerritory) -> shapely.Polygon:
    return shapely.box(
        870_000.0,
        6_240_000.0,
        870_000.0 + demo.scale.width_km * 1000,
        6_240_000.0 + demo.scale.height_km * 1000,
    )


@pytest.fixture(scope="module")
def premises_in_zones(demo: DemoTerritory) -> pd.DataFrame:
    """One row per (zone, premises inside it), with the zone's profile."""
    joined = gpd.sjoin(demo.premises, demo.zones[["zone_id", "geometry"]], predicate="within")
    joined["profile"] = demo.profiles.reindex(joined["zone_id"]).to_numpy()
    return pd.DataFrame(joined.drop(columns="geometry"))


@pytest.fixture(scope="module")
def zone_shares(premises_in_zones: pd.DataFrame) -> pd.DataFrame:
    """Locaux-weighted shares of THD30+ and BHD8+ per zone, with its profile."""
    rank = class_rank(premises_in_zones["down_class"].to_numpy())
    locaux = premises_in_zones["locaux"].to_numpy()
    frame = pd.DataFrame(
        {
            "zone_id": premises_in_zones["zone_id"].to_numpy(),
            "profile": premises_in_zones["profile"].to_numpy(),
            "locaux": locaux,
            "thd30": locaux * (rank >= SPEED_CLASSES.index("THD30")),
            "bhd8": locaux * (rank >= SPEED_CLASSES.index("BHD8")),
        }
    )
    sums = frame.groupby(["zone_id", "profile"])[["locaux", "thd30", "bhd8"]].sum()
    sums["share_thd30"] = sums["thd30"] / sums["locaux"]
    sums["share_bhd8"] = sums["bhd8"] / sums["locaux"]
    return sums.reset_index()


def _zone_pixels(demo: DemoTerritory, geometry: shapely.Geometry) -> np.ndarray:
    mask = features.rasterize(
        [(geometry, 1)],
        out_shape=demo.coverage.shape,
        transform=demo.coverage.transform,
        all_touched=True,
        dtype="uint8",
    )
    return demo.coverage.data[mask == 1]


def test_same_seed_gives_identical_territory(demo: DemoTerritory) -> None:
    again = build_demo("demo", seed=demo.seed)
    for layer in LAYERS:
        assert_geodataframe_equal(getattr(again, layer), getattr(demo, layer))
    assert np.array_equal(again.coverage.data, demo.coverage.data, equal_nan=True)
    assert again.coverage.transform == demo.coverage.transform
    pd.testing.assert_series_equal(again.profiles, demo.profiles)


def test_other_seed_gives_other_territory(demo: DemoTerritory) -> None:
    other = build_demo("demo", seed=demo.seed + 1)
    assert not other.zones.geometry.geom_equals(demo.zones.geometry).all()
    assert not np.array_equal(other.coverage.data, demo.coverage.data, equal_nan=True)
    assert not other.premises["down_class"].equals(demo.premises["down_class"])


def test_metadata(demo: DemoTerritory) -> None:
    assert demo.scale == SCALE
    assert demo.seed == 2154
    assert demo.data_date == DEMO_DATA_DATE


@pytest.mark.parametrize(
    ("layer", "count"),
    [
        ("communes", SCALE.communes),
        ("zones", SCALE.zones),
        ("land", SCALE.plots),
        ("premises", SCALE.premises),
    ],
)
def test_layer_counts_are_the_scale(demo: DemoTerritory, layer: str, count: int) -> None:
    assert len(getattr(demo, layer)) == count


@pytest.mark.parametrize("layer", LAYERS)
def test_columns_and_dtypes(demo: DemoTerritory, layer: str) -> None:
    frame = getattr(demo, layer)
    expected = COLUMNS[layer]
    assert list(frame.columns) == [*expected, "geometry"]
    for column, dtype in expected.items():
        if dtype == STRING:
            assert pd.api.types.is_string_dtype(frame[column]), column
            assert frame[column].notna().all(), column
        else:
            assert frame[column].dtype == np.dtype(dtype), column


@pytest.mark.parametrize("layer", LAYERS)
def test_ids_are_unique(demo: DemoTerritory, layer: str) -> None:
    ids = getattr(demo, layer).iloc[:, 0]
    assert ids.is_unique


@pytest.mark.parametrize(
    ("layer", "pattern"),
    [
        ("communes", r"13\d{3}"),
        ("zones", r"DEMO-Z\d{3}"),
        ("land", r"DEMO-P\d{5}"),
        ("premises", r"DEMO-B\d{7}"),
    ],
)
def test_id_formats(demo: DemoTerritory, layer: str, pattern: str) -> None:
    assert getattr(demo, layer).iloc[:, 0].str.fullmatch(pattern).all()


@pytest.mark.parametrize("layer", LAYERS)
def test_geometries_are_valid_and_inside_the_territory(
    demo: DemoTerritory, layer: str, territory_box: shapely.Polygon
) -> None:
    frame = getattr(demo, layer)
    assert frame.crs == CANONICAL_CRS
    geometries = frame.geometry.to_numpy()
    assert shapely.is_valid(geometries).all()
    assert shapely.covered_by(geometries, territory_box).all()


def test_geometry_types(demo: DemoTerritory) -> None:
    assert set(demo.communes.geom_type) == {"Polygon"}
    assert set(demo.premises.geom_type) == {"Point"}
    assert set(demo.zones.geom_type) == {"Polygon", "MultiPolygon"}
    assert set(demo.land.geom_type) == {"Polygon", "Point"}


def test_communes_tile_the_territory(demo: DemoTerritory, territory_box: shapely.Polygon) -> None:
    union = shapely.union_all(demo.communes.geometry.to_numpy())
    assert union.area == pytest.approx(territory_box.area, rel=1e-9)
    assert demo.communes.area.sum() == pytest.approx(territory_box.area, rel=1e-9)


def test_commune_attributes(demo: DemoTerritory) -> None:
    communes = demo.communes
    assert communes["name"].is_unique
    assert communes["epci_siren"].str.fullmatch(r"\d{9}").all()
    assert communes["epci_siren"].nunique() == SCALE.epcis
    assert communes.groupby("epci_siren")["epci_name"].nunique().eq(1).all()
    assert communes["epci_name"].nunique() == SCALE.epcis
    assert (communes["population"] > 0).all()


def test_zone_attributes(demo: DemoTerritory) -> None:
    zones = demo.zones
    assert zones["name"].is_unique
    assert set(zones["kind"]) <= {"ZA", "ZI", "ZAC", "Parc d'activités", "Technopôle"}
    assert set(zones["vocation"]) <= {
        "industrielle",
        "artisanale",
        "commerciale",
        "tertiaire",
        "logistique",
        "mixte",
    }
    states = zones["state"].value_counts()
    assert set(states.index) == {"existante", "en extension", "en projet"}
    assert states.idxmax() == "existante"
    area_ha = zones.area / 1e4
    assert area_ha.min() >= 1.9
    assert area_ha.max() <= 251
    assert area_ha.median() < 25


def test_zone_commune_holds_its_representative_point(demo: DemoTerritory) -> None:
    points = gpd.GeoDataFrame(
        demo.zones[["zone_id", "commune_insee", "epci_siren"]],
        geometry=demo.zones.representative_point(),
        crs=demo.zones.crs,
    )
    joined = gpd.sjoin(points, demo.communes, predicate="within", lsuffix="zone")
    assert (joined["commune_insee_zone"] == joined["commune_insee_right"]).all()
    assert (joined["epci_siren_zone"] == joined["epci_siren_right"]).all()


def test_profile_counts(demo: DemoTerritory) -> None:
    counts = demo.profiles.value_counts()
    assert counts.to_dict() == {"fibre": 21, "mixed": 15, "copper": 12, "white": 6, "empty": 6}
    assert list(demo.profiles.index) == list(demo.zones["zone_id"])


def test_exactly_two_pairs_of_zones_overlap(demo: DemoTerritory) -> None:
    geometries = demo.zones.geometry.to_numpy()
    left, right = shapely.STRtree(geometries).query(geometries, predicate="intersects")
    pairs = [(i, j) for i, j in zip(left, right, strict=True) if i < j]
    assert len(pairs) == 2
    for i, j in pairs:
        assert shapely.intersection(geometries[i], geometries[j]).area > 0
        assert demo.zones["name"].iloc[j].startswith(demo.zones["name"].iloc[i])


def test_zone_shapes_are_varied(demo: DemoTerritory) -> None:
    polygons = demo.zones.geometry.explode(index_parts=False)
    assert (demo.zones.geom_type == "MultiPolygon").any()
    assert (shapely.get_num_interior_rings(polygons.to_numpy()) > 0).any()
    assert (shapely.get_num_coordinates(demo.zones.geometry.to_numpy()) > 5).any()


def test_premises_share_in_zones(demo: DemoTerritory, premises_in_zones: pd.DataFrame) -> None:
    share = premises_in_zones["premises_id"].nunique() / len(demo.premises)
    assert share == pytest.approx(0.55, abs=0.02)


def test_fibre_zones_are_mostly_thd30(zone_shares: pd.DataFrame) -> None:
    fibre = zone_shares[zone_shares["profile"] == "fibre"]
    assert len(fibre) == 21
    assert (fibre["share_thd30"] >= 0.9).all()


def test_white_zones_are_mostly_below_bhd8(zone_shares: pd.DataFrame) -> None:
    white = zone_shares[zone_shares["profile"] == "white"]
    assert len(white) == 6
    assert (white["share_bhd8"] < 0.5).all()


def test_zone_statuses_are_mixed(zone_shares: pd.DataFrame) -> None:
    served = zone_shares["share_thd30"] >= 0.95
    unserved = zone_shares["share_bhd8"] < 0.5
    assert served.sum() >= 10
    assert unserved.sum() >= 5
    assert (~served & ~unserved).sum() >= 10


def test_empty_zones_have_no_premises(demo: DemoTerritory, premises_in_zones: pd.DataFrame) -> None:
    empty = demo.profiles.index[demo.profiles == "empty"]
    assert len(empty) >= 3
    assert not premises_in_zones["zone_id"].isin(empty).any()
    assert not premises_in_zones.loc[premises_in_zones["profile"] != "empty", "zone_id"].empty


def test_premises_values(demo: DemoTerritory) -> None:
    premises = demo.premises
    assert (premises["locaux"] >= 1).all()
    assert premises["locaux"].median() <= 3
    assert premises["locaux"].max() > 50
    assert set(premises["down_class"]) <= set(SPEED_CLASSES)
    assert set(premises["best_techno"]) <= set(TECHNOLOGIES) - {"SAT"}


def test_premises_technology_matches_class(demo: DemoTerritory) -> None:
    pairs = demo.premises.groupby("down_class")["best_techno"].unique()
    for speed_class, technos in pairs.items():
        assert set(technos) <= ALLOWED_TECHNOS[str(speed_class)], speed_class


def test_ftth_is_true_for_fibre_and_some_others(demo: DemoTerritory) -> None:
    premises = demo.premises
    fibre = premises["best_techno"] == "FO"
    assert premises.loc[fibre, "ftth"].all()
    assert premises.loc[~fibre, "ftth"].any()
    assert not premises.loc[~fibre, "ftth"].all()


def test_premises_commune_holds_them(demo: DemoTerritory) -> None:
    sample = demo.premises.iloc[::97]
    joined = gpd.sjoin(sample, demo.communes[["commune_insee", "geometry"]], predicate="within")
    assert len(joined) >= len(sample)
    assert (
        joined.groupby(level=0)
        .apply(lambda g: (g["commune_insee_left"] == g["commune_insee_right"]).any())
        .all()
    )


def test_land_values(demo: DemoTerritory) -> None:
    land = demo.land
    friche = land["source"] == "friche"
    assert set(land["source"]) == {"terrain-eco", "friche"}
    assert friche.mean() == pytest.approx(0.05, abs=0.01)
    assert set(land.loc[friche].geom_type) == {"Point"}
    assert (land.loc[friche, "area_ha"] > 0).all()
    polygons = land.loc[~friche]
    assert set(polygons.geom_type) == {"Polygon"}
    assert np.allclose(polygons["area_ha"], polygons.area / 1e4)
    assert polygons["area_ha"].between(0.05, 5.001).all()
    assert land["available"].mean() == pytest.approx(0.3, abs=0.1)


@pytest.mark.parametrize(
    ("status", "available"),
    [
        ("disponible", True),
        ("en cours de commercialisation", True),
        ("occupé", False),
        ("réservé", False),
        ("friche sans projet", True),
        ("friche avec projet", False),
    ],
)
def test_land_status_matches_availability(
    demo: DemoTerritory, status: str, available: bool
) -> None:
    rows = demo.land[demo.land["status"] == status]
    assert len(rows) > 0
    assert (rows["available"] == available).all()


def test_land_plots_mostly_in_zones_without_overlap(demo: DemoTerritory) -> None:
    geometries = demo.land.geometry.to_numpy()
    zones = shapely.union_all(demo.zones.geometry.to_numpy())
    assert shapely.intersects(zones, geometries).mean() == pytest.approx(0.75, abs=0.05)
    polygons = geometries[demo.land.geom_type.to_numpy() == "Polygon"]
    overlaps = shapely.STRtree(polygons).query(polygons, predicate="overlaps")
    assert overlaps.shape == (2, 0)


def test_available_land_varies_between_zones(demo: DemoTerritory) -> None:
    joined = gpd.sjoin(demo.land, demo.zones[["zone_id", "geometry"]], predicate="within")
    share = joined.groupby("zone_id")["available"].mean()
    assert (share == 0).sum() >= 5
    assert (share >= 0.5).sum() >= 5


def test_raster_grid(demo: DemoTerritory, territory_box: shapely.Polygon) -> None:
    coverage = demo.coverage
    resolution = SCALE.resolution_m
    assert coverage.crs == CANONICAL_CRS
    assert coverage.data.dtype == np.float32
    assert coverage.shape == (
        math.ceil(SCALE.height_km * 1000 / resolution),
        math.ceil(SCALE.width_km * 1000 / resolution),
    )
    assert coverage.bounds == territory_box.bounds
    assert coverage.transform.a == resolution
    assert coverage.transform.e == -resolution


def test_raster_values(demo: DemoTerritory) -> None:
    data = demo.coverage.data
    nodata = np.isnan(data)
    assert nodata.mean() == pytest.approx(0.05, abs=0.02)
    speeds = data[~nodata]
    assert speeds.min() >= 0
    assert speeds.max() == 1000
    assert (speeds < 8).any()
    assert ((speeds >= 8) & (speeds < 30)).any()


@pytest.mark.parametrize(("profile", "low", "high"), [("fibre", 100, 1000), ("white", 0, 8)])
def test_raster_follows_zone_profiles(
    demo: DemoTerritory, profile: str, low: float, high: float
) -> None:
    zones = demo.zones[(demo.profiles == profile).to_numpy()]
    for geometry in zones.geometry:
        pixels = _zone_pixels(demo, geometry)
        known = pixels[~np.isnan(pixels)]
        assert ((known >= low) & (known <= high)).all()


def test_unknown_empty_zones_lie_in_nodata(demo: DemoTerritory) -> None:
    empty = demo.zones[(demo.profiles == "empty").to_numpy()]
    nodata_share = np.array([np.isnan(_zone_pixels(demo, g)).mean() for g in empty.geometry])
    assert (nodata_share == 1).sum() >= 2
    assert (nodata_share == 0).sum() >= 1
    assert ((nodata_share == 0) | (nodata_share == 1)).all()


def test_progress_reports_each_step() -> None:
    steps: list[str] = []
    build_demo(_tiny_scale(), progress=steps.append)
    assert steps == ["communes", "zones", "coverage", "land", "premises"]


def test_custom_scale() -> None:
    scale = _tiny_scale()
    territory = build_demo(scale, seed=1)
    assert territory.scale == scale
    assert len(territory.zones) == scale.zones
    assert len(territory.premises) == scale.premises
    assert territory.coverage.shape == (400, 500)


def test_unknown_scale_name_is_rejected() -> None:
    with pytest.raises(ParameterError, match="expected one of demo, departement; got 'x'") as error:
        build_demo("x")
    assert error.value.parameter == "scale"


def test_impossible_scale_is_rejected() -> None:
    with pytest.raises(ParameterError, match="epcis"):
        build_demo(DemoScale("bad", 4, 9, 20, 100, 1000, 20.0, 20.0))


def _tiny_scale() -> DemoScale:
    return DemoScale("tiny", 6, 2, 20, 80, 2_000, 25.0, 20.0)
