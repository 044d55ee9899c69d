"""The modules that register the producers' import formats, declared once as plain data.

:mod:`geo_service.sources.formats` imports them to fill its registry; the import workers' fork
server loads them before it forks a worker (:mod:`geo_service.import_worker`). This module
imports nothing, so that ``geo-service import`` can start that fork server, with the complete
list, before it loads any of them itself.
"""

from __future__ import annotations

from typing import Final

#: Modules that register producer-specific formats when imported.
FORMAT_MODULES: Final[tuple[str, ...]] = (
    "geo_service.sources.arcep",
    "geo_service.sources.mobile",
    "geo_service.sources.cnig",
    "geo_service.sources.ign",
    "geo_service.sources.cartofriches",
    "geo_service.sources.ademe",
    "geo_service.sources.arcep_communes",
    "geo_service.sources.gtfs",
    "geo_service.sources.transport",
    "geo_service.sources.roads",
    "geo_service.sources.osm_extract",
    "geo_service.sources.anyvector",
)
