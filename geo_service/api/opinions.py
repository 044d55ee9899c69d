"""Routes: planning opinions ("avis") on a zone, a commune and the territory.

Each route builds the opinion from the stored results and renders it with ``f=json|html|pdf|md``
(the same :func:`geo_service.opinions.document.opinion_document` as the CLI).
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from geo_service.api.deps import WorkspaceDep
from geo_service.api.errors import NOT_FOUND_RESPONSES
from geo_service.api.params import reject_unknown_parameters
from geo_service.opinions.document import OpinionFormat, Subject, opinion_document
from geo_service.opinions.model import Opinion, OpinionKind
from geo_service.workspace import Workspace

router = APIRouter(tags=["Opinions"], dependencies=[Depends(reject_unknown_parameters)])

_FORMATS: Final = [f.value for f in OpinionFormat]
#: Documented responses of every opinion route: the JSON model, and the other media types.
_RESPONSES: Final = {
    **NOT_FOUND_RESPONSES,
    200: {
        "description": "The opinion, in the format asked for.",
        "content": {
            "text/html": {"schema": {"type": "string"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "text/markdown": {"schema": {"type": "string"}},
        },
    },
}

FormatQuery = Annotated[
    str,
    Query(
        description=(
            "Rendering: `json` (the structured opinion), `html` (self-contained, printable, with "
            "a static map), `pdf` or `md` (Markdown, to paste into a report)."
        ),
        json_schema_extra={"enum": _FORMATS},
    ),
]
ZoneIdPath = Annotated[str, Path(alias="zoneId", description="Zone id (zone_id).")]
InseePath = Annotated[str, Path(description="INSEE code of the commune (5 characters).")]


@router.get(
    "/zones/{zoneId}/opinion",
    summary="Opinion (avis) on a zone's broadband coverage",
    response_model=Opinion,
    responses=_RESPONSES,
)
def zone_opinion(
    request: Request, workspace: WorkspaceDep, zone_id: ZoneIdPath, f: FormatQuery = "json"
) -> Response:
    """A draft planning opinion on one activity zone: data used, key figures, findings,
    assessment, recommendation level for broadband action with its rationale, limits of the
    data, links to the interactive map. French, neutral, every figure from the analysis."""
    return _answer(request, workspace, Subject(OpinionKind.ZONE, zone_id), f)


@router.get(
    "/communes/{insee}/opinion",
    summary="Opinion (avis) on a commune's activity zones",
    response_model=Opinion,
    responses=_RESPONSES,
)
def commune_opinion(
    request: Request, workspace: WorkspaceDep, insee: InseePath, f: FormatQuery = "json"
) -> Response:
    """A draft planning opinion on the activity zones of one commune, with their table."""
    return _answer(request, workspace, Subject(OpinionKind.COMMUNE, insee), f)


@router.get(
    "/territory/opinion",
    summary="Territory synthesis: every flagged zone ranked by priority",
    response_model=Opinion,
    responses=_RESPONSES,
)
def territory_opinion(
    request: Request, workspace: WorkspaceDep, f: FormatQuery = "json"
) -> Response:
    """The synthesis of the analysed territory: zones by status, flagged zones ranked by
    priority with their recommendation level, limits and sources."""
    return _answer(request, workspace, Subject(OpinionKind.TERRITORY), f)


def _answer(request: Request, workspace: Workspace, subject: Subject, f: str) -> Response:
    fmt = OpinionFormat.parse(f, "f")
    downloaded = fmt in (OpinionFormat.PDF, OpinionFormat.MD)
    base_url = public_url(request, workspace, downloaded)
    document = opinion_document(workspace, subject, fmt, base_url=base_url)
    headers = {}
    if downloaded:
        headers["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    return Response(document.content, media_type=document.media_type, headers=headers)


def public_url(request: Request, workspace: Workspace, downloaded: bool) -> str:
    """``GEO_SERVICE_PUBLIC_URL`` when set; else the base URL the client used for a page read
    in the browser, and nothing (no links) for a document that leaves it (PDF, Markdown):
    the address this client called need not be one its readers can reach."""
    settings = workspace.settings
    if settings.public_url:
        return settings.public_url
    return "" if downloaded else str(request.base_url).rstrip("/")
