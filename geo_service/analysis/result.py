"""What an analysis produces: zone, commune and EPCI results and the run that made them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import geopandas as gpd
from pydantic import BaseModel, ConfigDict, Field

from geo_service.model import LayerMeta
from geo_service.settings import AnalysisParams

#: Columns of the zone results, in order (the geometry comes last).
ZONE_RESULT_COLUMNS: Final = (
    "zone_id",
    "name",
    "commune_insee",
    "epci_siren",
    "kind",
    "vocation",
    "state",
    "area_ha",
    "premises",
    "locaux",
    "share_bhd8",
    "share_thd30",
    "share_thd100",
    "share_thd1g",
    "share_ftth",
    "raster_share_bhd8",
    "raster_share_thd30",
    "raster_valid_share",
    "available_land_ha",
    "available_plots",
    "status",
    "status_basis",
    "priority",
    "rank",
    "reasons",
)


class RunInfo(BaseModel):
    """How a result was made: when, with which thresholds and weights, from which layers."""

    model_config = ConfigDict(extra="forbid")

    analyzed_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    params: AnalysisParams
    inputs: dict[str, LayerMeta] = Field(default_factory=dict)

    @property
    def synthetic(self) -> bool:
        """Whether any input layer is synthetic (the demo territory)."""
        return any(meta.synthetic for meta in self.inputs.values())


@dataclass(frozen=True)
class AnalysisResult:
    """Per-zone results, their sums per commune and per EPCI, and the run information."""

    zones: gpd.GeoDataFrame
    communes: gpd.GeoDataFrame
    epcis: gpd.GeoDataFrame
    run: RunInfo

    def flagged(self) -> gpd.GeoDataFrame:
        """Underserved and unserved zones, highest priority first."""
        flagged = self.zones[self.zones["rank"].notna()]
        return flagged.sort_values("rank")
