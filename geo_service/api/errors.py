"""Errors on the wire: every error class mapped to one HTTP status, in this one place.

Error bodies follow the OGC API exception shape, ``{"code": ..., "description": ...}``. Invalid
parameters give 400 with a description naming the parameter, unknown ids 404; anything
unexpected is logged with its traceback and answered 500 with a short JSON body (no route is
meant to reach it).
"""

from __future__ import annotations

import logging
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo_service.errors import (
    AuthError,
    ForbiddenError,
    GeoServiceError,
    InputError,
    NotFoundError,
    ParameterError,
    PayloadTooLargeError,
    RateLimitedError,
    RequestTimeoutError,
    ServerSpaceError,
    StoreError,
    UnsupportedMediaTypeError,
)

logger = logging.getLogger("geo_service.api")

#: HTTP status and OGC exception code of each error class (the most specific class wins).
ERROR_STATUS: Final[dict[type[GeoServiceError], tuple[int, str]]] = {
    ParameterError: (400, "InvalidParameterValue"),
    InputError: (400, "InvalidInput"),
    NotFoundError: (404, "NotFound"),
    AuthError: (401, "Unauthorized"),
    ForbiddenError: (403, "Forbidden"),
    RateLimitedError: (429, "TooManyRequests"),
    PayloadTooLargeError: (413, "PayloadTooLarge"),
    RequestTimeoutError: (408, "RequestTimeout"),
    UnsupportedMediaTypeError: (415, "UnsupportedMediaType"),
    StoreError: (503, "StoreUnavailable"),
    ServerSpaceError: (503, "InsufficientStorage"),
    GeoServiceError: (400, "BadRequest"),
}
_HTTP_CODES: Final = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    408: "RequestTimeout",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
}
#: The challenge of a 401 answer (RFC 6750): the write endpoints take a bearer API key.
WWW_AUTHENTICATE: Final = 'Bearer realm="geo-service"'


class ErrorBody(BaseModel):
    """An error response (OGC API exception)."""

    code: str = Field(description="Error code, e.g. InvalidParameterValue or NotFound.")
    description: str = Field(description="What was wrong, naming the parameter or the id.")


#: ``responses=`` entries documenting the errors of a route.
ERROR_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    400: {"model": ErrorBody, "description": "Invalid or unknown query parameter."},
}
NOT_FOUND_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    **ERROR_RESPONSES,
    404: {"model": ErrorBody, "description": "Unknown collection, feature, zone or commune."},
}


def status_of(exc: GeoServiceError) -> tuple[int, str]:
    """HTTP status and error code of ``exc``."""
    for cls in type(exc).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return ERROR_STATUS[GeoServiceError]  # pragma: no cover - every error derives from it


def error_response(
    status: int, code: str, description: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON error response."""
    return JSONResponse(
        {"code": code, "description": description}, status_code=status, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map geo-service errors, request validation errors and HTTP errors to JSON responses."""
    app.add_exception_handler(GeoServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GeoServiceError)
    status, code = status_of(exc)
    headers = {"WWW-Authenticate": WWW_AUTHENTICATE} if status == 401 else None
    if isinstance(exc, RateLimitedError):
        headers = {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, RequestTimeoutError):  # the rest of its body is not read
        headers = {"Connection": "close"}
    return error_response(status, code, exc.message, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_describe_validation(error) for error in exc.errors()]
    return error_response(400, ERROR_STATUS[ParameterError][1], "; ".join(problems))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "HTTPError")
    description = str(exc.detail)
    if exc.status_code == 404:
        description = f"no resource at {request.url.path}; the landing page / lists what there is"
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, code, description, headers=headers)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("internal error on %s", request.url.path, exc_info=exc)
    return error_response(
        500, "ServerError", f"internal error ({type(exc).__name__}); it has been logged"
    )


def _describe_validation(error: Any) -> str:
    location = [str(part) for part in error.get("loc", ())]
    where = location[0] if location else "request"
    name = ".".join(location[1:]) or where
    value = error.get("input")
    shown = "" if value is None or isinstance(value, dict) else f" (got {str(value)[:80]!r})"
    kind = "parameter" if where in ("query", "path") else where
    return f"{kind} '{name}': {error.get('msg', 'invalid value')}{shown}"
