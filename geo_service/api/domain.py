"""Routes: the zone and territory endpoints (zone details, what is here, layers, summary).

A zone's and a commune's opinion will live at ``/zones/{zoneId}/opinion`` and
``/communes/{insee}/opinion`` (their own route module); the documents here already link there.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

import numpy as np
import shapely
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from geo_service import pipeline
from geo_service.analysis import RunInfo
from geo_service.analysis.aggregate import status_counts
from geo_service.api.collections import COLLECTIONS
from geo_service.api.deps import WorkspaceDep
from geo_service.api.errors import ERROR_RESPONSES, NOT_FOUND_RESPONSES
from geo_service.api.features import COORDINATE_DECIMALS, feature_index
from geo_service.api.links import (
    GEOJSON,
    JSON,
    base_url,
    commune_links,
    link,
    zone_links,
)
from geo_service.api.models import (
    CommuneDetail,
    Health,
    HereResult,
    InputInfo,
    Layers,
    Summary,
    ZoneDetail,
    ZoneMetrics,
)
from geo_service.api.params import reject_unknown_parameters
from geo_service.api.point import (
    DEFAULT_PREMISES_RADIUS_M,
    MAX_PREMISES_RADIUS_M,
    what_is_here,
    zone_refs,
)
from geo_service.api.responses import json_response
from geo_service.catalog import descriptor
from geo_service.errors import GeoServiceError, NotFoundError
from geo_service.model import LayerMeta, ZoneStatus
from geo_service.workspace import Workspace

router = APIRouter(tags=["Zones and territory"], dependencies=[Depends(reject_unknown_parameters)])

_FLAGGED: Final = (ZoneStatus.UNDERSERVED.value, ZoneStatus.UNSERVED.value)
_COMMUNE_FIELDS: Final = (
    "commune_insee",
    "name",
    "epci_siren",
    "zones",
    "zones_served",
    "zones_underserved",
    "zones_unserved",
    "zones_unknown",
    "locaux",
    "share_thd30",
    "available_land_ha",
    "priority_max",
)

ZoneIdPath = Annotated[str, Path(alias="zoneId", description="Zone id (zone_id).")]
InseePath = Annotated[str, Path(description="INSEE code of the commune (5 characters).")]


def run_document(run: RunInfo) -> dict[str, Any]:
    """The run information of a result on the wire (see :class:`~.models.RunOut`)."""
    return {
        "analyzed_at": run.analyzed_at,
        "thresholds": run.params.model_dump(),
        "inputs": {
            name: meta.model_dump(include=set(InputInfo.model_fields))
            for name, meta in run.inputs.items()
        },
        "synthetic": run.synthetic,
    }


@router.get(
    "/zones/{zoneId}",
    summary="A zone's metrics, status, priority and reasons",
    response_model=ZoneDetail,
    responses=NOT_FOUND_RESPONSES,
)
def zone(request: Request, workspace: WorkspaceDep, zone_id: ZoneIdPath) -> dict[str, Any]:
    """One activity zone: its metrics, status and priority with the reasons (French sentences),
    the thresholds and input data of the analysis, and links to its feature, map and opinion."""
    run = workspace.results().run
    index = feature_index(workspace, COLLECTIONS["zones"])
    try:
        position = index.position(zone_id)
    except NotFoundError:
        raise NotFoundError(f"no zone '{zone_id}'; /collections/zones/items lists them") from None
    props = index.properties(np.array([position], dtype=np.intp))[0]
    geometry = index.geometries[position]
    bbox = None
    if geometry is not None and not shapely.is_empty(geometry):
        bbox = [round(float(v), COORDINATE_DECIMALS) for v in shapely.bounds(geometry)]
    identity = ("name", "commune_insee", "epci_siren", "kind", "vocation", "state")
    verdict = ("status", "status_basis", "priority", "rank", "reasons")
    return {
        "id": zone_id,
        **{key: props[key] for key in (*identity, *verdict)},
        "metrics": {key: props[key] for key in ZoneMetrics.model_fields},
        "bbox": bbox,
        "synthetic": run.synthetic,
        "run": run_document(run),
        "links": zone_links(base_url(request), zone_id, details=True),
    }


@router.get(
    "/here",
    summary="What is here? Zones, commune, nearest building and coverage at a point",
    response_model=HereResult,
    responses=ERROR_RESPONSES,
)
def here(
    request: Request,
    workspace: WorkspaceDep,
    lon: Annotated[float, Query(ge=-180, le=180, description="Longitude (WGS84 degrees).")],
    lat: Annotated[float, Query(ge=-90, le=90, description="Latitude (WGS84 degrees).")],
    radius: Annotated[
        float,
        Query(
            gt=0,
            le=MAX_PREMISES_RADIUS_M,
            description=(
                "Search radius of the nearest building, in metres "
                f"(at most {MAX_PREMISES_RADIUS_M:g})."
            ),
        ),
    ] = DEFAULT_PREMISES_RADIUS_M,
) -> Response:
    """The activity zones containing the point, its commune, the nearest building within
    ``radius`` metres with its coverage class, and the coverage raster's speed at the point."""
    return json_response(what_is_here(workspace, base_url(request), lon, lat, radius))


@router.get(
    "/layers",
    summary="Layer catalogue: sources, licences and dates",
    response_model=Layers,
    responses=ERROR_RESPONSES,
)
def layers(request: Request, workspace: WorkspaceDep) -> dict[str, Any]:
    """Every stored layer with its title, description, source, licence, attribution, date of
    the data, import time, feature count and whether it is synthetic."""
    base = base_url(request)
    collections = {spec.layer: spec.id for spec in COLLECTIONS.values()}
    documents = []
    for meta, older in pipeline.grouped_vintages(workspace.store.list_layers()):
        name = meta.name
        try:
            description = descriptor(name, workspace.settings.layers_dir).description
        except GeoServiceError:
            description = ""
        links = []
        if name in collections:
            href = f"{base}/collections/{collections[name]}"
            links.append(link(href, "collection", JSON, "OGC API collection"))
            links.append(link(f"{href}/items", "items", GEOJSON, "Features"))
        documents.append(
            {
                **meta.model_dump(exclude={"extra"}),
                "description": description,
                "older_vintages": [_older(m) for m in older],
                "links": links,
            }
        )
    return {"layers": documents, "synthetic": any(d["synthetic"] for d in documents)}


def _older(meta: LayerMeta) -> dict[str, Any]:
    """An older vintage as listed with its layer (read-only)."""
    return {
        "vintage": meta.vintage,
        "name": meta.name,
        "data_date": meta.data_date,
        "imported_at": meta.imported_at,
        "feature_count": meta.feature_count,
        "read_only": True,
    }


def _commune_rows(workspace: Workspace, base: str) -> list[dict[str, Any]]:
    index = feature_index(workspace, COLLECTIONS["communes"])
    rows = []
    for props in index.properties(np.arange(index.size, dtype=np.intp)):
        row = {key: props.get(key) for key in _COMMUNE_FIELDS}
        for key in _COMMUNE_FIELDS:
            if key.startswith("zones") or key == "locaux":
                row[key] = row[key] or 0
        row["available_land_ha"] = row["available_land_ha"] or 0.0
        row["links"] = commune_links(base, str(props["commune_insee"]))
        rows.append(row)
    return rows


@router.get(
    "/summary",
    summary="The territory in figures",
    response_model=Summary,
    responses=ERROR_RESPONSES,
)
def summary(request: Request, workspace: WorkspaceDep) -> dict[str, Any]:
    """Zones and locaux by status, flagged zones, available land, a row per commune, and the
    thresholds and input data of the analysis."""
    result = workspace.results()
    zones = result.zones
    statuses = [s.value for s in ZoneStatus]
    locaux = zones.groupby("status")["locaux"].sum()
    return {
        "zones": len(zones),
        "by_status": status_counts(zones),
        "locaux_by_status": {s: int(locaux.get(s, 0)) for s in statuses},
        "flagged": int(zones["status"].isin(_FLAGGED).sum()),
        "available_land_ha": float(zones["available_land_ha"].fillna(0.0).sum()),
        "communes": _commune_rows(workspace, base_url(request)),
        "synthetic": result.run.synthetic,
        "run": run_document(result.run),
    }


@router.get(
    "/communes/{insee}",
    summary="A commune's summary and its zones",
    response_model=CommuneDetail,
    responses=NOT_FOUND_RESPONSES,
)
def commune(request: Request, workspace: WorkspaceDep, insee: InseePath) -> dict[str, Any]:
    """A commune's figures (zones by status, locaux, shares, land) and its zones, flagged ones
    by priority rank first."""
    run = workspace.results().run
    index = feature_index(workspace, COLLECTIONS["communes"])
    try:
        position = index.position(insee)
    except NotFoundError:
        raise NotFoundError(f"no commune '{insee}' in the analysis results") from None
    props = index.properties(np.array([position], dtype=np.intp))[0]
    zones = feature_index(workspace, COLLECTIONS["zones"])
    order = zones.select(
        filters={"commune_insee": insee}, sortby=[("rank", False), ("zone_id", False)]
    )
    base = base_url(request)
    chosen = np.empty(0, dtype=np.intp) if order is None else order
    return {
        "commune_insee": insee,
        "name": props.get("name"),
        "figures": props,
        "zones": zone_refs(zones, chosen, base),
        "synthetic": run.synthetic,
        "run": run_document(run),
        "links": commune_links(base, insee, details=True),
    }


@router.get("/healthz", summary="Liveness", response_model=Health, responses=ERROR_RESPONSES)
async def healthz(workspace: WorkspaceDep) -> dict[str, Any]:
    """``{"status": "ok"}`` while the service runs; ``analysed`` says whether results exist."""
    return {"status": "ok", "analysed": workspace.store.has_layer(pipeline.ZONE_RESULTS)}
