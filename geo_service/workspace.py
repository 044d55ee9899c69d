"""The store seen by long-running readers (API, maps, opinions): layers cached in memory.

A :class:`Workspace` reads each layer once and keeps it until the store replaces it (checked
by the layer's version token on every access, a ``stat`` call), so requests are served from
memory and always see a whole layer, old or new, never a mix.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import geopandas as gpd

from geo_service import pipeline
from geo_service.analysis import AnalysisResult
from geo_service.model import CoverageRaster, LayerMeta
from geo_service.settings import Settings
from geo_service.store import Store, open_store

T = TypeVar("T")


class Workspace:
    """A store and in-memory copies of its layers, refreshed when the store replaces them."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store or open_store(settings)
        self._cache: dict[str, tuple[str | None, Any]] = {}
        self._lock = threading.RLock()

    def cached(self, key: str, layer: str, load: Callable[[], T]) -> T:
        """``load()``'s value, recomputed only when layer ``layer`` has a new version.

        Derived values (e.g. GeoJSON features in WGS84) use their own ``key`` and the
        ``layer`` they come from.
        """
        version = self.store.version(layer)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == version and version is not None:
                return hit[1]  # type: ignore[no-any-return]
            value = load()
            self._cache[key] = (version, value)
            return value

    def layer(self, name: str) -> gpd.GeoDataFrame:
        """Vector layer ``name`` (Lambert-93)."""
        return self.cached(f"layer:{name}", name, lambda: self.store.read_layer(name))

    def raster(self) -> CoverageRaster | None:
        """The coverage raster, or None when none is stored."""
        if not self.store.has_layer(pipeline.COVERAGE):
            return None
        return self.cached(
            "raster", pipeline.COVERAGE, lambda: self.store.read_raster(pipeline.COVERAGE)
        )

    def meta(self, name: str) -> LayerMeta:
        """Provenance of layer ``name``."""
        return self.cached(f"meta:{name}", name, lambda: self.store.layer_meta(name))

    def results(self) -> AnalysisResult:
        """The stored analysis results (NotFoundError if the store was never analysed)."""
        return self.cached(
            "results", pipeline.ZONE_RESULTS, lambda: pipeline.load_results(self.store)
        )

    def ensure_ready(self) -> None:
        """Build the demo territory if the store is empty, and analyse it if it has no results."""
        if not self.store.has_layer(pipeline.ZONES):
            pipeline.build_demo_store(self.store, seed=self.settings.demo_seed)
        if not self.store.has_layer(pipeline.ZONE_RESULTS):
            pipeline.analyze_store(self.store, self.settings.analysis_params())
