"""The JSON API (FastAPI): OGC API - Features, domain endpoints, maps."""

from geo_service.api.app import create_app

__all__ = ["create_app"]
