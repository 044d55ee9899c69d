"""The structured opinion ("avis"): what every rendering (JSON, HTML, PDF, Markdown) shows.

Text fields are French; figures are kept raw (``value``) beside their French rendering
(``text``) and the analysis column they come from, so a reader or a test can trace each one.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from geo_service.settings import AnalysisParams


class OpinionKind(StrEnum):
    """What an opinion is about."""

    ZONE = "zone"
    COMMUNE = "commune"
    TERRITORY = "territory"


class PriorityLevels(BaseModel):
    """Priority cut-offs of the recommendation levels (priorité 1, 2, 3) of flagged zones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    level1: float = Field(default=70.0, ge=0.0, le=100.0)
    level2: float = Field(default=50.0, ge=0.0, le=100.0)

    @model_validator(mode="after")
    def _ordered(self) -> PriorityLevels:
        if self.level2 > self.level1:
            raise ValueError("the level 2 cut-off must not exceed the level 1 cut-off")
        return self

    def level(self, priority: float) -> int:
        """Level (1, 2 or 3) of a flagged zone of priority ``priority``."""
        if priority >= self.level1:
            return 1
        return 2 if priority >= self.level2 else 3


class DataSource(BaseModel):
    """One input layer of the analysis, as cited by the opinion."""

    layer: str
    title: str
    source: str
    licence: str
    attribution: str = ""
    data_date: date | None = None
    synthetic: bool = False


class KeyFigure(BaseModel):
    """One figure of the key figures table.

    ``value`` is the raw value of analysis column ``column`` (a share in [0, 1], hectares, a
    count), ``text`` its French rendering with ``unit``.
    """

    label: str
    value: float | int | None
    unit: str = ""
    text: str
    column: str


class Recommendation(BaseModel):
    """Recommendation level for broadband action, and why.

    ``level`` is 1, 2 or 3 for flagged zones (1 = most urgent), None when no action is
    recommended (served) or the data cannot tell (unknown).
    """

    level: int | None = Field(default=None, ge=1, le=3)
    label: str
    priority: float | None = None
    rank: int | None = None
    flagged_zones: int = 0
    zones_by_level: dict[int, int] = Field(
        default_factory=dict, description="Flagged zones of the subject by level (1, 2, 3)."
    )
    rationale: str = Field(description="Why this level, with the level cut-offs.")
    method: str = Field(description="The status thresholds and the priority formula used.")


class Links(BaseModel):
    """Where to see the subject interactively, embed it, and read it from the API."""

    map_url: str
    embed_url: str
    iframe: str
    api_url: str
    opinion_urls: dict[str, str] = Field(default_factory=dict)


class ZoneLine(BaseModel):
    """One zone in the table of a commune opinion or a territory synthesis."""

    zone_id: str
    name: str
    commune_insee: str | None = None
    commune_name: str | None = None
    status: str
    status_label: str
    status_basis: str
    share_thd30: float | None = None
    #: ``share_thd30`` as the tables print it (``wording.deciding_share_text``).
    share_thd30_text: str = "—"
    locaux: int
    available_land_ha: float
    priority: float | None = None
    rank: int | None = None
    level: int | None = None
    map_url: str | None = None


class EvolutionLine(BaseModel):
    """One key figure then (as the earlier opinion stated it) and now."""

    label: str
    column: str
    then: str = Field(description="The figure as the earlier opinion stated it (French).")
    now: str = Field(description="The figure today (French).")
    change: str = Field(description="The change (French); « inconnue » when either is unknown.")
    delta: float | None = Field(
        default=None, description="now − then in the figure's unit (shares in points)."
    )


class Evolution(BaseModel):
    """« Évolution depuis l'avis du … »: today's figures beside those of the last opinion."""

    previous_id: str = Field(description="Archive id of the earlier opinion.")
    since: date = Field(description="Date of the earlier opinion.")
    title: str
    lines: list[EvolutionLine]
    notes: list[str] = Field(
        default_factory=list,
        description="Status, recommendation, vintages and thresholds then and now (French).",
    )


class TrendLine(BaseModel):
    """A zone in the territory's trend page: its ≥ 30 Mbit/s share then and now."""

    zone_id: str
    name: str
    commune: str
    status_label: str
    then: str = Field(description="Share at the reference vintage (French).")
    now: str = Field(description="Share today (French).")
    change: str = Field(description="Change in points (French).")


class Trend(BaseModel):
    """The territory's page on coverage over time: persistent gaps and most improved zones."""

    title: str
    since: str = Field(description="Reference vintage (the oldest, or analyze --since).")
    latest: str = Field(description="Latest vintage.")
    vintages: list[str]
    summary: list[str]
    persistent: list[TrendLine] = Field(description="Zones flagged at every vintage.")
    improved: list[TrendLine] = Field(description="Zones whose share rose most, largest first.")


class ContextItem(BaseModel):
    """A line of the context box (label: value)."""

    label: str
    value: str


class Opinion(BaseModel):
    """A draft planning opinion on a zone, a commune or the whole territory."""

    kind: OpinionKind
    subject_id: str | None = Field(description="zone_id, INSEE code, or None for the territory.")
    subject: str = Field(description="Title of the subject, e.g. « ZA des Restanques ».")
    title: str
    subtitle: str
    date: date
    analyzed_at: datetime
    synthetic: bool
    status: str | None = Field(default=None, description="Zone status (zone opinions only).")
    status_label: str | None = None
    context: list[ContextItem]
    key_figures: list[KeyFigure]
    findings: list[str] = Field(description="Constats.")
    assessment: list[str] = Field(description="Appréciation, one paragraph per item.")
    recommendation: Recommendation
    recommendations: list[str]
    limits: list[str]
    sources: list[DataSource]
    params: AnalysisParams
    levels: PriorityLevels
    zones: list[ZoneLine] = Field(
        default_factory=list, description="Zones of the commune, or flagged zones by rank."
    )
    access: list[str] = Field(
        default_factory=list,
        description="Desserte et accessibilité: how the subject's zones are reached, one paragraph "
        "per item (empty: not assessed).",
    )
    #: None when no public base URL is set (``GEO_SERVICE_PUBLIC_URL``): no links at all.
    links: Links | None = None
    evolution: Evolution | None = Field(
        default=None, description="Comparison with the last archived opinion on the subject."
    )
    trend: Trend | None = Field(
        default=None,
        description="Territory synthesis: persistent gaps and most improved zones across "
        "the vintages (after analyze --history).",
    )

    def figure(self, column: str) -> KeyFigure:
        """The key figure taken from analysis column ``column`` (KeyError if absent)."""
        for figure in self.key_figures:
            if figure.column == column:
                return figure
        raise KeyError(column)
