"""geo-service: broadband coverage of activity zones and business land.

The public Python API, for notebooks and scripts (each name is imported on first use, so that
``import geo_service`` stays cheap for the command line)::

    import geo_service as gs

    settings = gs.Settings()                            # GEO_SERVICE_* environment
    store = gs.open_store(settings)                     # GeoPackage or PostGIS
    gs.build_demo_store(store)                          # or gs.import_files(store, "zones", [path])
    result = gs.analyze(store, settings=settings)       # engine="memory" or "dask"
    found = gs.here(store, 5.43, 43.30)                 # zones, commune, building, coverage
    opinion = gs.zone_opinion(result, "ZAE-001", gs.OpinionOptions.from_settings(settings))
    gs.export_map(gs.Workspace(settings, store), Path("carte.html"))

Everything else is internal: its modules may change without notice.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geo_service.analysis import AnalysisResult
    from geo_service.export import export_results
    from geo_service.maps.service import export_map
    from geo_service.opinions import (
        OpinionOptions,
        commune_opinion,
        territory_synthesis,
        zone_opinion,
    )
    from geo_service.pipeline import (
        analyze,
        build_demo_store,
        here,
        import_files,
        load_results,
        prepare_store,
    )
    from geo_service.settings import AnalysisParams, Settings
    from geo_service.store import Store, open_store
    from geo_service.workspace import Workspace

#: Public name -> the module that defines it.
_PUBLIC: dict[str, str] = {
    "AnalysisParams": "geo_service.settings",
    "AnalysisResult": "geo_service.analysis",
    "OpinionOptions": "geo_service.opinions",
    "Settings": "geo_service.settings",
    "Store": "geo_service.store",
    "Workspace": "geo_service.workspace",
    "analyze": "geo_service.pipeline",
    "build_demo_store": "geo_service.pipeline",
    "commune_opinion": "geo_service.opinions",
    "export_map": "geo_service.maps.service",
    "export_results": "geo_service.export",
    "here": "geo_service.pipeline",
    "import_files": "geo_service.pipeline",
    "load_results": "geo_service.pipeline",
    "prepare_store": "geo_service.pipeline",
    "open_store": "geo_service.store",
    "territory_synthesis": "geo_service.opinions",
    "zone_opinion": "geo_service.opinions",
}

__all__ = [
    "AnalysisParams",
    "AnalysisResult",
    "OpinionOptions",
    "Settings",
    "Store",
    "Workspace",
    "analyze",
    "build_demo_store",
    "commune_opinion",
    "export_map",
    "export_results",
    "here",
    "import_files",
    "load_results",
    "open_store",
    "prepare_store",
    "territory_synthesis",
    "zone_opinion",
]


def __getattr__(name: str) -> Any:
    """The public name ``name``, imported from its module on first use."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'geo_service' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
