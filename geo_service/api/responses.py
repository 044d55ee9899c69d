"""Response helpers: compact JSON text, and the media types of OGC API documents."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse

from geo_service.api.links import GEOJSON, JSON, JSON_SCHEMA


def dumps(value: Any) -> str:
    """Compact JSON (UTF-8 characters kept, NaN refused)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def json_response(document: Any, media_type: str = JSON) -> Response:
    """``document`` written as compact JSON, without further validation."""
    return Response(dumps(document).encode(), media_type=media_type)


class GeoJSONResponse(JSONResponse):
    """A JSON response typed ``application/geo+json``."""

    media_type = GEOJSON


class SchemaResponse(JSONResponse):
    """A JSON Schema response (``application/schema+json``)."""

    media_type = JSON_SCHEMA
