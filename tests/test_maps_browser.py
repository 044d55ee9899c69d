"""The maps in a real browser: headless Debian Chromium, network limited to loopback.

The app serves an analysed demo store (one of its zones renamed ``<img src=x onerror=alert(1)>``)
with uvicorn on 127.0.0.1; Chromium resolves no other host and sends everything else to a dead
proxy, and its performance log must show no request leaving 127.0.0.1 (or, for the
self-contained file, leaving ``file:``/``data:``). Screenshots go to the test's tmp dir (and to
``GEO_SERVICE_SCREENSHOT_DIR`` when set).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from geo_service import pipeline
from geo_service.api import create_app
from geo_service.maps.service import export_map
from geo_service.settings import Settings
from geo_service.store import GeoPackageStore
from geo_service.workspace import Workspace
from tests.conftest import require

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
EVIL = "<img src=x onerror=alert(1)>"
EVIL_ZONE = "DEMO-Z005"

POPUP_TEXT = (
    "document.querySelector('.leaflet-popup-content') && "
    "document.querySelector('.leaflet-popup-content').textContent"
)
MAP_NAME = "Object.keys(window).find(function (k) { return k.indexOf('map_') === 0; })"


def _browser_available() -> None:
    require(
        Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file(),
        "Debian chromium and chromium-driver are not installed (apt-get install chromium "
        "chromium-driver)",
    )
    try:
        import selenium  # noqa: F401
    except ImportError:  # pragma: no cover - selenium is in the test extra
        require(False, "selenium is not installed")


@pytest.fixture(scope="module")
def data_dir(analysed_demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the analysed demo store whose zone DEMO-Z005 has a hostile name."""
    path = tmp_path_factory.mktemp("browser") / "data"
    shutil.copytree(analysed_demo_dir, path)
    store = GeoPackageStore(path)
    zones = store.read_layer(pipeline.ZONE_RESULTS)
    zones.loc[zones["zone_id"] == EVIL_ZONE, "name"] = EVIL
    store.write_layer(pipeline.ZONE_RESULTS, zones, store.layer_meta(pipeline.ZONE_RESULTS))
    return path


def _serve(settings: Settings) -> Iterator[str]:
    """The app of ``settings`` on a free loopback port, in a thread; yields its base URL."""
    _browser_available()
    app = create_app(settings)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not runner.started:
        if time.monotonic() > deadline:  # pragma: no cover - a broken server
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    runner.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[str]:
    """The app on a free loopback port, in a thread; yields its base URL."""
    yield from _serve(Settings(database_url=None, data_dir=data_dir))


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """Headless Chromium driven by Debian's chromedriver, with no network beyond loopback."""
    _browser_available()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--no-first-run",
        "--window-size=1400,900",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=127.0.0.1",
        "--allow-file-access-from-files",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    os.environ.setdefault("SE_AVOID_STATS", "true")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.get("about:blank")
    driver.get_log("performance")  # forget the start page's internal requests
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: Any, script: str, timeout: float = 30.0, *, fail: bool = True) -> Any:
    """Poll ``return <script>`` until it is truthy (fail, or return it, after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = driver.execute_script(f"return {script};")
        if value or time.monotonic() > deadline:
            if not value and fail:
                pytest.fail(f"timed out waiting for {script}")
            return value
        time.sleep(0.1)


def requested_urls(driver: Any) -> list[str]:
    """Every URL the page asked for, from the performance (DevTools) log.

    Chromium's own ``chrome://`` pages are left out: they never reach the network.
    """
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if not url.startswith("chrome://"):
                urls.append(url)
    return urls


def console_errors(driver: Any) -> list[dict[str, Any]]:
    """SEVERE entries of the browser console."""
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def screenshot(driver: Any, tmp_path: Path, name: str) -> Path:
    """Save a screenshot in ``tmp_path`` (and GEO_SERVICE_SCREENSHOT_DIR); print its path."""
    path = tmp_path / name
    driver.save_screenshot(str(path))
    extra = os.environ.get("GEO_SERVICE_SCREENSHOT_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(extra) / name)
    print(f"screenshot: {path}")
    return path


def check_territory(driver: Any, zones: int, tmp_path: Path, name: str) -> None:
    """Leaflet, every zone drawn, legend visible, popups on search and on a real click.

    Screenshots ``<name>.png`` as the map opens and ``<name>-popup.png`` after the click.
    """
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    wait_for(driver, "window.L && window.GeoServiceMap && document.querySelector('path.gs-zone')")
    assert driver.execute_script("return typeof window.L.map") == "function"
    assert driver.execute_script("return document.querySelectorAll('path.gs-zone').length") == zones
    legend = driver.find_element(By.CSS_SELECTOR, ".gs-legend")
    assert legend.is_displayed()
    assert "Statut des zones d'activités" in legend.text
    time.sleep(0.5)
    screenshot(driver, tmp_path, f"{name}.png")
    # search the hostile name: the result and the popup show it as text, never as an image
    search = driver.find_element(By.CSS_SELECTOR, ".gs-search-input")
    search.send_keys("<img")
    result = wait_for(driver, "document.querySelector('.gs-search-result')")
    assert EVIL in result.text
    result.click()
    text = wait_for(driver, POPUP_TEXT)
    assert EVIL in text
    assert (
        driver.execute_script("return document.querySelectorAll('.leaflet-popup img').length") == 0
    )
    driver.execute_script(f"window[{MAP_NAME}].closePopup();")
    # a real click on a zone opens its popup
    zone_id = driver.execute_script(
        f"""
        var map = window[{MAP_NAME}], chosen = null;
        map.eachLayer(function (layer) {{
          if (!chosen && layer.feature && layer.feature.properties.p &&
              layer.feature.geometry.type === 'Polygon' &&
              layer.feature.geometry.coordinates[0].length === 5) {{ chosen = layer; }}
        }});
        map.fitBounds(chosen.getBounds(), {{animate: false, padding: [200, 200]}});
        window.__chosen = chosen;
        return chosen.feature.properties.id;
        """
    )
    for _ in range(3):  # a busy machine may still be settling the view: click again
        time.sleep(0.5)
        path = driver.execute_script("return window.__chosen.getElement();")
        ActionChains(driver).move_to_element(path).click().perform()
        if wait_for(driver, "window.__chosen.isPopupOpen()", timeout=5, fail=False):
            break
    text = wait_for(driver, POPUP_TEXT)
    assert zone_id in text
    assert "Locaux à ≥\u202f30\u202fMbit/s" in text
    assert driver.execute_script("return window.__chosen.isPopupOpen();")
    time.sleep(0.5)
    screenshot(driver, tmp_path, f"{name}-popup.png")


def test_served_territory_map(browser: Any, server: str, data_dir: Path, tmp_path: Path) -> None:
    zones = len(Workspace(Settings(database_url=None, data_dir=data_dir)).results().zones)
    browser.get(f"{server}/maps/territory")
    check_territory(browser, zones, tmp_path, "territory")
    assert console_errors(browser) == []
    urls = requested_urls(browser)
    assert any(u.endswith("/assets/leaflet/leaflet.js") for u in urls)
    outside = [u for u in urls if not u.startswith((f"{server}/", "data:", "about:"))]
    assert outside == []


def test_served_zone_map(browser: Any, server: str, tmp_path: Path) -> None:
    browser.get(f"{server}/maps/zones/DEMO-Z002")
    wait_for(browser, "window.L && document.querySelector('path.gs-zone')")
    wait_for(browser, "document.querySelector('.gs-premise, .gs-cluster')")
    assert browser.execute_script("return document.querySelectorAll('path.gs-zone').length") >= 1
    assert (
        browser.execute_script(
            "return document.querySelector('.gs-panel').textContent"
            ".indexOf('Locaux à ≥\u202f30\u202fMbit/s')"
        )
        >= 0
    )
    assert browser.execute_script("return document.querySelector('.gs-legend').offsetHeight") > 0
    assert browser.execute_script("return document.querySelector('img.gs-raster') !== null")
    time.sleep(0.5)
    screenshot(browser, tmp_path, "zone.png")
    assert console_errors(browser) == []
    outside = [
        u for u in requested_urls(browser) if not u.startswith((f"{server}/", "data:", "about:"))
    ]
    assert outside == []


def test_embedded_map_fills_its_frame(browser: Any, server: str) -> None:
    browser.get(f"{server}/maps/territory?embed=1&status=unserved")
    wait_for(browser, "window.L && document.querySelector('path.gs-zone')")
    assert browser.execute_script("return document.querySelector('.gs-header')") is None
    height = browser.execute_script("return document.querySelector('.folium-map').offsetHeight")
    assert height == browser.execute_script("return window.innerHeight")
    assert console_errors(browser) == []


def test_self_contained_file(browser: Any, data_dir: Path, tmp_path: Path) -> None:
    workspace = Workspace(Settings(database_url=None, data_dir=data_dir))
    written = export_map(workspace, tmp_path / "carte.html", self_contained=True)
    browser.get(written.path.as_uri())
    check_territory(browser, len(workspace.results().zones), tmp_path, "territory-file")
    assert console_errors(browser) == []
    urls = requested_urls(browser)
    assert urls[0].startswith("file://")
    assert [u for u in urls if not u.startswith(("file://", "data:", "about:"))] == []


def _viewport_click(driver: Any, map_name: str, lat: float, lon: float) -> None:
    """A real pointer click at ``lat, lon`` of the map (viewport coordinates)."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    x, y = driver.execute_script(
        f"""
        var map = window[{map_name}], rect = map.getContainer().getBoundingClientRect();
        var p = map.latLngToContainerPoint([{lat}, {lon}]);
        return [Math.round(rect.left + p.x), Math.round(rect.top + p.y)];
        """
    )
    action = ActionBuilder(driver)
    action.pointer_action.move_to_location(x, y)
    action.pointer_action.click()
    action.perform()


def test_commune_coverage_layer_without_premises(browser: Any, tmp_path: Path, zones: Any) -> None:
    """Communes filled by their ARCEP share: on, in the legend, clickable, under the plots."""
    import geopandas as gpd
    import pandas as pd

    from geo_service.settings import AnalysisParams
    from geo_service.sources.arcep_communes import COMMUNE_COVERAGE_COLUMNS
    from geo_service.validation import validate_layer
    from tests.conftest import box, point

    store = GeoPackageStore(tmp_path / "data")
    communes = gpd.GeoDataFrame(
        {
            "commune_insee": ["13001", "13002"],
            "name": [EVIL, "Saint-Éloi"],
            "epci_siren": ["200054807"] * 2,
            "population": [1000, 2000],
        },
        geometry=[box(-50, -50, 400, 250), box(350, -50, 300, 250)],
        crs="EPSG:2154",
    )
    stats = pd.DataFrame(
        [
            {"commune_insee": "13001", "share_ftth": 0.42, "period": "T1 2018"},
            {"commune_insee": "13002", "share_ftth": 0.9, "period": "T1 2018"},
        ]
    ).reindex(columns=list(COMMUNE_COVERAGE_COLUMNS))
    land = gpd.GeoDataFrame(
        {"plot_id": ["l1"], "available": [True]}, geometry=[box(300, 120, 40, 40)], crs=2154
    )
    layers = {
        "zones": zones[zones["zone_id"] != "D"],
        "communes": communes,
        "commune_coverage": gpd.GeoDataFrame(stats, geometry=[None, None], crs=2154),
        "land": land,
    }
    for name, frame in layers.items():
        if name != "commune_coverage":
            frame, _ = validate_layer(name, frame, f"test {name}")
        store.write_layer(name, frame, pipeline.layer_meta(name, source="test"))
    pipeline.analyze_store(store, AnalysisParams())
    workspace = Workspace(Settings(database_url=None, data_dir=tmp_path / "data"), store)
    written = export_map(workspace, tmp_path / "communes.html", self_contained=True)
    browser.get(written.path.as_uri())
    wait_for(browser, "window.L && document.querySelector('path.gs-zone')")
    legend = browser.find_element("css selector", ".gs-legend").text
    assert "Couverture communale (Arcep) : locaux raccordables à la fibre (FttH)" in legend
    map_name = browser.execute_script(f"return {MAP_NAME};")
    name = json.dumps(map_name)
    # a click in commune 13001 away from the zones and the plot opens the commune's popup
    free, plot = gpd.GeoSeries([point(150, 170), point(320, 140)], crs=2154).to_crs(4326)
    browser.execute_script(f"window[{name}].setView([{free.y}, {free.x}], 18, {{animate: false}});")
    time.sleep(0.5)
    _viewport_click(browser, name, free.y, free.x)
    text = wait_for(browser, POPUP_TEXT)
    assert EVIL in text
    assert "42" in text
    assert (
        browser.execute_script("return document.querySelectorAll('.leaflet-popup img').length") == 0
    )
    time.sleep(0.5)
    screenshot(browser, tmp_path, "commune-coverage-tiny.png")
    # the plots stay above the communes, even once the layer is switched off and on again
    browser.execute_script(f"window[{name}].closePopup();")
    toggle = browser.find_element(
        "xpath", "//label[contains(., 'Couverture communale (Arcep)')]//input"
    )
    toggle.click()
    toggle.click()
    browser.execute_script(f"window[{name}].setView([{plot.y}, {plot.x}], 19, {{animate: false}});")
    time.sleep(0.5)
    _viewport_click(browser, name, plot.y, plot.x)
    time.sleep(0.5)
    assert not browser.execute_script("return document.querySelector('.leaflet-popup-content')")
    tooltips = "Array.from(document.querySelectorAll('.leaflet-tooltip'), t => t.textContent)"
    assert "Parcelle disponible" in " ".join(wait_for(browser, tooltips))
    assert console_errors(browser) == []


@pytest.fixture(scope="module")
def viewport_server(data_dir: Path) -> Iterator[str]:
    """The app serving the same store with the territory map shown by viewport (more than
    10 zones); yields its base URL."""
    yield from _serve(Settings(database_url=None, data_dir=data_dir, map_inline_zones_max=10))


def test_territory_map_by_viewport_loads_the_zones_of_the_view(
    browser: Any, viewport_server: str, analysed_demo_dir: Path, tmp_path: Path
) -> None:
    """Above the inline limit the page holds H3 cells; zoomed in, the zones of the view come
    from /maps/territory/zones with the inline map's styles and popups; search asks the server."""
    from selenium.webdriver.common.by import By

    zones = pipeline.load_results(GeoPackageStore(analysed_demo_dir)).zones
    browser.get(f"{viewport_server}/maps/territory")
    wait_for(browser, f"!!(window.L && window[{MAP_NAME}])")
    # the page fits the territory (zoom ≥ 10 here, animated): the zones of that view are
    # loaded first, and the fit is over before the test moves the map
    wait_for(browser, "document.querySelector('path.gs-zone')")
    wait_for(browser, f"!window[{MAP_NAME}]._animatingZoom")
    # a national-scale view (without animation: the test must not depend on its timing)
    browser.execute_script(
        f"var m = window[{MAP_NAME}]; m.setView(m.getCenter(), 8, {{animate: false}});"
    )
    wait_for(browser, "document.querySelector('path.gs-zone-cell')")
    assert browser.execute_script("return document.querySelectorAll('path.gs-zone').length") == 0
    cells = browser.execute_script("return document.querySelectorAll('path.gs-zone-cell').length")
    assert 0 < cells < len(zones)
    legend = browser.find_element(By.CSS_SELECTOR, ".gs-legend").text
    assert "zoomez pour afficher les zones" in legend
    screenshot(browser, tmp_path, "viewport-overview.png")
    # zoom onto one zone: the zones of the view are loaded and drawn, its popup opens
    row = zones[zones["zone_id"] == "DEMO-Z008"].to_crs(4326).iloc[0]
    west, south, east, north = row.geometry.bounds
    browser.execute_script(
        f"window[{MAP_NAME}].fitBounds([[{south}, {west}], [{north}, {east}]], {{maxZoom: 13}});"
    )
    wait_for(browser, "document.querySelector('path.gs-zone')")
    assert (
        browser.execute_script("return document.querySelectorAll('path.gs-zone-cell').length") == 0
    )
    drawn = browser.execute_script("return document.querySelectorAll('path.gs-zone').length")
    assert 0 < drawn <= len(zones)
    screenshot(browser, tmp_path, "viewport-zones.png")
    search = browser.find_element(By.CSS_SELECTOR, ".gs-search-input")
    search.send_keys(str(row["name"])[:6])
    result = wait_for(browser, "document.querySelector('.gs-search-result')")
    result.click()
    text = wait_for(browser, POPUP_TEXT)
    assert str(row["name"]) in text or "DEMO-Z" in text
    screenshot(browser, tmp_path, "viewport-popup.png")
    assert [u for u in requested_urls(browser) if not u.startswith(viewport_server)] == []
    assert console_errors(browser) == []


# -- a legend swatch is the colour the reader sees ---------------------------------------------
#: Layer control labels of the layers a section of the legend describes.
ZONES_LAYER = "Zones d'activités"
HEXAGONS_LAYER = "hexagones H3"
RASTER_LAYER = "raster du débit maximal"
#: Largest ΔE (CIELAB 1976) between a rendered feature and its legend swatch: the same colour
#: up to antialiasing and PNG rounding (two swatches of one legend are at least ~9 apart).
MAX_DELTA_E = 6.0

LEGEND_SWATCHES = """
var shown = Array.from(document.querySelectorAll('.gs-legend-section')).filter(function (s) {
  return s.style.display !== 'none';  /* the sections of the layers shown */
});
return shown.map(function (section) {
  return {
    title: section.querySelector('h4').textContent,
    entries: Array.from(section.querySelectorAll('.gs-legend-row'), function (row) {
      var s = getComputedStyle(row.querySelector('.gs-swatch'));
      var fill = s.backgroundColor;
      var colour = fill === 'rgba(0, 0, 0, 0)' ? s.borderTopColor : fill;
      return {label: row.textContent, colour: colour};
    })
  };
});
"""
SHOW_ONLY = """
var wanted = arguments[0];
document.querySelectorAll('.leaflet-control-layers-overlays label').forEach(function (label) {
  var input = label.querySelector('input');
  var on = wanted === null ||
    wanted.some(function (w) { return label.textContent.indexOf(w) >= 0; });
  if (input.checked !== on) { input.click(); }
});
"""


def _lab(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    """sRGB (0-255) to CIELAB (D65)."""

    def linear(c: float) -> float:
        c /= 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def delta_e(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """CIELAB 1976 distance of two sRGB colours."""
    return sum((p - q) ** 2 for p, q in zip(_lab(a), _lab(b), strict=True)) ** 0.5


def _css_rgb(value: str) -> tuple[float, float, float]:
    parts = value[value.index("(") + 1 : value.index(")")].split(",")
    return float(parts[0]), float(parts[1]), float(parts[2])


def _swatches(driver: Any) -> list[tuple[str, str, tuple[float, float, float]]]:
    """(section title, entry label, swatch colour) of every legend entry shown (the legend
    hides the sections of the layers switched off)."""
    return [
        (section["title"], entry["label"], _css_rgb(entry["colour"]))
        for section in driver.execute_script(LEGEND_SWATCHES)
        for entry in section["entries"]
    ]


def _pixel(image: Any, x: float, y: float) -> tuple[float, float, float]:
    """The median colour of the 3 × 3 screen pixels around (x, y)."""
    import statistics

    xs = range(round(x) - 1, round(x) + 2)
    ys = range(round(y) - 1, round(y) + 2)
    pixels = [image.getpixel((i, j))[:3] for i in xs for j in ys]
    return tuple(float(statistics.median(p[c] for p in pixels)) for c in range(3))  # type: ignore[return-value]


def _samples(driver: Any, script: str, *args: Any) -> list[dict[str, Any]]:
    """Run ``script`` (returns ``[{section, index, x, y}]``: a feature of legend entry
    ``index`` of section ``section`` is on top at viewport point x, y), then screenshot."""
    from io import BytesIO

    from PIL import Image

    points = driver.execute_script(script, *args)
    image = Image.open(BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    for p in points:
        p["rgb"] = _pixel(image, p["x"], p["y"])
    return points


def check_colours(driver: Any, points: list[dict[str, Any]], what: str) -> None:
    """Each sampled pixel is nearest (ΔE) to its own legend swatch, and close to it."""
    swatches = _swatches(driver)
    assert points, f"no {what} sampled"
    for p in points:
        own = [s for s in swatches if s[0].startswith(p["section"])][p["index"]]
        nearest = min(swatches, key=lambda s: delta_e(p["rgb"], s[2]))
        distance = delta_e(p["rgb"], own[2])
        assert nearest == own, (what, p, own, nearest, distance)
        assert distance <= MAX_DELTA_E, (what, p, own, distance)


def _zone_points(
    driver: Any, map_name: str, statuses: list[str], section: str
) -> list[dict[str, Any]]:
    """For each status, zoom on one of its zones and keep the centre of the zone if the zone is
    the top element there (not under a control, a plot or another zone); sample it."""
    from io import BytesIO

    from PIL import Image

    out = []
    for index, status in enumerate(statuses):
        point = driver.execute_script(
            """
            var map = window[arguments[0]], status = arguments[1], chosen = null;
            var candidates = [];
            map.eachLayer(function (l) {
              if (l.feature && l.feature.properties && l.feature.properties.s === status &&
                  l.getElement && l.getElement() &&
                  l.getElement().classList.contains('gs-zone')) { candidates.push(l); }
            });
            for (var i = 0; i < candidates.length && !chosen; i++) {
              var l = candidates[i];
              map.fitBounds(l.getBounds(), {animate: false, padding: [300, 250]});
              var rect = map.getContainer().getBoundingClientRect();
              var c = map.latLngToContainerPoint(l.getBounds().getCenter());
              var x = rect.left + c.x, y = rect.top + c.y;
              var ok = true;
              for (var dx = -3; dx <= 3 && ok; dx += 3) {
                for (var dy = -3; dy <= 3 && ok; dy += 3) {
                  ok = document.elementFromPoint(x + dx, y + dy) === l.getElement();
                }
              }
              if (ok) { chosen = {x: x, y: y, id: l.feature.properties.id}; }
            }
            return chosen;
            """,
            map_name,
            status,
        )
        if point is None:
            continue
        time.sleep(0.3)
        image = Image.open(BytesIO(driver.get_screenshot_as_png())).convert("RGB")
        point.update(section=section, index=index, status=status)
        point["rgb"] = _pixel(image, point["x"], point["y"])
        out.append(point)
    return out


def _canvas_points(
    driver: Any, map_name: str, section: str, colours: list[str]
) -> list[dict[str, Any]]:
    """Centres of hexagons of each colour of ``colours`` drawn on top (the map's canvas)."""
    return _samples(
        driver,
        """
        var map = window[arguments[0]], colours = arguments[1], section = arguments[2];
        var rect = map.getContainer().getBoundingClientRect(), out = [], seen = {};
        map.eachLayer(function (l) {
          if (!(l.options && l.options.className === 'gs-hexagon')) return;
          var index = colours.indexOf(l.options.fillColor);
          if (index < 0 || (seen[index] || 0) >= 3) return;
          var c = map.latLngToContainerPoint(l.getCenter());
          var x = rect.left + c.x, y = rect.top + c.y;
          if (x < 5 || y < 5 || x > innerWidth - 5 || y > innerHeight - 5) return;
          var top = document.elementFromPoint(x, y);
          if (!top || top.tagName !== 'CANVAS') return;
          seen[index] = (seen[index] || 0) + 1;
          out.push({section: section, index: index, x: x, y: y});
        });
        return out;
        """,
        map_name,
        colours,
        section,
    )


def _raster_points(driver: Any, section: str, colours: list[str]) -> list[dict[str, Any]]:
    """Points of the raster image drawn on top, with the class of the image's own pixel there."""
    return _samples(
        driver,
        """
        var colours = arguments[0], section = arguments[1], out = [], seen = {};
        var map = document.querySelector('.folium-map');
        var img = document.querySelector('img.gs-raster'), rect = img.getBoundingClientRect();
        var canvas = document.createElement('canvas');
        canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
        var ctx = canvas.getContext('2d');
        ctx.drawImage(img, 0, 0);
        function hex(v) { return ('0' + v.toString(16)).slice(-2); }
        for (var gx = 0.02; gx < 1; gx += 0.04) {
          for (var gy = 0.02; gy < 1; gy += 0.04) {
            var x = rect.left + gx * rect.width, y = rect.top + gy * rect.height;
            if (x < 5 || y < 5 || x > innerWidth - 5 || y > innerHeight - 5) continue;
            var top = document.elementFromPoint(x, y);  /* the image takes no pointer events */
            if (!top || !map.contains(top) || top.closest('.leaflet-control-container')) continue;
            var u = Math.floor(gx * img.naturalWidth), v = Math.floor(gy * img.naturalHeight);
            var ok = true, first = null;
            for (var du = -2; du <= 2 && ok; du++) {  /* inside one class, away from its edges */
              for (var dv = -2; dv <= 2 && ok; dv++) {
                var d = ctx.getImageData(Math.max(0, u + du), Math.max(0, v + dv), 1, 1).data;
                var key = d[3] === 0 ? null : '#' + hex(d[0]) + hex(d[1]) + hex(d[2]);
                if (first === null && du === -2 && dv === -2) first = key;
                ok = key !== null && key === first;
              }
            }
            var index = ok ? colours.indexOf(first) : -1;
            if (index < 0 || (seen[index] || 0) >= 4) continue;
            seen[index] = (seen[index] || 0) + 1;
            out.push({section: section, index: index, x: x, y: y});
          }
        }
        return out;
        """,
        colours,
        section,
    )


def check_territory_colours(driver: Any) -> None:
    """Zones (over every coverage layer), hexagons and raster pixels read as their swatches."""
    from geo_service.maps import style

    wait_for(driver, "window.L && document.querySelector('path.gs-zone')")
    map_name = driver.execute_script(f"return {MAP_NAME};")
    statuses = [str(s) for s in style.STATUS_ORDER]
    driver.execute_script(SHOW_ONLY, None)  # every layer on: zones over hexagons and raster
    time.sleep(0.5)
    zones = _zone_points(driver, map_name, statuses, "Statut des zones")
    assert {p["status"] for p in zones} >= {"served", "underserved", "unserved"}, zones
    check_colours(driver, zones, "zones over the coverage layers")
    driver.execute_script(SHOW_ONLY, [HEXAGONS_LAYER])
    driver.execute_script(f"window[{json.dumps(map_name)}].setZoom(12, {{animate: false}});")
    time.sleep(0.8)
    ramp = list(style.COVERAGE_RAMP)
    hexagons = _canvas_points(driver, map_name, "Locaux à", ramp)
    assert len({p["index"] for p in hexagons}) >= 3, hexagons
    check_colours(driver, hexagons, "hexagons")
    driver.execute_script(SHOW_ONLY, [RASTER_LAYER])
    time.sleep(0.8)
    raster = _raster_points(driver, "Débit maximal", ramp)
    assert len({p["index"] for p in raster}) >= 2, raster
    check_colours(driver, raster, "raster pixels")


def test_served_map_colours_match_the_legend(browser: Any, server: str) -> None:
    browser.get(f"{server}/maps/territory")
    check_territory_colours(browser)


def test_file_map_colours_match_the_legend(browser: Any, data_dir: Path, tmp_path: Path) -> None:
    workspace = Workspace(Settings(database_url=None, data_dir=data_dir))
    written = export_map(workspace, tmp_path / "carte.html", self_contained=True)
    browser.get(written.path.as_uri())
    check_territory_colours(browser)


def test_zone_map_colours_match_the_legend(browser: Any, server: str) -> None:
    """The zone's outline reads as its status swatch over the raster; raster pixels as theirs."""
    from geo_service.maps import style

    browser.get(f"{server}/maps/zones/DEMO-Z002")
    wait_for(browser, "window.L && document.querySelector('path.gs-zone')")
    time.sleep(0.5)
    outline = _samples(
        browser,
        """
        var map = window[arguments[0]], order = arguments[1], out = [];
        map.eachLayer(function (l) {
          if (!(l.feature && l.getElement && l.getElement() && !l.options.dashArray &&
                l.getElement().classList.contains('gs-zone') && l.options.weight >= 4)) return;
          var ring = l.getLatLngs()[0];
          ring = Array.isArray(ring[0]) ? ring[0] : ring;
          var rect = map.getContainer().getBoundingClientRect();
          for (var i = 0; i + 1 < ring.length; i++) {
            var a = map.latLngToContainerPoint(ring[i]);
            var b = map.latLngToContainerPoint(ring[i + 1]);
            var x = rect.left + (a.x + b.x) / 2, y = rect.top + (a.y + b.y) / 2;
            if (document.elementFromPoint(x, y) === l.getElement()) {
              var index = order.indexOf(l.feature.properties.s);
              out.push({section: 'Statut de la zone', index: index, x: x, y: y});
            }
          }
        });
        return out;
        """,
        browser.execute_script(f"return {MAP_NAME};"),
        [str(s) for s in style.STATUS_ORDER],
    )
    check_colours(browser, outline, "the zone's outline over the raster")
    browser.execute_script(SHOW_ONLY, [RASTER_LAYER])
    time.sleep(0.5)
    raster = _raster_points(browser, "Débit maximal", list(style.COVERAGE_RAMP))
    assert raster
    check_colours(browser, raster, "raster pixels around the zone")


# -- popups and controls clear of the header, the banner and each other ----------------------
BOXES = """
function box(e) {
  if (!e || getComputedStyle(e).visibility === 'hidden' || getComputedStyle(e).display === 'none')
    return null;
  var b = e.getBoundingClientRect();
  return [b.left, b.top, b.right, b.bottom];
}
return {
  header: box(document.querySelector('.gs-header')),
  notice: box(document.querySelector('.gs-notice')),
  popup: box(document.querySelector('.leaflet-popup')),
  layers: box(document.querySelector('.leaflet-control-layers')),
  search: box(document.querySelector('.gs-search')),
  zoom: box(document.querySelector('.leaflet-control-zoom')),
  legendFolded: document.querySelector('.gs-legend').classList.contains('gs-collapsed'),
  viewport: [0, 0, innerWidth, innerHeight]
};
"""


def _overlap(a: list[float] | None, b: list[float] | None) -> bool:
    """Whether two boxes [left, top, right, bottom] intersect (None: not shown)."""
    if a is None or b is None:
        return False
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _inside(a: list[float], b: list[float]) -> bool:
    return a[0] >= b[0] and a[1] >= b[1] and a[2] <= b[2] and a[3] <= b[3]


def _open_from_link(driver: Any, url: str) -> dict[str, Any]:
    driver.get("about:blank")  # a new page load, not a change of the hash alone
    driver.get(url)
    wait_for(driver, POPUP_TEXT)
    time.sleep(1.0)  # the initial view's animation and the popup's pan
    boxes: dict[str, Any] = driver.execute_script(BOXES)
    return boxes


def test_a_zone_link_opens_its_popup_below_the_header(browser: Any, server: str) -> None:
    """``/maps/territory#zone=…`` opened the popup before the page's own initial view moved
    the map, leaving the popup under the header and the banner."""
    boxes = _open_from_link(browser, f"{server}/maps/territory#zone=DEMO-Z009")
    assert "DEMO-Z009" in browser.execute_script(f"return {POPUP_TEXT};")
    popup = boxes["popup"]
    assert popup[1] >= boxes["header"][3], boxes
    assert _inside(popup, boxes["viewport"]), boxes
    for other in ("notice", "layers", "search", "zoom"):
        assert not _overlap(popup, boxes[other]), (other, boxes)


def test_narrow_screen_controls_clear_the_banner_and_search(browser: Any, server: str) -> None:
    """At 420 px the expanded layer control covered the banner and the search box."""
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 420, "height": 800, "deviceScaleFactor": 1, "mobile": False},
    )
    browser.get(f"{server}/maps/territory")
    wait_for(browser, "window.L && document.querySelector('path.gs-zone')")
    time.sleep(0.5)
    boxes = browser.execute_script(BOXES)
    assert boxes["viewport"][2] == 420
    assert boxes["legendFolded"]
    for a, b in (("layers", "notice"), ("layers", "search"), ("notice", "search")):
        assert not _overlap(boxes[a], boxes[b]), (a, b, boxes)
    for name in ("layers", "notice", "search", "zoom"):
        assert _inside(boxes[name], boxes["viewport"]), (name, boxes)
    # a popup opened from a link is not covered by the banner or the search box
    boxes = _open_from_link(browser, f"{server}/maps/territory#zone=DEMO-Z009")
    assert boxes["popup"][1] >= boxes["header"][3], boxes
    assert not _overlap(boxes["popup"], boxes["notice"]), boxes
    assert not _overlap(boxes["popup"], boxes["search"]), boxes


ITEMS_LAYOUT = """
const px = (el, prop) => parseFloat(getComputedStyle(el)[prop]);
const th = document.querySelector('thead th');
const td = document.querySelector('tbody td');
return {
  headers: [...document.querySelectorAll('thead th')].map(t => t.textContent),
  header: document.querySelector('thead tr').getBoundingClientRect().height,
  headerLine: px(th, 'lineHeight'),
  headerPadding: px(th, 'paddingTop') + px(th, 'paddingBottom'),
  rows: [...document.querySelectorAll('tbody tr')].map(r => r.getBoundingClientRect().height),
  line: px(td, 'lineHeight') || 1.2 * px(td, 'fontSize'),
  cellPadding: px(td, 'paddingTop') + px(td, 'paddingBottom'),
};
"""


def test_html_items_keep_compact_headers_and_one_line_rows(browser: Any, server: str) -> None:
    """The zones' HTML table had a header row nine lines tall (long labels of narrow far
    columns) and rows of two or three lines; the id came first, status and priority after."""
    browser.get(f"{server}/collections/zones/items?f=html&sortby=rank&limit=100")
    layout = browser.execute_script(ITEMS_LAYOUT)
    assert layout["headers"][:5] == ["Statut", "Priorité", "Rang", "Nom", "Identifiant"]
    assert len(layout["headers"]) > 30  # every column is still there
    most = 4 * layout["headerLine"] + layout["headerPadding"] + 2
    assert layout["header"] <= most, layout
    one_line = 1.25 * layout["line"] + layout["cellPadding"] + 2
    assert len(layout["rows"]) == 60
    assert max(layout["rows"]) <= one_line, layout  # names and values on one line
