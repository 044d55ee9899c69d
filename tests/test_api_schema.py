"""schemathesis over the OpenAPI document: no 5xx, and every response matches the document.

It generates valid and invalid requests for every operation of the JSON API (the map routes
belong to their own tests) and checks status codes, media types and response bodies against
the schemas the API declares. The number of examples is kept small so the run stays short.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from geo_service.api import create_app
from geo_service.api.app import warm_up
from geo_service.settings import Settings

API_TAGS = ["OGC API - Features", "OGC API - Tiles", "Zones and territory"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def app(analysed_demo_dir: Path) -> FastAPI:
    """The app serving the analysed demo store, its indexes built."""
    application = create_app(Settings(data_dir=analysed_demo_dir, database_url=None))
    warm_up(application)
    return application


# The OpenAPI document does not depend on the data: read it from an app without any, so that
# schemathesis can make one test per operation at collection time.
_DOCUMENT_APP = create_app(Settings(data_dir=Path("no-data"), database_url=None))
schema = schemathesis.openapi.from_asgi("/openapi.json", _DOCUMENT_APP).include(tag=API_TAGS)


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case, app: FastAPI) -> None:
    case.call_and_validate(checks=CHECKS, app=app)
