"""Where layers live: GeoPackage files by default, PostGIS when configured."""

from __future__ import annotations

from geo_service.errors import ParameterError
from geo_service.model import LayerMeta
from geo_service.settings import Settings
from geo_service.store.base import Store, check_layer_name
from geo_service.store.gpkg import GeoPackageStore

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(settings: Settings) -> Store:
    """The store the settings point at.

    PostGIS when ``settings.database_url`` is set (``postgresql://`` or ``postgres://``),
    otherwise the GeoPackage store under ``settings.data_dir``.

    Raises
    ------
    ParameterError
        When ``database_url`` is set to anything but a PostgreSQL URL.
    StoreError
        When the PostGIS database cannot be reached or migrated.
    """
    url = (settings.database_url or "").strip()
    if not url:
        return GeoPackageStore(settings.data_dir)
    if not url.startswith(_POSTGRES_SCHEMES):
        raise ParameterError(
            "database_url",
            "expected a PostgreSQL URL (postgresql://user:password@host:port/dbname), or no "
            "value for the GeoPackage store",
        )
    from geo_service.store.postgis import PostGISStore  # psycopg is loaded only when used

    return PostGISStore(url, settings.database_schema)


__all__ = ["GeoPackageStore", "LayerMeta", "Store", "check_layer_name", "open_store"]
