"""What an analysis produces: zone, commune and EPCI results and the run that made them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import geopandas as gpd
from pydantic import BaseModel, ConfigDict, Field

from geo_service.analysis.fields import ZONE_RESULT_COLUMNS
from geo_service.model import LayerMeta
from geo_service.settings import AnalysisParams

__all__ = ["ZONE_RESULT_COLUMNS", "AnalysisResult", "RunInfo"]


class RunInfo(BaseModel):
    """How a result was made: when, with which thresholds and weights, from which layers."""

    model_config = ConfigDict(extra="forbid")

    analyzed_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    params: AnalysisParams
    inputs: dict[str, LayerMeta] = Field(default_factory=dict)
    vintages: list[str] = Field(
        default_factory=list,
        description="The vintages analysed by the history analysis (analyze --history).",
    )
    since: str | None = Field(
        default=None, description="Reference vintage of the history's changes (--since)."
    )

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
