"""Routes: a zone's results at every vintage of the coverage data (``analyze --history``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from geo_service import pipeline
from geo_service.analysis.history import VINTAGE
from geo_service.api.deps import WorkspaceDep
from geo_service.api.errors import NOT_FOUND_RESPONSES
from geo_service.api.params import reject_unknown_parameters
from geo_service.errors import NotFoundError
from geo_service.maps.geojson import clean

router = APIRouter(tags=["Zones and territory"], dependencies=[Depends(reject_unknown_parameters)])

ZoneIdPath = Annotated[str, Path(alias="zoneId", description="Zone id (zone_id).")]


class ZoneHistory(BaseModel):
    """A zone's status and figures at each vintage, oldest first."""

    zone_id: str
    vintages: list[str] = Field(description="The vintages analysed (empty: no history yet).")
    since: str | None = Field(description="Reference vintage of the changes (--since).")
    history: list[dict[str, Any]] = Field(
        description="One object per vintage: vintage, status and the numeric result fields "
        "(null where unknown)."
    )


@router.get(
    "/zones/{zoneId}/history",
    summary="A zone's status and figures at every vintage of the coverage data",
    response_model=ZoneHistory,
    responses=NOT_FOUND_RESPONSES,
)
def zone_history(workspace: WorkspaceDep, zone_id: ZoneIdPath) -> dict[str, Any]:
    """The zone's status, ≥ 30 Mbit/s share and other figures at each vintage of the coverage
    layers, computed with the same thresholds by `geo-service analyze --history` (empty when
    the history was never analysed); 404 for an unknown zone."""
    result = workspace.results()
    if zone_id not in set(result.zones["zone_id"].astype(str)):
        raise NotFoundError(f"no zone '{zone_id}'; /collections/zones/items lists them")
    table = workspace.optional_layer(pipeline.ZONE_HISTORY)
    rows: list[dict[str, Any]] = []
    if table is not None:
        found = table[table["zone_id"].astype(str) == zone_id]
        rows = [{k: clean(v) for k, v in row.items()} for row in found.to_dict("records")]
        rows.sort(key=lambda row: str(row[VINTAGE]))
    return {
        "zone_id": zone_id,
        "vintages": list(result.run.vintages),
        "since": result.run.since,
        "history": rows,
    }
