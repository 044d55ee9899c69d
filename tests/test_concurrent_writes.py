"""Writers at the same time lose nothing: concurrent ``--append`` imports all count, on both stores.

The store's update holds the writers' lock from reading the stored layer to replacing it (an
exclusive file lock for the GeoPackage store, the layer's advisory lock inside one transaction
for PostGIS), so the second of two appends reads what the first one wrote.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest

from geo_service import pipeline
from geo_service.errors import InputError
from geo_service.model import LayerMeta
from geo_service.store import Store
from tests.conftest import box

WRITERS = 4
ROWS = 25


def _meta(source: str) -> LayerMeta:
    return LayerMeta(name="land", kind="land", title="Terrains", source=source)


def _plots(prefix: str, count: int, offset: int = 0) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"plot_id": [f"{prefix}{i}" for i in range(count)], "available": [True] * count},
        geometry=[box(60.0 * (i + offset), 0, 50, 50) for i in range(count)],
        crs="EPSG:2154",
    )


def test_updates_at_once_each_read_what_the_previous_one_wrote(store: Store) -> None:
    store.write_layer("land", _plots("base", 3), _meta("base"))
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def append(k: int) -> None:
        def extended(
            stored: gpd.GeoDataFrame | None, meta: LayerMeta | None
        ) -> tuple[gpd.GeoDataFrame, LayerMeta]:
            assert stored is not None
            assert meta is not None
            time.sleep(0.2)  # a slow merge: without the lock every writer reads the same layer
            merged = pd.concat([stored, _plots(f"w{k}-", 2, offset=10 * k)], ignore_index=True)
            return gpd.GeoDataFrame(merged, crs=stored.crs), _meta(f"{meta.source} ; w{k}")

        start.wait()
        try:
            store.update_layer("land", extended)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(k,)) for k in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stored = store.read_layer("land")
    assert len(stored) == 3 + 2 * WRITERS
    assert stored["plot_id"].is_unique
    assert store.layer_meta("land").source.count(" ; ") == WRITERS
    assert store.layer_meta("land").feature_count == 3 + 2 * WRITERS


def test_an_update_that_fails_leaves_the_layer_as_it_was(store: Store) -> None:
    store.write_layer("land", _plots("base", 3), _meta("base"))
    version = store.version("land")

    def refuse(
        stored: gpd.GeoDataFrame | None, meta: LayerMeta | None
    ) -> tuple[gpd.GeoDataFrame, LayerMeta]:
        raise InputError("x.csv: refused")

    with pytest.raises(InputError, match="refused"):
        store.update_layer("land", refuse)
    assert store.version("land") == version
    assert len(store.read_layer("land")) == 3


def test_an_update_of_an_absent_layer_gets_nothing(store: Store) -> None:
    seen: list[object] = []

    def first(
        stored: gpd.GeoDataFrame | None, meta: LayerMeta | None
    ) -> tuple[gpd.GeoDataFrame, LayerMeta]:
        seen.append((stored, meta))
        return _plots("a", 2), _meta("a.csv")

    store.update_layer("land", first)
    assert seen == [(None, None)]
    assert list(store.read_layer("land")["plot_id"]) == ["a0", "a1"]


def test_concurrent_append_imports_keep_every_row(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four ``import land F --append`` at once, each merge slowed down: every row is stored."""
    files = []
    for k in range(WRITERS):
        lines = [
            f"w{k}-{i},oui,1.0,{5.40 + 0.001 * i:.3f},{43.30 + 0.001 * k:.3f}" for i in range(ROWS)
        ]
        path = tmp_path / f"plots_{k}.csv"
        path.write_text("plot_id,available,area_ha,lon,lat\n" + "\n".join(lines) + "\n", "utf-8")
        files.append(path)
    pipeline.import_files(store, "land", [files[0]])
    merge = pipeline._appended

    def slow_merge(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)  # between reading the stored layer and writing the merged one
        return merge(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_appended", slow_merge)
    start = threading.Barrier(WRITERS - 1)
    errors: list[BaseException] = []

    def append(path: Path) -> None:
        start.wait()
        try:
            pipeline.import_files(store, "land", [path], append=True)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(path,)) for path in files[1:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stored, meta = store.read_layer("land"), store.layer_meta("land")
    assert sorted(stored["plot_id"]) == sorted(
        f"w{k}-{i}" for k in range(WRITERS) for i in range(ROWS)
    )
    assert meta.feature_count == WRITERS * ROWS
    assert sorted(part["source"] for part in meta.extra["parts"]) == [p.name for p in files]
