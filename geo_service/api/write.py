"""Routes: writing through the API (upload and import a layer, re-run the analysis, delete).

Every route here needs the API key (:mod:`geo_service.api.auth`); reading stays public. The
routes call the same pipeline as the CLI (``geo-service import``, ``geo-service analyze``):
an upload is streamed to a temporary directory (refused with 413 as soon as it exceeds
``GEO_SERVICE_MAX_UPLOAD_MB``), its file names are reduced to safe base names, its extensions
and media types checked (415), then imported in a worker process bounded in memory and time
(``GEO_SERVICE_IMPORT_MEMORY_MB``, ``GEO_SERVICE_IMPORT_TIMEOUT_S``; past them, 413 naming the
file), so that no file can stall the readers or exhaust the server's memory. Writes of one
server are serialised; the store's own atomic replacement keeps readers on the old or the new
layer, never a mix, and leaves the store unchanged when an import is refused or stopped.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Final, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect
from starlette.types import Message

from geo_service import pipeline
from geo_service.analysis.aggregate import status_counts
from geo_service.api.auth import require_api_key
from geo_service.api.deps import WorkspaceDep, get_settings, get_workspace
from geo_service.api.errors import ErrorBody
from geo_service.api.params import reject_unknown_parameters
from geo_service.api.responses import json_response
from geo_service.bounded import WorkerFailureError
from geo_service.errors import (
    GeoServiceError,
    InputError,
    NotFoundError,
    ParameterError,
    PayloadTooLargeError,
    ServerSpaceError,
    UnsupportedMediaTypeError,
)
from geo_service.import_worker import import_bounded
from geo_service.settings import AnalysisFields, Settings, analysis_bounds
from geo_service.sources.formats import (
    IMPORT_OPTIONS,
    RASTER_SUFFIXES,
    ImportOptions,
    all_formats,
    import_options,
)
from geo_service.sources.vector import VECTOR_SUFFIXES
from geo_service.store.base import check_layer_name
from geo_service.validation import LayerReport
from geo_service.vintages import archived_name, parse_vintage

T = TypeVar("T")
logger = logging.getLogger("geo_service.api")

TAG: Final = "Write (API key)"
router = APIRouter(
    tags=[TAG],
    dependencies=[Depends(require_api_key), Depends(reject_unknown_parameters)],
)

#: Companions of a Shapefile: uploaded with it, never imported on their own.
SIDECAR_SUFFIXES: Final = (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml")
#: Extensions an upload may have (``.csv.gz`` counts as ``.gz``).
UPLOAD_SUFFIXES: Final = tuple(
    sorted({*VECTOR_SUFFIXES, *RASTER_SUFFIXES, *SIDECAR_SUFFIXES, ".gz"})
)
#: Media types a file part may declare (browsers and HTTP clients guess them from extensions).
UPLOAD_MEDIA_TYPES: Final = frozenset(
    {
        "application/octet-stream",
        "application/json",
        "application/geo+json",
        "application/vnd.geo+json",
        "text/csv",
        "application/csv",
        "text/plain",
        "text/tab-separated-values",
        "application/vnd.ms-excel",
        "application/zip",
        "application/x-zip-compressed",
        "application/gzip",
        "application/x-gzip",
        "image/tiff",
        "image/geotiff",
        "application/geopackage+sqlite3",
        "application/vnd.sqlite3",
        "application/x-sqlite3",
        "application/vnd.apache.parquet",
        "application/x-parquet",
        "application/vnd.flatgeobuf",
        "application/x-esri-shape",
        "application/x-dbf",
        "application/dbf",
        "application/x-dbase",
        "application/xml",
        "text/xml",
    }
)
#: Form fields of an upload besides the files, with their description (the import options
#: of :data:`~geo_service.sources.formats.IMPORT_OPTIONS`).
UPLOAD_FIELDS: Final[dict[str, str]] = {
    o.form_field: f"true: {o.help[0].lower()}{o.help[1:]}" if o.flag else o.help
    for o in IMPORT_OPTIONS
}
_FLAGS: Final = tuple(o.form_field for o in IMPORT_OPTIONS if o.flag)
_TRUE: Final = ("1", "true", "yes", "on")
_FALSE: Final = ("0", "false", "no", "off", "")
_MAX_FIELD_BYTES: Final = 4096
_MB: Final = 1_000_000
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]+")


class ImportResult(BaseModel):
    """What an import through the API did."""

    layer: str = Field(description="The layer replaced (or extended).")
    format: str = Field(description="The import format used.")
    files: list[str] = Field(description="The files read (safe base names).")
    rows_read: int
    rows_kept: int
    repaired: int
    skipped: dict[str, int] = Field(description="Rows left out, by reason.")
    warnings: list[str]
    version: str | None = Field(description="Version token of the stored layer.")


def _analysis_request_model() -> type[BaseModel]:
    """The body of ``POST /analyze``: each threshold and weight of
    :class:`~geo_service.settings.AnalysisFields`, optional, with its bounds and description."""
    fields: dict[str, Any] = {
        name: (
            float | None,
            Field(default=None, description=info.description, **analysis_bounds(name)),
        )
        for name, info in AnalysisFields.model_fields.items()
    }
    return create_model(
        "AnalysisRequest",
        __config__=ConfigDict(extra="forbid"),
        __doc__="Thresholds and weights of an analysis run; each defaults to the settings'.",
        **fields,
    )


AnalysisRequest = _analysis_request_model()


class AnalysisRun(BaseModel):
    """What an analysis run through the API did."""

    analyzed_at: str
    thresholds: dict[str, float]
    zones: int
    zones_by_status: dict[str, int]
    synthetic: bool
    vintages: list[str] = Field(
        default_factory=list, description="The vintages analysed (history=true)."
    )


class Deleted(BaseModel):
    """A deleted layer."""

    deleted: str


_WRITE_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    400: {"model": ErrorBody, "description": "Invalid parameter or unusable file."},
    401: {"model": ErrorBody, "description": "No API key given."},
    403: {"model": ErrorBody, "description": "Wrong API key, or writing disabled."},
    429: {"model": ErrorBody, "description": "Too many wrong API keys lately (Retry-After)."},
}
_UPLOAD_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    **_WRITE_ERRORS,
    413: {"model": ErrorBody, "description": "Upload larger than the limit."},
    415: {"model": ErrorBody, "description": "Not multipart/form-data, or a file type refused."},
}


def _upload_body() -> dict[str, Any]:
    properties: dict[str, Any] = {
        "file": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "The file(s) of the layer; a Shapefile with its .shx, .dbf, .prj.",
        }
    }
    for name, description in UPLOAD_FIELDS.items():
        kind = "boolean" if name in _FLAGS else "string"
        properties[name] = {"type": kind, "description": description}
    schema = {"type": "object", "properties": properties, "required": ["file"]}
    return {"required": True, "content": {"multipart/form-data": {"schema": schema}}}


# -- the lock of the writes ------------------------------------------------------------------


def _write_lock(request: Request) -> threading.Lock:
    lock: threading.Lock = request.app.state.write_lock
    return lock


async def _serialised(request: Request, work: Callable[[], T]) -> T:
    """``work()`` in a worker thread, alone among this server's writes; then the served
    layers are rebuilt (readers meanwhile get the previous ones), so that the writer's next
    read sees what it wrote."""
    lock = _write_lock(request)
    workspace = get_workspace(request)

    def locked() -> T:
        with lock:
            value = work()
        try:
            workspace.refresh()
        except Exception:  # the write is done; readers will rebuild on their next request
            logger.exception("cannot rebuild the served layers after a write")
        return value

    return await run_in_threadpool(locked)


# -- upload and import -----------------------------------------------------------------------


@router.post(
    "/layers/{layer}",
    summary="Upload files and import them as a layer",
    response_model=ImportResult,
    responses=_UPLOAD_ERRORS,
    openapi_extra={"requestBody": _upload_body()},
)
async def import_layer(request: Request, layer: str) -> Response:
    """Replace layer `layer` (zones, premises, land, communes, coverage, ...) with the
    uploaded file(s), read in a producer's format (detected, or named by `format`) and
    validated, as `geo-service import` does. Answers the import report; a refused file gives
    400 naming it and what was expected, and leaves the store unchanged."""
    settings = get_settings(request)
    layer = _importable_layer(layer)
    _check_media_type(request)
    limit = int(settings.max_upload_mb * _MB)
    _check_declared_length(request, limit)
    # the file system may be slow: its calls run off the event loop, as the import does
    try:
        folder = Path(await run_in_threadpool(tempfile.mkdtemp, None, "geo-service-upload-"))
    except OSError as exc:
        raise _no_space(exc) from exc
    try:
        upload = await _receive_upload(request, folder, limit, settings.max_upload_files)
        work = _import_work(settings, layer, upload, folder)
        result = await _serialised(request, work)
    finally:
        await run_in_threadpool(shutil.rmtree, folder, True)
    return json_response(result.model_dump())


@dataclass
class _Upload:
    files: list[Path] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)


def _import_work(
    settings: Settings, layer: str, upload: _Upload, folder: Path
) -> Callable[[], ImportResult]:
    """The import of ``upload`` into ``layer``, to run in a worker thread: it waits for a
    worker process bounded in memory and time (:mod:`geo_service.import_worker`), so that no
    file can stall the server or exhaust its memory."""

    def run() -> ImportResult:
        options, extra = _options(upload.fields, settings)
        paths = _primary_files(upload.files)
        try:
            fmt, report, version = import_bounded(settings, layer, paths, options=options, **extra)
        except GeoServiceError as exc:
            raise _renamed(exc, folder) from None
        except WorkerFailureError as exc:  # a reader's unforeseen failure is the file's fault
            raise InputError(
                f"{', '.join(p.name for p in paths)}: cannot be imported as '{layer}' "
                f"({exc.kind}: {_without_folder(exc.detail[:200], folder)}); expected files of "
                "one of the formats 'geo-service formats' lists"
            ) from None
        return _import_result(layer, fmt.name, paths, report, version, folder)

    return run


def _importable_layer(layer: str) -> str:
    check_layer_name(layer)
    layers = sorted({f.layer for f in all_formats()})
    if layer not in layers:
        raise ParameterError(
            "layer", f"cannot import layer '{layer}'; expected one of {', '.join(layers)}"
        )
    return layer


def _check_media_type(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "multipart/form-data":
        raise UnsupportedMediaTypeError(
            f"the request body is {media_type or 'absent'!r}; expected multipart/form-data "
            "with the file(s) in 'file' fields"
        )


def _check_declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"the upload exceeds {limit / _MB:g} MB (GEO_SERVICE_MAX_UPLOAD_MB); split it or "
        "import it with 'geo-service import' on the server"
    )


async def _receive_upload(request: Request, folder: Path, limit: int, max_files: int) -> _Upload:
    """Parse the multipart body, counting its bytes as they arrive, into ``folder``."""
    received = 0
    receive = request.receive

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _too_large(limit)
        return message

    limited = Request(request.scope, counted)
    try:
        form = await limited.form(
            max_files=max_files, max_fields=len(UPLOAD_FIELDS) + 1, max_part_size=_MAX_FIELD_BYTES
        )
    except ClientDisconnect:
        raise InputError("the upload was interrupted before its end") from None
    except OSError as exc:  # the parser spools large parts to the temporary directory
        raise _no_space(exc, received) from exc
    try:
        return await run_in_threadpool(_save_parts, list(form.multi_items()), folder)
    except OSError as exc:
        raise _no_space(exc, received) from exc
    finally:
        await form.close()


def _no_space(exc: OSError, received: int | None = None) -> ServerSpaceError:
    """The upload could not be kept: said to the client without the server's paths, logged
    with them for its administrator."""
    where = tempfile.gettempdir()
    logger.warning("cannot keep an upload in %s: %s", where, exc)
    size = f" ({received / _MB:,.1f} MB received)" if received else ""
    return ServerSpaceError(
        f"the server cannot keep the upload{size}: its temporary directory cannot be written "
        f"({exc.strerror}); nothing was imported. Its administrator must free space there or "
        "set TMPDIR to a larger disk"
    )


def _save_parts(items: list[tuple[str, UploadFile | str]], folder: Path) -> _Upload:
    upload = _Upload()
    names: set[str] = set()
    for key, value in items:
        if isinstance(value, str):
            if key not in UPLOAD_FIELDS:
                raise ParameterError(
                    key, f"unknown form field; expected 'file' and {', '.join(UPLOAD_FIELDS)}"
                )
            if key in upload.fields:
                raise ParameterError(key, "given more than once")
            upload.fields[key] = value
            continue
        if key != "file":
            raise ParameterError(key, "unexpected file field; send the files as 'file'")
        name = safe_file_name(value.filename or "")
        _check_part(name, value.content_type)
        if name in names:
            raise ParameterError("file", f"two files are named {name!r}")
        names.add(name)
        with (folder / name).open("wb") as out:
            shutil.copyfileobj(value.file, out, 1 << 20)
        upload.files.append(folder / name)
    if not upload.files:
        raise ParameterError("file", "no file uploaded; send the file(s) as 'file' fields")
    return upload


def safe_file_name(name: str) -> str:
    """A base name safe to create in a temporary directory: no folder, no control or
    unusual characters, no leading dot, at most 100 characters, extension kept."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", name))[-1]
    ascii_only = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    cleaned = _UNSAFE.sub("_", ascii_only).strip("._")
    if not cleaned:
        raise ParameterError("file", f"the file name {name[:80]!r} is not usable")
    stem, dot, suffix = cleaned.rpartition(".")
    if not dot:
        stem, suffix = cleaned, ""
    suffix = suffix[:12]
    stem = stem[: 100 - len(suffix) - 1] or "upload"
    return f"{stem}.{suffix}" if suffix else stem


def _check_part(name: str, media_type: str | None) -> None:
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise UnsupportedMediaTypeError(
            f"{name}: unsupported file extension {suffix or '(none)'!r}; expected one of "
            f"{', '.join(UPLOAD_SUFFIXES)}"
        )
    kind = (media_type or "").split(";")[0].strip().lower()
    if kind and kind not in UPLOAD_MEDIA_TYPES:
        raise UnsupportedMediaTypeError(
            f"{name}: media type {kind!r} is not a data file; send it as "
            "application/octet-stream or its own type (GeoJSON, CSV, zip, GeoTIFF, GeoPackage)"
        )


def _primary_files(files: list[Path]) -> list[Path]:
    """The files to import: a Shapefile's companions go with it, not on their own."""
    stems = {p.stem.lower() for p in files if p.suffix.lower() == ".shp"}
    primary = [p for p in files if not (p.suffix.lower() in SIDECAR_SUFFIXES and _stem(p) in stems)]
    if not primary:
        raise ParameterError("file", "only Shapefile companions were uploaded; add the .shp")
    return primary


def _stem(path: Path) -> str:
    name = path.name.lower()
    return name[: -len(".shp.xml")] if name.endswith(".shp.xml") else path.stem.lower()


def _options(fields: dict[str, str], settings: Settings) -> tuple[ImportOptions, dict[str, Any]]:
    def text(name: str) -> str | None:
        value = fields.get(name, "").strip()
        return value or None

    given: dict[str, Any] = {
        o.name: _flag(o.form_field, fields.get(o.form_field, "")) if o.flag else text(o.form_field)
        for o in IMPORT_OPTIONS
    }
    options = import_options(given, settings.max_raster_pixels, settings.max_features)
    given["data_date"] = _date(given["data_date"])
    extra = {o.name: given[o.name] for o in IMPORT_OPTIONS if not o.of_format}
    return options, extra


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ParameterError(name, f"expected true or false; got {value[:40]!r}")


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ParameterError("date", f"expected YYYY-MM-DD; got {value[:40]!r}") from None


def _renamed(exc: GeoServiceError, folder: Path) -> GeoServiceError:
    """``exc`` naming the uploaded files by their names rather than their temporary paths."""
    exc.message = _without_folder(exc.message, folder)
    exc.args = (exc.message,)
    return exc


def _without_folder(text: str, folder: Path) -> str:
    return text.replace(f"/vsizip/{folder}/", "").replace(f"{folder}/", "").replace(str(folder), "")


def _import_result(
    layer: str,
    format_name: str,
    paths: list[Path],
    report: LayerReport,
    version: str | None,
    folder: Path,
) -> ImportResult:
    return ImportResult(
        layer=layer,
        format=format_name,
        files=[p.name for p in paths],
        rows_read=report.rows_read,
        rows_kept=report.rows_kept,
        repaired=report.repaired,
        skipped={reason: len(rows) for reason, rows in report.skipped.items()},
        warnings=[_without_folder(w, folder) for w in report.warnings],
        version=version,
    )


# -- analysis and deletion -------------------------------------------------------------------


@router.post(
    "/analysis",
    summary="Analyse the stored layers again",
    response_model=AnalysisRun,
    responses={
        **_WRITE_ERRORS,
        404: {"model": ErrorBody, "description": "The store has no zones (or premises)."},
        415: {"model": ErrorBody, "description": "A body that is not JSON."},
    },
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": AnalysisRequest.model_json_schema()}},
        }
    },
)
async def analysis(
    request: Request,
    workspace: WorkspaceDep,
    history: Annotated[
        bool,
        Query(
            description="Also analyse every vintage of the coverage layers with the same "
            "thresholds (history tables and changes), as `geo-service analyze --history`."
        ),
    ] = False,
    since: Annotated[
        str | None,
        Query(description="With history: reference vintage of the changes (e.g. 2024-T1)."),
    ] = None,
) -> Response:
    """Run the analysis on the stored layers and store its results, as `geo-service analyze`
    does; thresholds and weights not given come from the settings. The body (optional) is a
    JSON object of thresholds and weights."""
    overrides = await _analysis_request(request)
    settings = get_settings(request)
    try:
        params = settings.analysis_params(**overrides.model_dump())
    except ValidationError as exc:
        raise ParameterError("body", _first_problem(exc)) from None

    if since is not None and not history:
        raise ParameterError("since", "give history=true with since")

    def run() -> AnalysisRun:
        if history:
            result, _ = pipeline.analyze_history(workspace.store, params, since=since)
        else:
            result = pipeline.analyze(workspace.store, params)
        counts = {s: n for s, n in status_counts(result.zones).items() if n}
        return AnalysisRun(
            analyzed_at=result.run.analyzed_at.isoformat(),
            thresholds=params.model_dump(),
            zones=len(result.zones),
            zones_by_status=counts,
            synthetic=result.run.synthetic,
            vintages=list(result.run.vintages),
        )

    done = await _serialised(request, run)
    return json_response(done.model_dump())


async def _analysis_request(request: Request) -> BaseModel:
    body = await request.body()
    if len(body) > 64_000:
        raise PayloadTooLargeError("the analysis parameters exceed 64 kB")
    if not body.strip():
        return AnalysisRequest()
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaTypeError(
            f"the request body is {media_type or 'untyped'!r}; expected application/json"
        )
    try:
        return AnalysisRequest.model_validate_json(body)
    except ValidationError as exc:
        raise ParameterError("body", _first_problem(exc)) from None


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ())) or "body"
    return f"{where}: {error.get('msg', 'invalid value')}"


@router.delete(
    "/layers/{layer}",
    summary="Delete a layer",
    response_model=Deleted,
    responses={
        **_WRITE_ERRORS,
        404: {"model": ErrorBody, "description": "No such layer in the store."},
    },
)
async def delete_layer(request: Request, workspace: WorkspaceDep, layer: str) -> Response:
    """Remove layer `layer` from the store (404 if it is not there)."""
    check_layer_name(layer)

    def run() -> Deleted:
        if not workspace.store.has_layer(layer):
            raise NotFoundError(f"layer '{layer}' is not in the store")
        workspace.store.delete_layer(layer)
        return Deleted(deleted=layer)

    done = await _serialised(request, run)
    return json_response(done.model_dump())


@router.delete(
    "/layers/{layer}/vintages/{vintage}",
    summary="Drop an older vintage of a coverage layer",
    response_model=Deleted,
    responses={
        **_WRITE_ERRORS,
        404: {"model": ErrorBody, "description": "The layer has no such stored vintage."},
    },
)
async def delete_vintage(
    request: Request, workspace: WorkspaceDep, layer: str, vintage: str
) -> Response:
    """Remove older vintage `vintage` (e.g. 2017-T3) of coverage layer `layer`, as
    `geo-service drop-vintage` does; the current vintage cannot be dropped (400)."""
    check_layer_name(layer)
    label = parse_vintage(vintage, "vintage")

    def run() -> Deleted:
        pipeline.drop_vintage(workspace.store, layer, label)
        return Deleted(deleted=archived_name(layer, label))

    done = await _serialised(request, run)
    return json_response(done.model_dump())
