"""Where layers live: GeoPackage files by default, PostGIS when configured."""

from __future__ import annotations

from geo_service.model import LayerMeta
from geo_service.settings import Settings
from geo_service.store.base import Store, check_layer_name
from geo_service.store.gpkg import GeoPackageStore


def open_store(settings: Settings) -> Store:
    """The store the settings point at."""
    return GeoPackageStore(settings.data_dir)


__all__ = ["GeoPackageStore", "LayerMeta", "Store", "check_layer_name", "open_store"]
