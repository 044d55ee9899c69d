"""schemathesis over the write endpoints (with the API key) and every other route.

The write routes (upload, analysis, deletion) run against a throwaway copy of the analysed
demo store; every generated request, valid or not, must get a documented answer and never a
5xx. Maps and opinions, left out of ``test_api_schema.py``, are checked for 5xx here too.
"""

from __future__ import annotations

import shutil
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
from geo_service.api.auth import hash_api_key
from geo_service.settings import Settings

KEY = "schemathesis-write-key-0123456789"
HEADERS = {"Authorization": f"Bearer {KEY}"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def app(analysed_demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The app, with an API key, serving a throwaway copy of the analysed demo store."""
    data_dir = tmp_path_factory.mktemp("schema-write") / "data"
    shutil.copytree(analysed_demo_dir, data_dir)
    settings = Settings(
        data_dir=data_dir, database_url=None, api_key_hash=hash_api_key(KEY), max_upload_mb=5
    )
    application = create_app(settings)
    warm_up(application)
    return application


_DOCUMENT_APP = create_app(Settings(data_dir=Path("no-data"), database_url=None))
_SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", _DOCUMENT_APP)
write_schema = _SCHEMA.include(tag="Write (API key)")
other_schema = _SCHEMA.include(tag_regex="^(Maps|Opinions)$")


@write_schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_write_endpoints_conform_and_never_fail(case: schemathesis.Case, app: FastAPI) -> None:
    case.call_and_validate(checks=CHECKS, app=app, headers=HEADERS)


@write_schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
def test_write_endpoints_without_the_key(case: schemathesis.Case, app: FastAPI) -> None:
    response = case.call(app=app)
    method = case.method.upper()
    if method == case.operation.method.upper():
        assert response.status_code == 401, response.text
    elif method == "OPTIONS":
        # OPTIONS answers what the path allows, the operation's own method among them.
        assert response.status_code == 204, response.text
        allowed = ", ".join(response.headers["allow"]).split(", ")
        assert case.operation.method.upper() in allowed
    else:
        assert response.status_code == 405, response.text


@other_schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
def test_maps_and_opinions_never_fail(case: schemathesis.Case, app: FastAPI) -> None:
    case.call_and_validate(checks=[not_a_server_error], app=app)
