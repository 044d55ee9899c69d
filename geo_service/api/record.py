"""Routes: the opinion record (every opinion given, archived unchanged).

``GET /opinions`` lists the archived opinions, ``GET /opinions/{id}`` gives one's record (JSON
metadata: figures and thresholds stated, input vintages, files and their sha256) and
``GET /opinions/{id}/file`` its archived file byte for byte. ``POST /opinions`` (API key)
writes an opinion and archives it, as ``geo-service opinion`` does; the draft routes
(``/zones/{id}/opinion``…) are not recorded.
"""

from __future__ import annotations

import base64
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from geo_service.api.auth import require_api_key
from geo_service.api.deps import WorkspaceDep
from geo_service.api.errors import NOT_FOUND_RESPONSES, ErrorBody
from geo_service.api.opinions import public_url
from geo_service.api.params import reject_unknown_parameters
from geo_service.api.responses import json_response
from geo_service.errors import ParameterError, PayloadTooLargeError, UnsupportedMediaTypeError
from geo_service.opinions import record as opinion_record
from geo_service.opinions.document import OpinionFormat, Subject, opinion_document
from geo_service.opinions.model import OpinionKind
from geo_service.opinions.record import OpinionRecord

router = APIRouter(tags=["Opinion record"], dependencies=[Depends(reject_unknown_parameters)])

_MAX_BODY: Final = 4096
OpinionIdPath = Annotated[
    str, Path(alias="opinionId", description="Archive id, e.g. 20261203-125143-3f9a1c2b.")
]


class OpinionList(BaseModel):
    """The archived opinions, oldest first."""

    opinions: list[OpinionRecord]
    count: int


class OpinionRequest(BaseModel):
    """An opinion to write and archive."""

    model_config = ConfigDict(extra="forbid")

    kind: OpinionKind = Field(description="zone, commune or territory.")
    id: str | None = Field(
        default=None, description="zone_id or INSEE code (none for the territory)."
    )
    format: str = Field(default="pdf", description="json, html, pdf or md.")


@router.get(
    "/opinions",
    summary="The archived opinions (the chamber's opinion record)",
    response_model=OpinionList,
)
def list_opinions(
    workspace: WorkspaceDep,
    kind: Annotated[
        OpinionKind | None,
        Query(description="Only the opinions of this kind."),
    ] = None,
    subject: Annotated[
        str | None, Query(description="Only the opinions on this zone_id or INSEE code.")
    ] = None,
) -> Response:
    """Every opinion written (by `geo-service opinion` or `POST /opinions`), oldest first, with
    the figures and thresholds it stated, its input vintages and its files' sha256."""
    found = opinion_record.records(workspace.store, kind, subject)
    if kind == OpinionKind.TERRITORY:
        found = [r for r in found if r.subject_id is None]
    return json_response(
        {"opinions": [r.model_dump(mode="json") for r in found], "count": len(found)}
    )


@router.get(
    "/opinions/{opinionId}",
    summary="One archived opinion's record",
    response_model=OpinionRecord,
    responses=NOT_FOUND_RESPONSES,
)
def get_opinion(workspace: WorkspaceDep, opinion_id: OpinionIdPath) -> Response:
    """The record of archived opinion `opinionId` (404 if unknown); its file is at
    `/opinions/{opinionId}/file`."""
    return json_response(opinion_record.record(workspace.store, opinion_id).model_dump(mode="json"))


@router.get(
    "/opinions/{opinionId}/file",
    summary="One archived opinion's file, byte for byte",
    responses={
        **NOT_FOUND_RESPONSES,
        200: {
            "description": "The file as archived (PDF, HTML, Markdown or JSON).",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        },
    },
)
def get_opinion_file(workspace: WorkspaceDep, opinion_id: OpinionIdPath) -> Response:
    """The archived file of opinion `opinionId` exactly as it was given, checked against its
    sha256 (given in the `Repr-Digest` header and as the `ETag`)."""
    record = opinion_record.record(workspace.store, opinion_id)
    archived = workspace.store.opinion_archive().file(record.id, record.files[0].name)
    digest = base64.b64encode(bytes.fromhex(archived.sha256)).decode("ascii")
    headers = {
        "Content-Disposition": f'attachment; filename="{archived.name}"',
        "ETag": f'"{archived.sha256}"',
        "Repr-Digest": f"sha-256=:{digest}:",
        "Cache-Control": "public, max-age=31536000, immutable",
    }
    return Response(archived.content, media_type=archived.media_type, headers=headers)


@router.post(
    "/opinions",
    summary="Write an opinion and archive it (API key)",
    status_code=201,
    response_model=OpinionRecord,
    dependencies=[Depends(require_api_key)],
    responses={
        **NOT_FOUND_RESPONSES,
        401: {"model": ErrorBody, "description": "No API key given."},
        403: {"model": ErrorBody, "description": "Wrong API key, or writing disabled."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": OpinionRequest.model_json_schema()}},
        }
    },
)
async def write_opinion(request: Request, workspace: WorkspaceDep) -> Response:
    """Write the opinion on a zone, a commune or the territory from the stored results and
    archive it in the record (201, with its record; `Location` is the record's URL). When an
    earlier opinion on the subject is archived, the new one has the section « Évolution depuis
    l'avis du … »."""
    wanted = await _opinion_request(request)
    subject = _subject(wanted)
    fmt = OpinionFormat.parse(wanted.format, "format")
    downloaded = fmt in (OpinionFormat.PDF, OpinionFormat.MD)
    base_url = public_url(request, workspace, downloaded)

    def run() -> OpinionRecord:
        document = opinion_document(workspace, subject, fmt, base_url=base_url, archive=True)
        assert document.record is not None
        return document.record

    record = await run_in_threadpool(run)
    response = json_response(record.model_dump(mode="json"))
    response.status_code = 201
    response.headers["Location"] = f"{str(request.base_url).rstrip('/')}/opinions/{record.id}"
    return response


async def _opinion_request(request: Request) -> OpinionRequest:
    body = await request.body()
    if len(body) > _MAX_BODY:
        raise PayloadTooLargeError(f"the opinion request exceeds {_MAX_BODY} bytes")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaTypeError(
            f"the request body is {media_type or 'untyped'!r}; expected application/json"
        )
    try:
        return OpinionRequest.model_validate_json(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error.get("loc", ())) or "body"
        raise ParameterError("body", f"{where}: {error.get('msg', 'invalid value')}") from None


def _subject(wanted: OpinionRequest) -> Subject:
    if wanted.kind == OpinionKind.TERRITORY:
        if wanted.id is not None:
            raise ParameterError("id", "the territory synthesis takes no id")
        return Subject(OpinionKind.TERRITORY)
    if not wanted.id:
        raise ParameterError("id", f"give the {_ID_NAMES[wanted.kind]} of the {wanted.kind.value}")
    return Subject(wanted.kind, wanted.id)


_ID_NAMES: Final[dict[OpinionKind, str]] = {
    OpinionKind.ZONE: "zone_id",
    OpinionKind.COMMUNE: "INSEE code",
}
