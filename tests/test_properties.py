"""Property tests (hypothesis) of the analysis invariants, on small random territories.

A territory is a row of square zones (some sharing a commune) with buildings inside or
outside them, land plots and random thresholds. Whatever the draw: shares stay in [0, 1];
a building outside every zone, the order of the buildings, or a building split into two of
the same class change no share; priority stays in [0, 100] and grows with the coverage gap,
the land and the locaux; the status follows the thresholds; commune sums equal zone sums.
Examples are few and small so the module runs in well under a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo_service.analysis import analyze, analyze_zones
from geo_service.analysis.priority import priority_scores
from geo_service.model import SPEED_CLASSES
from geo_service.settings import AnalysisParams

X0, Y0 = 890_000.0, 6_250_000.0
SIZE, STEP = 200.0, 400.0
SHARES = ("share_bhd8", "share_thd30", "share_thd100", "share_thd1g", "share_ftth")
PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@dataclass(frozen=True)
class Building:
    """A drawn building: its zone (or -1 for outside every zone), place, locaux and class."""

    zone: int
    dx: float
    dy: float
    locaux: int
    down_class: str
    ftth: bool


@dataclass(frozen=True)
class Territory:
    """A drawn territory."""

    zones: int
    communes: tuple[str, ...]
    buildings: tuple[Building, ...]
    plots: tuple[tuple[int, float], ...]


buildings = st.builds(
    Building,
    zone=st.integers(-1, 3),
    dx=st.floats(5, SIZE - 5),
    dy=st.floats(5, SIZE - 5),
    locaux=st.integers(1, 40),
    down_class=st.sampled_from(SPEED_CLASSES),
    ftth=st.booleans(),
)


@st.composite
def territories(draw: st.DrawFn) -> Territory:
    count = draw(st.integers(1, 4))
    communes = tuple(draw(st.sampled_from(["13001", "13002"])) for _ in range(count))
    drawn = draw(st.lists(buildings, min_size=0, max_size=25))
    placed = tuple(
        b if b.zone < count else Building(-1, b.dx, b.dy, b.locaux, b.down_class, b.ftth)
        for b in drawn
    )
    plots = tuple(
        draw(st.lists(st.tuples(st.integers(0, count - 1), st.floats(10, 150)), max_size=4))
    )
    return Territory(count, communes, placed, plots)


params_strategy = st.builds(
    AnalysisParams,
    served_thd30_share=st.floats(0.05, 1.0),
    unserved_bhd8_share=st.floats(0.0, 1.0),
    priority_weight_gap=st.floats(0.1, 2.0),
    priority_weight_land=st.floats(0.0, 2.0),
    priority_weight_locaux=st.floats(0.0, 2.0),
    priority_land_half_ha=st.floats(0.5, 50.0),
    priority_locaux_half=st.floats(1.0, 500.0),
)


def _zones(t: Territory) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "zone_id": [f"Z{i}" for i in range(t.zones)],
            "name": [f"Zone {i}" for i in range(t.zones)],
            "commune_insee": list(t.communes),
        },
        geometry=[
            shapely.box(X0 + STEP * i, Y0, X0 + STEP * i + SIZE, Y0 + SIZE) for i in range(t.zones)
        ],
        crs="EPSG:2154",
    )


def _premises(items: tuple[Building, ...] | list[Building]) -> gpd.GeoDataFrame:
    points = [
        shapely.Point(X0 + STEP * b.zone + b.dx, Y0 + b.dy)
        if b.zone >= 0
        else shapely.Point(X0 - 5_000 + b.dx, Y0 - 5_000 + b.dy)
        for b in items
    ]
    return gpd.GeoDataFrame(
        {
            "premises_id": [f"p{i}" for i in range(len(items))],
            "locaux": np.array([b.locaux for b in items], dtype=np.int64),
            "down_class": [b.down_class for b in items],
            "ftth": [b.ftth for b in items],
            "best_techno": [None] * len(items),
            "commune_insee": [None] * len(items),
        },
        geometry=points,
        crs="EPSG:2154",
    )


def _land(t: Territory) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "plot_id": [f"L{i}" for i in range(len(t.plots))],
            "available": [True] * len(t.plots),
            "status": [None] * len(t.plots),
            "source": [None] * len(t.plots),
            "area_ha": [np.nan] * len(t.plots),
        },
        geometry=[
            shapely.box(X0 + STEP * z + 10, Y0 + 10, X0 + STEP * z + 10 + s, Y0 + 10 + s)
            for z, s in t.plots
        ],
        crs="EPSG:2154",
    )


def _zone_results(
    t: Territory, items: Any = None, params: AnalysisParams | None = None
) -> pd.DataFrame:
    frame = analyze_zones(
        _zones(t), _premises(t.buildings if items is None else items), land=_land(t), params=params
    )
    return pd.DataFrame(frame.drop(columns="geometry"))


def _same_measures(a: pd.DataFrame, b: pd.DataFrame) -> None:
    columns = ["locaux", *SHARES, "available_land_ha", "status", "priority"]
    pd.testing.assert_frame_equal(a[columns], b[columns], check_exact=False, rtol=1e-9)


@PROPERTY_SETTINGS
@given(territories(), params_strategy)
def test_shares_stay_in_unit_interval_and_status_follows_thresholds(
    t: Territory, params: AnalysisParams
) -> None:
    zones = _zone_results(t, params=params)
    for column in SHARES:
        values = zones[column].dropna()
        assert ((values >= 0) & (values <= 1)).all(), column
        assert zones[column].isna().equals(zones["premises"] == 0), column
    basis = zones["status_basis"] == "premises"
    for _, row in zones[basis].iterrows():
        if row["share_thd30"] >= params.served_thd30_share:
            assert row["status"] == "served"
        elif row["share_bhd8"] < params.unserved_bhd8_share:
            assert row["status"] == "unserved"
        else:
            assert row["status"] == "underserved"
    assert (zones.loc[zones["premises"] == 0, "status"] == "unknown").all()
    priority = zones["priority"]
    assert ((priority.dropna() >= 0) & (priority.dropna() <= 100)).all()
    assert (priority[zones["status"] == "served"] == 0).all()
    assert priority[zones["status"] == "unknown"].isna().all()


@PROPERTY_SETTINGS
@given(territories(), buildings)
def test_a_building_outside_every_zone_changes_nothing(t: Territory, extra: Building) -> None:
    outside = Building(-1, extra.dx, extra.dy, extra.locaux, extra.down_class, extra.ftth)
    _same_measures(_zone_results(t), _zone_results(t, [*t.buildings, outside]))


@PROPERTY_SETTINGS
@given(territories(), st.randoms(use_true_random=False))
def test_the_order_of_the_buildings_changes_nothing(t: Territory, random: Any) -> None:
    shuffled = list(t.buildings)
    random.shuffle(shuffled)
    _same_measures(_zone_results(t), _zone_results(t, shuffled))


@PROPERTY_SETTINGS
@given(territories(), st.data())
def test_splitting_a_building_leaves_shares_unchanged(t: Territory, data: st.DataObject) -> None:
    splittable = [i for i, b in enumerate(t.buildings) if b.locaux >= 2]
    if not splittable:
        return
    index = data.draw(st.sampled_from(splittable))
    building = t.buildings[index]
    part = data.draw(st.integers(1, building.locaux - 1))
    first = Building(
        building.zone, building.dx, building.dy, part, building.down_class, building.ftth
    )
    second = Building(
        building.zone,
        min(building.dx + 1, SIZE - 1),
        building.dy,
        building.locaux - part,
        building.down_class,
        building.ftth,
    )
    split = [*t.buildings[:index], first, second, *t.buildings[index + 1 :]]
    before, after = _zone_results(t), _zone_results(t, split)
    _same_measures(before, after)
    assert after["premises"].sum() == before["premises"].sum() + (1 if building.zone >= 0 else 0)


@PROPERTY_SETTINGS
@given(territories(), params_strategy)
def test_commune_sums_equal_zone_sums(t: Territory, params: AnalysisParams) -> None:
    result = analyze(_zones(t), _premises(t.buildings), land=_land(t), params=params)
    zones = result.zones.set_index("zone_id")
    communes = result.communes.set_index("commune_insee")
    for insee, group in zones.groupby("commune_insee"):
        row = communes.loc[insee]
        assert row["zones"] == len(group)
        assert row["locaux"] == group["locaux"].sum()
        assert row["premises"] == group["premises"].sum()
        assert np.isclose(row["available_land_ha"], group["available_land_ha"].sum())
        for status in ("served", "underserved", "unserved", "unknown"):
            assert row[f"zones_{status}"] == (group["status"] == status).sum()
        if group["locaux"].sum() > 0:
            weighted = (group["share_thd30"].fillna(0) * group["locaux"]).sum() / group[
                "locaux"
            ].sum()
            assert np.isclose(row["share_thd30"], weighted)
    assert communes["zones"].sum() == len(zones)


@PROPERTY_SETTINGS
@given(
    st.floats(0, 1),
    st.floats(0, 500),
    st.integers(0, 10_000),
    st.floats(0, 0.5),
    st.floats(0, 100),
    st.integers(0, 1_000),
    params_strategy,
)
def test_priority_grows_with_gap_land_and_locaux(
    thd30: float,
    land_ha: float,
    locaux: int,
    less_thd30: float,
    more_land: float,
    more_locaux: int,
    params: AnalysisParams,
) -> None:
    def priority(share: float, land: float, count: int) -> float:
        metrics = pd.DataFrame({"zone_id": ["Z"], "available_land_ha": [land], "locaux": [count]})
        shares = pd.DataFrame({"thd30": [share], "bhd8": [share]})
        scores = priority_scores(metrics, shares, pd.Series(["underserved"]), params)
        value = float(scores["priority"].iloc[0])
        assert 0 <= value <= 100
        return value

    base = priority(thd30, land_ha, locaux)
    assert priority(max(thd30 - less_thd30, 0.0), land_ha, locaux) >= base
    assert priority(thd30, land_ha + more_land, locaux) >= base
    assert priority(thd30, land_ha, locaux + more_locaux) >= base
