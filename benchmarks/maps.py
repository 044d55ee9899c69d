"""Map benchmark: ``python -m benchmarks.maps [--scale demo|departement]``.

Builds the demo territory, then measures the territory map page (size of the HTML, cold build
with every piece computed, warm build from the cached pieces, self-contained export) against
a straightforward folium baseline measured in the same run: the same layers as
``folium.GeoJson`` (full geometry and properties, H3 at the configured resolution, no
simplification or rounding).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import folium

from geo_service import pipeline
from geo_service.analysis import h3_coverage
from geo_service.maps.page import PageOptions
from geo_service.maps.service import export_map, territory_data, territory_page
from geo_service.maps.territory import TerritoryView, territory_html
from geo_service.settings import AnalysisParams, Settings
from geo_service.store import GeoPackageStore
from geo_service.workspace import Workspace

T = TypeVar("T")


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
