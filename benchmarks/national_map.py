"""National territory map by viewport (``python -m benchmarks --only national-map``).

Builds a national-sized result set (about 45,000 zones: the analysed demo territory tiled
block by block over a France-sized extent, each block's communes and EPCIs renumbered), then
measures, against the same map inlining every zone (the département map's way) in the same
run: the served territory page's size and build time, the zones of a département-sized view
from ``GET /maps/territory/zones`` (through the app, warm, min and median), and, when Debian's
Chromium is installed, the page's first render in headless Chromium (until the overview
cells are drawn).
"""

from __future__ import annotations

import argparse
import math
import shutil
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Final

import geopandas as gpd
import pandas as pd

from benchmarks.common import Context, Figure
from geo_service import pipeline
from geo_service.analysis import AnalysisResult
from geo_service.settings import Settings
from geo_service.store import GeoPackageStore

NAME: Final = "national-map"
#: Targets of issue 18.
TARGET_HTML_MB: Final = 3.0
TARGET_RENDER_S: Final = 2.0
TARGET_VIEWPORT_MS: Final = 300.0
#: Distance between two blocks (metres, Lambert-93).
_STEP_M: Final = 60_000.0
_CHROMIUM: Final = "/usr/bin/chromium"
_CHROMEDRIVER: Final = "/usr/bin/chromedriver"


def tiled_results(result: AnalysisResult, blocks: int) -> AnalysisResult:
    """``result`` repeated ``blocks`` times side by side (a square-ish grid of blocks), zone
    ids suffixed by block, communes and EPCIs renumbered, ranks recomputed over all zones."""
    columns = math.ceil(math.sqrt(blocks))
    insee = {code: i for i, code in enumerate(sorted(result.communes["commune_insee"]))}
    sirens = {code: i for i, code in enumerate(sorted(result.epcis["epci_siren"].dropna()))}

    def commune_code(code: object, block: int) -> str:
        return f"{10000 + block * len(insee) + insee[str(code)]:05d}"

    def siren(code: object, block: int) -> str | None:
        if code is None or pd.isna(code):
            return None
        return f"{200000000 + block * len(sirens) + sirens[str(code)]:09d}"

    zones, communes, epcis = [], [], []
    for block in range(blocks):
        dx, dy = (block % columns) * _STEP_M, (block // columns) * _STEP_M
        z = result.zones.copy()
        z["geometry"] = z.geometry.translate(dx, dy)
        z["zone_id"] = z["zone_id"].astype(str) + f"-{block}"
        z["commune_insee"] = [commune_code(c, block) for c in z["commune_insee"]]
        z["epci_siren"] = [siren(c, block) for c in z["epci_siren"]]
        zones.append(z)
        c = result.communes.copy()
        c["geometry"] = c.geometry.translate(dx, dy)
        c["commune_insee"] = [commune_code(x, block) for x in c["commune_insee"]]
        c["epci_siren"] = [siren(x, block) for x in c["epci_siren"]]
        communes.append(c)
        e = result.epcis.copy()
        e["geometry"] = e.geometry.translate(dx, dy)
        e["epci_siren"] = [siren(x, block) for x in e["epci_siren"]]
        epcis.append(e)
    all_zones = gpd.GeoDataFrame(pd.concat(zones, ignore_index=True), crs=result.zones.crs)
    flagged = all_zones["rank"].notna()
    order = all_zones.loc[flagged, "priority"].rank(ascending=False, method="first")
    all_zones["rank"] = pd.array([pd.NA] * len(all_zones), dtype="Int64")
    all_zones.loc[flagged, "rank"] = order.astype("int64").to_numpy()
    return AnalysisResult(
        zones=all_zones,
        communes=gpd.GeoDataFrame(pd.concat(communes, ignore_index=True), crs=result.communes.crs),
        epcis=gpd.GeoDataFrame(pd.concat(epcis, ignore_index=True), crs=result.epcis.crs),
        run=result.run,
    )


def build_store(directory: Path, blocks: int) -> tuple[Path, int]:
    """A GeoPackage store under ``directory`` holding only the tiled results; its path and
    how many zones it holds."""
    demo = directory / "demo"
    store = GeoPackageStore(demo)
    pipeline.build_demo_store(store)
    pipeline.analyze_store(store, Settings(database_url=None, data_dir=demo).analysis_params())
    national = directory / "national"
    tiled = tiled_results(pipeline.load_results(store), blocks)
    pipeline.save_results(GeoPackageStore(national), tiled)
    return national, len(tiled.zones)


def _timed_ms(work: object, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()  # type: ignore[operator]
        out.append(1000 * (time.perf_counter() - start))
    return out


def _first_render_s(base: str) -> float | None:
    """Seconds from navigation to the overview cells drawn, in headless Chromium (None
    without Chromium)."""
    if not (Path(_CHROMIUM).is_file() and Path(_CHROMEDRIVER).is_file()):
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _CHROMIUM
    profile = tempfile.mkdtemp(prefix="gs-chromium-")
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--window-size=1400,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(_CHROMEDRIVER), options=options)
    try:
        driver.get(f"{base}/maps/territory")  # warm the server's page cache
        start = time.perf_counter()
        driver.get(f"{base}/maps/territory")
        while not driver.execute_script("return !!document.querySelector('path.gs-zone-cell')"):
            if time.perf_counter() - start > 60:
                return math.inf
            time.sleep(0.02)
        return time.perf_counter() - start
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _served(settings: Settings) -> tuple[str, object]:
    import uvicorn

    from geo_service.api import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def measure(data_dir: Path, zones: int, repeat: int) -> list[Figure]:
    """The figures of the national map on the store ``data_dir`` of ``zones`` zones."""
    from fastapi.testclient import TestClient

    from geo_service.api import create_app

    # by viewport whatever the number of zones (a smoke run's 1,200 would be inlined by the
    # default setting, and Chromium would wait its 60 s for overview cells never drawn)
    by_viewport = Settings(database_url=None, data_dir=data_dir, map_inline_zones_max=0)
    inline = Settings(database_url=None, data_dir=data_dir, map_inline_zones_max=zones + 1)
    client = TestClient(create_app(by_viewport))
    start = time.perf_counter()
    page = client.get("/maps/territory").content
    build = time.perf_counter() - start
    start = time.perf_counter()
    inline_page = TestClient(create_app(inline)).get("/maps/territory").content
    inline_build = time.perf_counter() - start
    # a département-sized view (about 100 km × 80 km) in the middle of the territory
    result = pipeline.load_results(GeoPackageStore(data_dir))
    west, south, east, north = result.zones.to_crs(4326).total_bounds
    lon, lat = (west + east) / 2, (south + north) / 2
    bbox = f"{lon - 0.6:.5f},{lat - 0.36:.5f},{lon + 0.6:.5f},{lat + 0.36:.5f}"
    answer = client.get("/maps/territory/zones", params={"bbox": bbox}).json()
    view_zones = answer["numberReturned"]
    times = _timed_ms(
        lambda: client.get("/maps/territory/zones", params={"bbox": bbox}).raise_for_status(),
        max(repeat, 5),
    )
    everything = _timed_ms(lambda: client.get("/maps/territory/zones?limit=5000"), 1)[0]
    base, server = _served(by_viewport)
    try:
        render = _first_render_s(base)
    finally:
        server.should_exit = True  # type: ignore[attr-defined]
    size, inline_size = len(page) / 1e6, len(inline_page) / 1e6
    print(f"national map: {zones} zones, page {size:.2f} MB (inline {inline_size:.2f} MB)")
    print(f"page build {build:.2f} s (inline {inline_build:.2f} s)")
    print(
        f"département view: {view_zones} zones in {min(times):.0f} ms min, "
        f"{statistics.median(times):.0f} ms median; 5,000 zones in {everything:.0f} ms"
    )
    figures = [
        Figure(
            NAME,
            "territory page, served (MB)",
            size,
            "MB",
            inline_size,
            TARGET_HTML_MB,
            f"{zones} zones by viewport; baseline: every zone inlined",
        ),
        Figure(NAME, "territory page build, cold (s)", build, "s", inline_build),
        Figure(
            NAME,
            "zones of a département view (ms)",
            statistics.median(times),
            "ms",
            None,
            TARGET_VIEWPORT_MS,
            f"{view_zones} zones, median of {len(times)}",
        ),
    ]
    if render is not None:
        print(f"first render in headless Chromium {render:.2f} s")
        figures.append(
            Figure(NAME, "first render, Chromium (s)", render, "s", None, TARGET_RENDER_S)
        )
    return figures


def run(context: Context) -> list[Figure]:
    """The national map's figures (blocks: 750, or 20 in a smoke run)."""
    blocks = 20 if context.smoke else 750
    data_dir, zones = build_store(Path(context.workdir) / "national-map", blocks)
    return measure(data_dir, zones, context.repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--blocks", type=int, default=750, help="demo blocks (60 zones each)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir, zones = build_store(Path(tmp), args.blocks)
        for figure in measure(data_dir, zones, args.repeat):
            print(figure)


if __name__ == "__main__":
    main()
