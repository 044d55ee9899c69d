"""Map benchmark (``python -m benchmarks --only maps``, or this module alone).

Builds the demo territory, then measures the territory map page (size of the HTML, cold build
with every piece computed, warm build from the cached pieces, self-contained export) against
a straightforward folium baseline measured in the same run: the same layers as
``folium.GeoJson`` (full geometry and properties, H3 at the configured resolution, no
simplification or rounding).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import folium

from benchmarks.common import Context, Figure
from geo_service import pipeline
from geo_service.analysis import h3_coverage
from geo_service.maps.page import PageOptions
from geo_service.maps.service import export_map, territory_data, territory_page
from geo_service.maps.territory import TerritoryView, territory_html
from geo_service.settings import AnalysisParams, Settings
from geo_service.store import GeoPackageStore
from geo_service.workspace import Workspace

T = TypeVar("T")
TARGET_MB = 3.0
NAME = "maps"


def baseline_html(workspace: Workspace) -> str:
    """The same layers drawn the straightforward folium way."""
    result = workspace.results()
    fmap = folium.Map(location=[43.5, 5.4], zoom_start=10, tiles=None)
    zones = result.zones.drop(columns=["reasons"]).to_crs("EPSG:4326")
    folium.GeoJson(zones, name="zones").add_to(fmap)
    land = workspace.layer(pipeline.LAND)
    folium.GeoJson(land[land["available"]].to_crs("EPSG:4326"), name="land").add_to(fmap)
    hexagons = h3_coverage(workspace.layer(pipeline.PREMISES), workspace.settings.h3_resolution)
    folium.GeoJson(hexagons, name="hexagons").add_to(fmap)
    folium.GeoJson(result.communes.to_crs("EPSG:4326"), name="communes").add_to(fmap)
    folium.LayerControl().add_to(fmap)
    html: str = fmap.get_root().render()
    return html


def timed(work: Callable[[], T]) -> tuple[T, float]:
    """``work()`` and its wall-clock seconds."""
    start = time.perf_counter()
    value = work()
    return value, time.perf_counter() - start


def _preload(workspace: Workspace) -> None:
    workspace.results()
    workspace.layer(pipeline.LAND)
    workspace.layer(pipeline.PREMISES)
    workspace.raster()


def run(context: Context) -> list[Figure]:
    """Time the territory map (cold, from cached pieces, cached page) and weigh its HTML."""
    data_dir = Path(context.data_dir)
    settings = Settings(database_url=None, data_dir=data_dir)
    options = PageOptions()
    colds, renders, cacheds, bases = [], [], [], []
    page, base, exported_size = "", "", 0
    for _ in range(context.repeat):
        # a fresh workspace with its layers read (as by the baseline): every piece computed
        workspace = Workspace(settings, GeoPackageStore(data_dir))
        _preload(workspace)
        page, cold = timed(lambda w=workspace: territory_page(w, TerritoryView(), options))
        data = territory_data(workspace)
        _, render = timed(lambda d=data: territory_html(d, TerritoryView(), options))
        _, cached = timed(lambda w=workspace: territory_page(w, TerritoryView(), options))
        colds.append(cold)
        renders.append(render)
        cacheds.append(cached)
        exported_size = export_map(
            workspace, Path(context.workdir) / "carte.html", self_contained=True
        ).size
        base, base_time = timed(lambda w=workspace: baseline_html(w))
        bases.append(base_time)
    size, base_size = len(page.encode()) / 1e6, len(base.encode()) / 1e6
    cold, render = statistics.median(colds), statistics.median(renders)
    cached, base_time = statistics.median(cacheds), statistics.median(bases)
    print(f"territory page (served)          {size:7.2f} MB")
    print(f"territory page (self-contained)  {exported_size / 1e6:7.2f} MB")
    print(f"folium baseline                  {base_size:7.2f} MB")
    print(f"build: page, every piece computed {cold:6.2f} s")
    print(f"build: page from cached pieces   {render:7.2f} s")
    print(f"build: page (cached)             {cached * 1000:7.2f} ms")
    print(f"folium baseline build            {base_time:7.2f} s")
    return [
        Figure(
            NAME, "territory map HTML (served)", size, "MB", base_size, context.target(TARGET_MB)
        ),
        Figure(
            NAME,
            "territory map HTML (self-contained)",
            exported_size / 1e6,
            "MB",
            base_size,
            context.target(TARGET_MB),
        ),
        Figure(NAME, "territory map build, every piece computed", cold, "s", base_time),
        Figure(NAME, "territory map page from cached pieces", render, "s", base_time),
    ]


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.maps", description=__doc__)
    parser.add_argument("--scale", default="departement", choices=["demo", "departement"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = GeoPackageStore(Path(tmp))
        pipeline.build_demo_store(store, scale=args.scale)
        pipeline.analyze_store(store, AnalysisParams())
        workspace = Workspace(Settings(database_url=None, data_dir=Path(tmp)), store)
        result = workspace.results()
        print(f"data: '{args.scale}' demo, {len(result.zones)} zones")
        options = PageOptions()
        data, cold_pieces = timed(lambda: territory_data(workspace))
        page, render = timed(lambda: territory_html(data, TerritoryView(), options))
        _, warm = timed(lambda: territory_page(workspace, TerritoryView(), options))
        _, cached = timed(lambda: territory_page(workspace, TerritoryView(), options))
        exported, _ = timed(
            lambda: export_map(workspace, Path(tmp) / "carte.html", self_contained=True)
        )
        base, base_time = timed(lambda: baseline_html(workspace))
        size = len(page.encode())
        base_size = len(base.encode())
        print(f"territory page (served)          {size / 1e6:7.2f} MB")
        print(f"territory page (self-contained)  {exported.size / 1e6:7.2f} MB")
        print(f"folium baseline                  {base_size / 1e6:7.2f} MB")
        print(f"size against the baseline        {size / base_size:7.2f} x")
        print(f"build: pieces (cold)             {cold_pieces:7.2f} s")
        print(f"build: page from cached pieces   {render:7.2f} s")
        print(f"build: page (warm, first view)   {warm:7.2f} s")
        print(f"build: page (cached)             {cached * 1000:7.2f} ms")
        print(f"folium baseline build            {base_time:7.2f} s")


if __name__ == "__main__":
    main()
