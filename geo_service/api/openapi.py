"""The OpenAPI document, served as OpenAPI 3.0 (what the OGC conformance class ``oas30`` means).

FastAPI writes OpenAPI 3.1 (JSON Schema 2020-12). :func:`as_openapi30` rewrites what 3.0 does
not have: ``anyOf`` with ``{"type": "null"}`` and type lists become ``nullable``, ``const``
becomes a one-value ``enum``, ``examples`` lists become ``example``, numeric
``exclusiveMinimum``/``exclusiveMaximum`` become booleans beside ``minimum``/``maximum``,
``prefixItems`` (tuples) become ``items`` with a length, and ``contentMediaType`` binary strings
become ``format: binary``. It also drops FastAPI's 422 responses (invalid requests give 400)
and makes every error response JSON.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

OPENAPI_VERSION: Final = "3.0.3"

_SCHEMA_LISTS: Final = ("anyOf", "allOf", "oneOf")


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI 3.0 document (built once)."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        _errors_as_json(document)
        app.openapi_schema = as_openapi30(document)
    return app.openapi_schema


def _errors_as_json(document: dict[str, Any]) -> None:
    for path in document.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            responses.pop("422", None)
            for status, response in responses.items():
                if status.startswith(("4", "5")) and "content" in response:
                    # Errors are JSON whatever the route's own media type.
                    schemas = [c.get("schema") for c in response["content"].values()]
                    response["content"] = {"application/json": {"schema": schemas[0]}}
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def as_openapi30(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (OpenAPI 3.1 as FastAPI writes it) rewritten as OpenAPI 3.0."""
    converted = dict(document)
    converted["openapi"] = OPENAPI_VERSION
    converted.pop("jsonSchemaDialect", None)
    components = dict(converted.get("components", {}))
    if "schemas" in components:
        components["schemas"] = {k: schema30(v) for k, v in components["schemas"].items()}
    converted["components"] = components
    converted["paths"] = {
        path: {method: _operation(op) for method, op in item.items()}
        for path, item in converted.get("paths", {}).items()
    }
    return converted


def _operation(operation: Any) -> Any:
    if not isinstance(operation, dict):
        return operation
    result = dict(operation)
    if "parameters" in result:
        result["parameters"] = [_parameter(p) for p in result["parameters"]]
    if "requestBody" in result:
        result["requestBody"] = _with_content(result["requestBody"])
    if "responses" in result:
        result["responses"] = {k: _with_content(v) for k, v in result["responses"].items()}
    return result


def _parameter(parameter: dict[str, Any]) -> dict[str, Any]:
    result = dict(parameter)
    if "schema" in result:
        result["schema"] = schema30(result["schema"])
    examples = result.get("examples")
    if isinstance(examples, list):
        result.pop("examples")
        if examples:
            result["example"] = examples[0]
    return result


def _with_content(holder: dict[str, Any]) -> dict[str, Any]:
    result = dict(holder)
    if "content" in result:
        result["content"] = {
            media: {**body, "schema": schema30(body["schema"])} if "schema" in body else body
            for media, body in result["content"].items()
        }
    return result


def schema30(schema: Any) -> Any:
    """One JSON Schema (2020-12 as pydantic writes it) as an OpenAPI 3.0 Schema Object."""
    if not isinstance(schema, dict):
        return schema
    result = {key: value for key, value in schema.items() if key not in ("$schema", "$id")}
    _nullable(result)
    for key in _SCHEMA_LISTS:
        if key in result:
            result[key] = [schema30(s) for s in result[key]]
    for key in ("items", "not", "additionalProperties"):
        if isinstance(result.get(key), dict):
            result[key] = schema30(result[key])
    if "properties" in result:
        result["properties"] = {k: schema30(v) for k, v in result["properties"].items()}
    if "const" in result:
        result["enum"] = [result.pop("const")]
    if result.get("nullable") and "enum" in result and None not in result["enum"]:
        # 3.0.3: a nullable enum lists null among its values.
        result["enum"] = [*result["enum"], None]
    if isinstance(result.get("examples"), list):
        examples = result.pop("examples")
        if examples:
            result["example"] = examples[0]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = result.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            result[plain] = value
            result[bound] = True
    if "prefixItems" in result:
        items = [schema30(s) for s in result.pop("prefixItems")]
        result["items"] = items[0] if len({repr(i) for i in items}) == 1 else {"anyOf": items}
        result.setdefault("minItems", len(items))
        result.setdefault("maxItems", len(items))
    if "contentMediaType" in result:
        result.pop("contentMediaType")
        result["format"] = "binary"
    if "$ref" in result and len(result) > 1:
        # 3.0 ignores siblings of $ref: wrap the reference.
        reference = {"$ref": result.pop("$ref")}
        result["allOf"] = [reference, *result.get("allOf", [])]
    return result


def _nullable(schema: dict[str, Any]) -> None:
    """``anyOf: [X, {type: null}]`` and ``type: [X, "null"]`` as ``X`` + ``nullable: true``."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) < len(kind):
            schema["nullable"] = True
        schema["type"] = kinds[0] if len(kinds) == 1 else kinds
        if isinstance(schema["type"], list):
            schema.pop("type")
            schema["anyOf"] = [{"type": k} for k in kinds]
    if kind == "null":
        schema.pop("type")
        schema["nullable"] = True
        schema["enum"] = [None]
    alternatives = schema.get("anyOf")
    if not isinstance(alternatives, list):
        return
    others = [a for a in alternatives if a != {"type": "null"}]
    if len(others) == len(alternatives):
        return
    schema["nullable"] = True
    if len(others) == 1:
        schema.pop("anyOf")
        only = others[0]
        if "$ref" in only:
            schema["allOf"] = [only]
        else:
            for key, value in only.items():
                schema.setdefault(key, value)
    else:
        schema["anyOf"] = others
