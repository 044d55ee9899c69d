"""The dask engine: premises summed partition by partition give the in-memory results exactly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from distributed import Client, LocalCluster
from geopandas.testing import assert_geodataframe_equal
from typer.testing import CliRunner

from geo_service import partitioned, pipeline
from geo_service.analysis import AnalysisResult, CoverageSums, coverage_sums
from geo_service.analysis.coverage import premises_coverage
from geo_service.cli import app
from geo_service.demo import DemoScale, NationalScale, national_blocks, national_grid
from geo_service.errors import InputError, NotFoundError
from geo_service.formatting import fr_number
from geo_service.partitioned import (
    META_FILE,
    analyze_partitioned,
    build_national_demo_store,
    memory_premises,
    parquet_premises,
    partitioned_coverage_sums,
    premises_meta,
    write_premises_parquet,
)
from geo_service.settings import AnalysisParams, Settings
from geo_service.store import GeoPackageStore
from geo_service.store.base import point_table
from geo_service.validation import MAX_LOCAUX

TINY_NATION = NationalScale(
    "tiny", 2, 2, DemoScale("tiny-block", 8, 2, 20, 60, 3_000, 24.0, 24.0, 400.0)
)
runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> GeoPackageStore:
    store = GeoPackageStore(tmp_path_factory.mktemp("demo"))
    pipeline.build_demo_store(store)
    return store


@pytest.fixture(scope="module")
def premises(demo_store: GeoPackageStore) -> gpd.GeoDataFrame:
    return demo_store.read_layer(pipeline.PREMISES)


@pytest.fixture(scope="module")
def parquet_dir(
    demo_store: GeoPackageStore,
    premises: gpd.GeoDataFrame,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The demo premises as four GeoParquet partitions of unequal sizes."""
    directory = tmp_path_factory.mktemp("parquet") / "premises"
    cuts = np.split(np.arange(len(premises)), [5_000, 20_000, 41_000])
    meta = demo_store.layer_meta(pipeline.PREMISES)
    write_premises_parquet((premises.iloc[c] for c in cuts), directory, meta)
    return directory


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as cluster,
        Client(cluster) as connected,
    ):
        yield connected


def assert_same_results(left: AnalysisResult, right: AnalysisResult) -> None:
    for mine, theirs in (
        (left.zones, right.zones),
        (left.communes, right.communes),
        (left.epcis, right.epcis),
    ):
        assert_geodataframe_equal(mine, theirs)
        pd.testing.assert_frame_equal(
            pd.DataFrame(mine.drop(columns="geometry")),
            pd.DataFrame(theirs.drop(columns="geometry")),
            check_exact=True,
        )
    assert left.run.params == right.run.params


def test_partial_sums_add_up_to_the_whole(demo_store: GeoPackageStore, premises) -> None:
    zones = demo_store.read_layer(pipeline.ZONES)
    whole = coverage_sums(zones.geometry, premises)
    parts = [
        coverage_sums(zones.geometry, premises.iloc[c])
        for c in np.array_split(np.arange(len(premises)), 7)
    ]
    total = CoverageSums.zeros(len(zones))
    for part in parts:
        total = total + part
    np.testing.assert_array_equal(total.values, whole.values)
    np.testing.assert_array_equal(
        CoverageSums.from_frame(whole.to_frame(), len(zones)).values, whole.values
    )
    assert whole.field("premises").sum() > 0


def test_sums_over_other_zones_cannot_be_added() -> None:
    with pytest.raises(ValueError, match="different zones"):
        _ = CoverageSums.zeros(3) + CoverageSums.zeros(4)


def test_dask_engine_gives_the_in_memory_results(
    demo_store: GeoPackageStore, parquet_dir: Path, tmp_path: Path
) -> None:
    params = AnalysisParams()
    in_memory = pipeline.analyze_inputs(pipeline.load_inputs(demo_store), params)
    settings = Settings(data_dir=tmp_path, dask_workers=2)
    on_dask = analyze_partitioned(demo_store, params, settings, premises_dir=parquet_dir)
    assert_same_results(in_memory, on_dask)
    assert on_dask.run.inputs["premises"].feature_count == 60_000
    assert on_dask.run.synthetic
    stored = pipeline.load_results(demo_store)
    assert stored.zones["zone_id"].tolist() == on_dask.zones["zone_id"].tolist()
    assert stored.zones["locaux"].tolist() == on_dask.zones["locaux"].tolist()


def test_partitions_of_the_store_layer_give_the_same_sums(
    demo_store: GeoPackageStore, premises, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    zones = demo_store.read_layer(pipeline.ZONES)
    whole = coverage_sums(zones.geometry, premises).values
    monkeypatch.setattr(partitioned, "PARTITION_ROWS", 25_000)
    points = point_table(premises)
    assert points is not None
    for layer in (premises, points):  # as geometries, and as coordinates
        parts, labels = memory_premises(layer)
        assert len(parts) == 3
        sums = partitioned_coverage_sums(zones.geometry, parts, client, labels)
        np.testing.assert_array_equal(sums.values, whole)
    pd.testing.assert_frame_equal(
        premises_coverage(zones, premises),
        pipeline.analyze_inputs(pipeline.load_inputs(demo_store), AnalysisParams()).zones[
            [
                "premises",
                "locaux",
                "share_bhd8",
                "share_thd30",
                "share_thd100",
                "share_thd1g",
                "share_ftth",
            ]
        ],
    )


def test_parquet_partitions_are_read_one_per_file(parquet_dir: Path) -> None:
    files, labels = parquet_premises(parquet_dir)
    assert files == sorted(parquet_dir.glob("*.parquet"))
    assert labels == [f"part-0000{k}.parquet" for k in range(4)]
    assert premises_meta(parquet_dir).feature_count == 60_000
    assert (parquet_dir / META_FILE).is_file()


def test_wrong_classes_are_refused_naming_the_file(
    premises, demo_store: GeoPackageStore, tmp_path: Path, client: Client
) -> None:
    directory = tmp_path / "bad"
    broken = premises.iloc[:100].copy()
    broken.loc[broken.index[3], "down_class"] = "FAST"
    meta = demo_store.layer_meta(pipeline.PREMISES)
    write_premises_parquet([premises.iloc[100:200], broken], directory, meta)
    files, labels = parquet_premises(directory)
    zones = demo_store.read_layer(pipeline.ZONES)
    with pytest.raises(InputError, match=r"part-00001\.parquet: 1 premises with a down_class"):
        partitioned_coverage_sums(zones.geometry, files, client, labels)


def test_locaux_beyond_the_validation_bound_are_refused(
    premises, demo_store: GeoPackageStore, tmp_path: Path, client: Client
) -> None:
    directory = tmp_path / "huge"
    broken = premises.iloc[:50].copy()
    broken.loc[broken.index[7], "locaux"] = MAX_LOCAUX + 1
    write_premises_parquet([broken], directory, demo_store.layer_meta(pipeline.PREMISES))
    files, labels = parquet_premises(directory)
    zones = demo_store.read_layer(pipeline.ZONES)
    with pytest.raises(
        InputError,
        match=r"part-00000\.parquet: 1 premises whose locaux is not an integer from 1 to 100,000",
    ):
        partitioned_coverage_sums(zones.geometry, files, client, labels)


def test_missing_columns_and_empty_directories_are_refused(premises, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no premises GeoParquet"):
        parquet_premises(tmp_path)
    premises.drop(columns="locaux").iloc[:10].to_parquet(tmp_path / "a.parquet")
    with pytest.raises(InputError, match=r"a\.parquet: missing premises column\(s\) locaux"):
        parquet_premises(tmp_path)
    (tmp_path / "a.parquet").unlink()
    pd.DataFrame(premises.drop(columns="geometry")).iloc[:10].to_parquet(tmp_path / "b.parquet")
    with pytest.raises(InputError, match=r"b\.parquet: not GeoParquet"):
        parquet_premises(tmp_path)


def test_an_interrupted_write_keeps_the_previous_premises(
    premises, demo_store, tmp_path: Path
) -> None:
    directory = tmp_path / "premises"
    meta = demo_store.layer_meta(pipeline.PREMISES)
    write_premises_parquet([premises.iloc[:10]], directory, meta)

    def failing() -> Iterator[gpd.GeoDataFrame]:
        yield premises.iloc[:20]
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_premises_parquet(failing(), directory, meta)
    assert premises_meta(directory).feature_count == 10
    assert [p.name for p in tmp_path.iterdir()] == ["premises"]


def test_national_blocks_tile_the_grid_with_national_codes() -> None:
    blocks = list(national_blocks(TINY_NATION, seed=7))
    assert len(blocks) == 4
    zones = pd.concat([b.zones for b in blocks], ignore_index=True)
    premises = pd.concat([b.premises for b in blocks], ignore_index=True)
    assert zones["zone_id"].is_unique
    assert premises["premises_id"].is_unique
    assert list(zones["zone_id"].str[:4].unique()) == ["N01-", "N02-", "N03-", "N04-"]
    assert (premises["commune_insee"].str[:2] == premises["premises_id"].str[1:3]).all()
    assert blocks[3].zones.total_bounds[0] > blocks[0].zones.total_bounds[2]
    assert blocks[3].zones.total_bounds[1] > blocks[0].zones.total_bounds[3]
    grid = national_grid(TINY_NATION)
    outline = shapely.box(*grid.bounds)
    assert all(outline.contains(shapely.box(*b.zones.total_bounds)) for b in blocks)
    again = next(national_blocks(TINY_NATION, seed=7))
    assert_geodataframe_equal(again.premises, blocks[0].premises)


def test_national_demo_then_cli_analysis_on_dask(tmp_path: Path) -> None:
    store = GeoPackageStore(tmp_path)
    directory = tmp_path / "premises-parquet"
    count = build_national_demo_store(store, directory, scale=TINY_NATION, seed=3)
    assert count == TINY_NATION.premises == 12_000
    assert store.read_layer(pipeline.ZONES)["zone_id"].is_unique
    assert len(store.read_layer(pipeline.ZONES)) == TINY_NATION.zones
    assert not store.has_layer(pipeline.PREMISES)
    refused = runner.invoke(app, ["analyze", "--data-dir", str(tmp_path)])
    assert refused.exit_code == 2
    assert "--engine dask" in refused.output
    env = {"GEO_SERVICE_DASK_WORKERS": "1"}
    result = runner.invoke(
        app, ["analyze", "--engine", "dask", "--data-dir", str(tmp_path)], env=env
    )
    assert result.exit_code == 0, result.output
    assert f"{fr_number(TINY_NATION.zones)} zones d'activités" in result.output
    zones = pipeline.load_results(store).zones
    assert zones["premises"].sum() > 0
    assert pipeline.load_results(store).run.inputs["premises"].synthetic
    # a later demo stores premises again: they, not the national files left behind, count
    assert runner.invoke(app, ["demo", "--data-dir", str(tmp_path)]).exit_code == 0
    again = runner.invoke(
        app, ["analyze", "--engine", "dask", "--data-dir", str(tmp_path)], env=env
    )
    assert again.exit_code == 0, again.output
    in_memory = pipeline.analyze_inputs(pipeline.load_inputs(store), AnalysisParams())
    assert pipeline.load_results(store).zones["locaux"].tolist() == (
        in_memory.zones["locaux"].tolist()
    )


def test_engine_and_parquet_options_are_checked(tmp_path: Path) -> None:
    wrong = runner.invoke(app, ["analyze", "--engine", "spark", "--data-dir", str(tmp_path)])
    assert wrong.exit_code == 2
    assert "'memory' or 'dask'" in wrong.output
    alone = runner.invoke(
        app, ["analyze", "--premises-parquet", str(tmp_path), "--data-dir", str(tmp_path)]
    )
    assert alone.exit_code == 2
    assert "--engine dask" in alone.output


def test_wkb_and_other_crs_parquet_give_the_same_sums(
    premises, demo_store: GeoPackageStore, tmp_path: Path, client: Client
) -> None:
    """Points as WKB, or in WGS 84, are read as geometries (GeoPandas) and give the same sums
    as GeoArrow points in Lambert-93 read as coordinates; a file without CRS is refused."""
    zones = demo_store.read_layer(pipeline.ZONES)
    columns = ["locaux", "down_class", "ftth", "geometry"]
    part = premises[columns].iloc[:20_000]
    part.to_parquet(tmp_path / "wkb.parquet", geometry_encoding="WKB")
    part.to_crs("EPSG:4326").to_parquet(tmp_path / "wgs84.parquet", geometry_encoding="geoarrow")
    expected = coverage_sums(zones.geometry, part).values
    for name in ("wkb.parquet", "wgs84.parquet"):
        sums = partitioned_coverage_sums(zones.geometry, [tmp_path / name], client, [name])
        np.testing.assert_array_equal(sums.values, expected)
    part.set_crs(None, allow_override=True).to_parquet(tmp_path / "nocrs.parquet")
    with pytest.raises(InputError, match=r"nocrs\.parquet: the premises have no CRS"):
        partitioned_coverage_sums(
            zones.geometry, [tmp_path / "nocrs.parquet"], client, ["nocrs.parquet"]
        )
