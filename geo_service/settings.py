"""Settings: one pydantic-settings class, every field overridable by ``GEO_SERVICE_<FIELD>``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Weight = Annotated[float, Field(ge=0.0)]


class AnalysisParams(BaseModel):
    """Thresholds and weights of the zone analysis; recorded with every result.

    Status rules (DESIGN.md): a zone is *served* when ``share_thd30 >= served_thd30_share``,
    *unserved* when ``share_bhd8 < unserved_bhd8_share``, *underserved* otherwise. Without
    premises the coverage raster decides, provided at least ``min_raster_valid_share`` of the
    zone has known pixels; otherwise the zone is *unknown*.

    Priority (0-100, non-served zones only) is the weighted mean of three scores in [0, 1]:
    the coverage gap ``1 - share_thd30``, the available land ``L / (L + land_half_ha)`` and the
    locaux ``N / (N + locaux_half)``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    served_thd30_share: Share = 0.95
    unserved_bhd8_share: Share = 0.5
    min_raster_valid_share: Share = 0.5
    priority_weight_gap: Weight = 0.5
    priority_weight_land: Weight = 0.3
    priority_weight_locaux: Weight = 0.2
    priority_land_half_ha: float = Field(default=5.0, gt=0.0)
    priority_locaux_half: float = Field(default=100.0, gt=0.0)

    @model_validator(mode="after")
    def _weights_not_all_zero(self) -> AnalysisParams:
        total = self.priority_weight_gap + self.priority_weight_land + self.priority_weight_locaux
        if total <= 0:
            raise ValueError("at least one priority weight must be positive")
        return self


class Settings(BaseSettings):
    """Configuration of geo-service.

    Every field can be set by an environment variable ``GEO_SERVICE_<NAME>`` (e.g.
    ``GEO_SERVICE_DATA_DIR``), by a ``.env`` file in the working directory, or by a CLI flag.
    """

    model_config = SettingsConfigDict(
        env_prefix="GEO_SERVICE_", env_file=".env", extra="ignore", validate_default=True
    )

    data_dir: Path = Field(default=Path("data"), description="Directory of the layer store.")
    database_url: str | None = Field(
        default=None, description="postgresql://... to use PostGIS instead of GeoPackage."
    )
    layers_dir: Path | None = Field(
        default=None, description="Directory of layer descriptors (default: the bundled ones)."
    )
    demo_seed: int = Field(default=2154, description="Seed of the synthetic demo territory.")

    served_thd30_share: Share = 0.95
    unserved_bhd8_share: Share = 0.5
    min_raster_valid_share: Share = 0.5
    priority_weight_gap: Weight = 0.5
    priority_weight_land: Weight = 0.3
    priority_weight_locaux: Weight = 0.2
    priority_land_half_ha: float = Field(default=5.0, gt=0.0)
    priority_locaux_half: float = Field(default=100.0, gt=0.0)

    h3_resolution: int = Field(default=8, ge=5, le=10, description="H3 grid of the coverage map.")

    def analysis_params(self, **overrides: float | None) -> AnalysisParams:
        """The analysis parameters of these settings, with non-None ``overrides`` applied."""
        values = {name: getattr(self, name) for name in AnalysisParams.model_fields}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return AnalysisParams(**values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once from the environment)."""
    return Settings()
