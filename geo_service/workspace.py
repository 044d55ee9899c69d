"""The store seen by long-running readers (API, maps, opinions): layers cached in memory.

A :class:`Workspace` reads each layer once and keeps it until the store replaces it (checked
by the layer's version token: on every access, or, for a request, once when it starts), so
requests are served from memory and always see a whole layer, old or new, never a mix.

When the store changes under a running server, the cached values are rebuilt by
:meth:`Workspace.refresh` in a worker thread, into a staging area swapped in at once when
everything is rebuilt: meanwhile other requests keep being served from the old values, so
reads stay fast during an import. A request also reads one *generation* of the cache,
pinned when it starts (:meth:`Workspace.pinned`): a value derived while it runs (a map's
pieces) is derived from that generation and tagged with its versions, so a response never
mixes old and new values (e.g. a zone's properties and the run information of another
analysis, or the zones of one run with the map geometries of another).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

import geopandas as gpd

from geo_service import pipeline
from geo_service.analysis import AnalysisResult
from geo_service.errors import GeoServiceError
from geo_service.model import CoverageRaster, LayerMeta
from geo_service.settings import Settings
from geo_service.store import Store, open_store

T = TypeVar("T")


class CacheKind(Enum):
    """The kinds of values the workspace caches, and whether :meth:`Workspace.refresh` may
    rebuild them: their loaders only read the store through the workspace. Other kinds (map
    pieces) are rebuilt on demand by their callers."""

    LAYER = ("layer", True)
    META = ("meta", True)
    RESULTS = ("results", True)
    RASTER = ("raster", True)
    API = ("api", True)
    MAP = ("map", False)

    def __init__(self, label: str, refreshable: bool) -> None:
        self.label = label
        self.refreshable = refreshable


@dataclass(frozen=True)
class CacheKey:
    """One cached value: its kind, and its name within the kind (a layer's, a collection's)."""

    kind: CacheKind
    name: str = ""

    @property
    def refreshable(self) -> bool:
        return self.kind.refreshable

    def __str__(self) -> str:
        return f"{self.kind.label}:{self.name}" if self.name else self.kind.label


@dataclass(frozen=True)
class _Entry:
    version: str | None
    value: Any
    layer: str
    load: Callable[[], Any]


@dataclass(frozen=True)
class _Pin:
    """The generation of the cache a request reads, and the layer versions it stands for."""

    workspace: Workspace
    entries: dict[CacheKey, _Entry]
    versions: dict[str, str | None]


_PINNED: ContextVar[_Pin | None] = ContextVar("geo_service_workspace_pin", default=None)


class Workspace:
    """A store and in-memory copies of its layers, refreshed when the store replaces them."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store or open_store(settings)
        self._cache: dict[CacheKey, _Entry] = {}
        self._lock = threading.RLock()
        self._refresh_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._local = threading.local()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: concurrent.futures.Future[None] | None = None

    def cached(self, key: CacheKey, layer: str, load: Callable[[], T]) -> T:
        """``load()``'s value, recomputed only when layer ``layer`` has a new version.

        Derived values (e.g. GeoJSON features in WGS84) use their own ``key`` and the
        ``layer`` they come from. While a refresh rebuilds the cache in another thread, a
        stale value is returned as it is (the refresh replaces it), rather than rebuilt here.
        """
        staged: dict[CacheKey, _Entry] | None = getattr(self._local, "staged", None)
        if staged is not None:
            return self._staged_value(staged, key, layer, load, self.store.version(layer))
        pin = self._pin()
        version = self.version(layer)
        hit = (pin.entries if pin is not None else self._cache).get(key)
        if hit is not None and hit.version == version and version is not None:
            return hit.value  # type: ignore[no-any-return]
        if pin is None and hit is not None and self.refreshing():
            return hit.value  # type: ignore[no-any-return]
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit.version == version and version is not None:
                return hit.value  # type: ignore[no-any-return]
            value = load()
            self._cache = {**self._cache, key: _Entry(version, value, layer, load)}
            return value

    def version(self, layer: str) -> str | None:
        """The version of ``layer`` the caller reads: the one of the request's pinned
        generation, else the store's."""
        pin = self._pin()
        if pin is None:
            return self.store.version(layer)
        if layer not in pin.versions:
            pin.versions[layer] = self.store.version(layer)
        return pin.versions[layer]

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Within the block (a request, and the threads it runs in), read the cache's
        current generation only."""
        entries = self._cache
        versions = {e.layer: e.version for k, e in entries.items() if k.refreshable}
        token = _PINNED.set(_Pin(self, entries, versions))
        try:
            yield
        finally:
            _PINNED.reset(token)

    def _pin(self) -> _Pin | None:
        pin = _PINNED.get()
        return pin if pin is not None and pin.workspace is self else None

    def _staged_value(
        self,
        staged: dict[CacheKey, _Entry],
        key: CacheKey,
        layer: str,
        load: Callable[[], T],
        version: str | None,
    ) -> T:
        hit = staged.get(key) or self._cache.get(key)
        if hit is not None and hit.version == version and version is not None:
            return hit.value  # type: ignore[no-any-return]
        value = load()
        staged[key] = _Entry(version, value, layer, load)
        return value

    # -- refreshing ---------------------------------------------------------------------------
    def stale(self) -> bool:
        """Whether a refreshable cached value belongs to an older version of its layer."""
        return next(self._outdated(), None) is not None

    def _outdated(self) -> Iterator[tuple[CacheKey, _Entry]]:
        """The refreshable cached values whose layer the store has replaced (one version read
        per layer)."""
        entries = [(key, entry) for key, entry in self._cache.items() if key.refreshable]
        versions = self.store.versions(sorted({entry.layer for _, entry in entries}))
        for key, entry in entries:
            if versions[entry.layer] != entry.version:
                yield key, entry

    def refreshing(self) -> bool:
        """Whether a refresh is under way (in a worker thread)."""
        pending = self._pending
        return (pending is not None and not pending.done()) or self._refresh_lock.locked()

    def refresh(self) -> None:
        """Rebuild every stale refreshable value, then swap them all in at once.

        Runs in the calling thread (a worker: never the event loop); other threads keep
        reading the old values until the swap. Values whose layer is gone are dropped.
        """
        with self._refresh_lock:
            staged: dict[CacheKey, _Entry] = {}
            dropped: list[CacheKey] = []
            self._local.staged = staged
            try:
                for key, entry in self._outdated():
                    if key in staged:
                        continue
                    try:
                        self.cached(key, entry.layer, entry.load)
                    except GeoServiceError:
                        dropped.append(key)
            finally:
                self._local.staged = None
            with self._lock:
                entries = {**self._cache, **staged}
                for key in dropped:
                    entries.pop(key, None)
                self._cache = entries

    def start_refresh(self) -> concurrent.futures.Future[None]:
        """Start :meth:`refresh` in the workspace's worker thread (or return the one running)."""
        with self._start_lock:
            pending = self._pending
            if pending is not None and not pending.done():
                return pending
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="geo-service-refresh"
                )
            self._pending = self._executor.submit(self.refresh)
            return self._pending

    async def ensure_fresh(self) -> None:
        """For a request about to start: rebuild stale values off the event loop.

        The first request after a change waits (without blocking the loop) for the rebuilt
        values; requests arriving while a refresh runs are served from the old ones.
        """
        if self.refreshing() or not self.stale():
            return
        await asyncio.wrap_future(self.start_refresh())

    # -- layers -----------------------------------------------------------------------------
    def layer(self, name: str) -> gpd.GeoDataFrame:
        """Vector layer ``name`` (Lambert-93)."""
        return self.cached(
            CacheKey(CacheKind.LAYER, name), name, lambda: self.store.read_layer(name)
        )

    def optional_layer(self, name: str) -> gpd.GeoDataFrame | None:
        """Vector layer ``name``, or None when the store does not hold it."""
        return self.layer(name) if self.store.has_layer(name) else None

    def raster(self) -> CoverageRaster | None:
        """The coverage raster, or None when none is stored."""
        if not self.store.has_layer(pipeline.COVERAGE):
            return None
        return self.cached(
            CacheKey(CacheKind.RASTER),
            pipeline.COVERAGE,
            lambda: self.store.read_raster(pipeline.COVERAGE),
        )

    def meta(self, name: str) -> LayerMeta:
        """Provenance of layer ``name``."""
        return self.cached(
            CacheKey(CacheKind.META, name), name, lambda: self.store.layer_meta(name)
        )

    def results(self) -> AnalysisResult:
        """The stored analysis results, the three layers of one run (stored and read in one
        step by the store); NotFoundError if the store was never analysed."""
        return self.cached(
            CacheKey(CacheKind.RESULTS),
            pipeline.ZONE_RESULTS,
            lambda: pipeline.load_results(self.store),
        )
