"""Settings: one pydantic-settings class, every field overridable by ``GEO_SERVICE_<FIELD>``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo_service.thresholds import BY_NAME, Bounds

#: Most pixels of an imported raster: 25,000 km² at 10 m, more than the bounding box of the
#: largest metropolitan département (Gironde, about 125 x 155 km); 1 GB as float32. Larger
#: rasters are refused before any pixel is read.
DEFAULT_MAX_RASTER_PIXELS: Final = 250_000_000
#: Most features of an imported vector file, checked from its metadata (GeoPackage,
#: Shapefile, FlatGeobuf, GeoParquet) or its line count (CSV) before it is read: ten times the
#: buildings of the largest French region.
DEFAULT_MAX_FEATURES: Final = 10_000_000


def _threshold(name: str) -> Any:
    """The pydantic field of threshold or weight ``name``: its default, bounds, CLI flag and
    help text come from its declaration in :mod:`geo_service.thresholds`."""
    declared = BY_NAME[name]
    return Field(
        default=declared.default,
        description=declared.description,
        json_schema_extra={"flag": declared.flag},
        **declared.bounds,
    )


class AnalysisFields(BaseModel):
    """The thresholds and weights of the analysis, shared by the settings and the parameters.

    Each field's default, bounds and help text are declared once in
    :data:`geo_service.thresholds.THRESHOLDS`; the ``analyze`` command's options and the write
    API's request body are generated from them.
    """

    served_thd30_share: float = _threshold("served_thd30_share")
    unserved_bhd8_share: float = _threshold("unserved_bhd8_share")
    min_raster_valid_share: float = _threshold("min_raster_valid_share")
    priority_weight_gap: float = _threshold("priority_weight_gap")
    priority_weight_land: float = _threshold("priority_weight_land")
    priority_weight_locaux: float = _threshold("priority_weight_locaux")
    priority_land_half_ha: float = _threshold("priority_land_half_ha")
    priority_locaux_half: float = _threshold("priority_locaux_half")
    transit_walk_m: float = _threshold("transit_walk_m")
    access_good_departures: float = _threshold("access_good_departures")
    access_good_rail_km: float = _threshold("access_good_rail_km")
    access_good_road_km: float = _threshold("access_good_road_km")
    access_poor_road_km: float = _threshold("access_poor_road_km")
    priority_weight_access: float = _threshold("priority_weight_access")


if tuple(AnalysisFields.model_fields) != tuple(BY_NAME):  # pragma: no cover - a coding error
    raise RuntimeError("AnalysisFields and geo_service.thresholds.THRESHOLDS disagree")


def analysis_bounds(name: str) -> Bounds:
    """The bounds (``ge``, ``gt``, ``le``, ``lt``) of analysis field ``name``."""
    return Bounds(**BY_NAME[name].bounds)


def analysis_flag(name: str) -> str:
    """The CLI flag of analysis field ``name`` (``--weight-gap``)."""
    return BY_NAME[name].option


class AnalysisParams(AnalysisFields):
    """Thresholds and weights of the zone analysis; recorded with every result.

    Status rules (DESIGN.md): a zone is *served* when ``share_thd30 >= served_thd30_share``,
    *unserved* when ``share_bhd8 < unserved_bhd8_share``, *underserved* otherwise. Without
    premises the coverage raster decides, provided at least ``min_raster_valid_share`` of the
    zone has known pixels; otherwise the zone is *unknown*.

    Priority (0-100, non-served zones only) is the weighted mean of three scores in [0, 1]:
    the coverage gap ``1 - share_thd30``, the available land ``L / (L + land_half_ha)`` and the
    locaux ``N / (N + locaux_half)``.

    Transport access (``access_class``, see :mod:`geo_service.analysis.transport`): stops
    within ``transit_walk_m`` of the zone count; public transport is good with at least
    ``access_good_departures`` morning-peak departures, a métro, tram or train stop among them,
    or a passenger station within ``access_good_rail_km``; road access is good within
    ``access_good_road_km`` of a motorway interchange and poor beyond ``access_poor_road_km``.
    With ``priority_weight_access`` > 0 the priority also weighs the access (poor 1, fair 0.5,
    good 0; a zone whose access is unknown is ranked on the broadband components alone).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="after")
    def _weights_not_all_zero(self) -> AnalysisParams:
        total = self.priority_weight_gap + self.priority_weight_land + self.priority_weight_locaux
        if total <= 0:
            raise ValueError("at least one priority weight must be positive")
        return self

    @model_validator(mode="after")
    def _road_thresholds_ordered(self) -> AnalysisParams:
        if self.access_good_road_km > self.access_poor_road_km:
            raise ValueError(
                "access_good_road_km must not exceed access_poor_road_km (good road access is "
                "nearer than poor)"
            )
        return self


class Settings(BaseSettings, AnalysisFields):
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
    # PostGIS store: the schema of its tables (several services can share one database).
    database_schema: str = Field(
        default="geo_service",
        pattern=r"^[a-z][a-z0-9_]{0,62}$",
        description="PostgreSQL schema holding the layer tables of the PostGIS store.",
    )
    layers_dir: Path | None = Field(
        default=None, description="Directory of layer descriptors (default: the bundled ones)."
    )
    demo_seed: int = Field(default=2154, description="Seed of the synthetic demo territory.")

    h3_resolution: int = Field(default=8, ge=5, le=10, description="H3 grid of the coverage map.")
    map_inline_zones_max: int = Field(
        default=5000,
        ge=0,
        description="Most zones the served territory map inlines; above, it shows an overview "
        "by H3 cell and loads the zones of the viewport from the server as the user zooms in.",
    )

    # Maps (territory and zone maps): basemap and who may frame them.
    basemap: Literal["none", "osm", "ign-plan"] = Field(
        default="none",
        description="Basemap of the maps: none (no tiles, works offline), osm (OpenStreetMap) "
        "or ign-plan (Plan IGN v2 from the Géoplateforme).",
    )
    frame_ancestors: str = Field(
        default="'self'",
        pattern=r"^[^;,\r\n]+$",
        description="Sources allowed to embed the maps in an iframe (CSP frame-ancestors, "
        "space-separated), e.g. \"'self' https://www.example.fr\".",
    )

    # JSON API (geo-service serve): where the server listens.
    host: str = Field(default="127.0.0.1", description="Address `geo-service serve` listens on.")
    port: int = Field(
        default=8000, ge=1, le=65535, description="Port `geo-service serve` listens on."
    )

    request_head_timeout_s: float = Field(
        default=10.0,
        gt=0.0,
        description="Seconds a connection has to send a whole request line and headers "
        "(after opening, or after its previous response) before `geo-service serve` closes it.",
    )
    request_body_timeout_s: float = Field(
        default=900.0,
        gt=0.0,
        description="Seconds a request has to send its whole body (an upload: 200 MB in 900 s "
        "is about 1.8 Mbit/s), from its start; slower requests are answered 408.",
    )

    # Security: writing through the API (API key, uploads).
    api_key_hash: str | None = Field(
        default=None,
        pattern=r"^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$",
        description="Hash of the API key that allows writing through the API (made by "
        "`geo-service hash-key`); unset: the write endpoints are disabled.",
    )
    max_upload_mb: float = Field(
        default=200.0, gt=0.0, description="Largest upload (all files of one request), in MB."
    )
    max_upload_files: int = Field(
        default=20, ge=1, le=1000, description="Most files in one upload (with sidecars)."
    )
    max_raster_pixels: int = Field(
        default=DEFAULT_MAX_RASTER_PIXELS,
        ge=1,
        description="Most pixels of an imported coverage raster (width x height, before and "
        "after reprojection to Lambert-93); larger ones are refused before reading.",
    )

    import_memory_mb: float = Field(
        default=4000.0,
        ge=1000.0,
        description="Memory (address space, MB) of the worker process of each import; an "
        "import needing more is stopped with a clear refusal, the store unchanged.",
    )
    import_timeout_s: float = Field(
        default=600.0,
        gt=0.0,
        description="Seconds an import may run in its worker process before it is stopped "
        "with a clear refusal, the store unchanged.",
    )

    max_features: int = Field(
        default=DEFAULT_MAX_FEATURES,
        ge=1,
        description="Most features (rows) of an imported vector file, checked from its "
        "metadata or line count before it is read; larger files are refused.",
    )

    # Opinions (avis): absolute links, and the priority cut-offs of the recommendation levels.
    public_url: str = Field(
        default="",
        description="Public base URL of the service, for the absolute links and iframe snippets "
        "of opinions and exported maps; empty: written documents carry no links (the API "
        "links served pages to the address the client called).",
    )
    opinion_level1_priority: float = Field(
        default=70.0,
        ge=0.0,
        le=100.0,
        description="Priority (0-100) from which a flagged zone is recommended at level 1.",
    )
    opinion_level2_priority: float = Field(
        default=50.0,
        ge=0.0,
        le=100.0,
        description="Priority (0-100) from which a flagged zone is recommended at level 2.",
    )

    # Official open data (geo-service fetch): where each producer publishes, and the cache.
    arcep_base_url: str = Field(
        default="https://data.arcep.fr",
        description="ARCEP open data (Ma connexion internet building and commune files).",
    )
    geo_api_base_url: str = Field(
        default="https://geo.api.gouv.fr",
        description="French geo API (commune polygons of a département or an EPCI).",
    )
    cerema_base_url: str = Field(
        default="https://apidf-preprod.cerema.fr",
        description="Cerema land-data API (Cartofriches brownfields of a département).",
    )
    fusac_url: str = Field(
        default="https://datafoncier.cerema.fr/fusac/telechargement/fusac_{departement}.gpkg",
        description="Fusac activity zones (CNIG SITE-ECO GeoPackage) of a département; "
        "{departement} is replaced by its code.",
    )
    transport_data_base_url: str = Field(
        default="https://transport.data.gouv.fr",
        description="The national access point to transport data (its dataset list, "
        "/api/datasets, gives each dataset's GTFS resources).",
    )
    transport_gtfs_datasets: list[str] = Field(
        default=[
            "reseaux-de-transports-en-commun-de-la-metropole-daix-marseille-provence-et-des-"
            "bouches-du-rhone",
            "zou",
            "horaires-des-lignes-ter-sncf",
        ],
        description="The national access point's datasets whose GTFS feeds fetch imports as "
        "transit_stops: a dataset is taken when its slug contains one of these (default: "
        "the Métropole's networks, the Région's Zou! coaches, the SNCF TER).",
    )
    sncf_base_url: str = Field(
        default="https://ressources.data.sncf.com/api/explore/v2.1/catalog/datasets",
        description="SNCF open data's dataset exports (the station list liste-des-gares).",
    )
    osm_pbf_url: str = Field(
        default="https://download.geofabrik.de/europe/france/"
        "provence-alpes-cote-d-azur-latest.osm.pbf",
        description="The regional OpenStreetMap PBF extract fetch reads the road network, the "
        "motorway exits and the aerodromes from (default: Geofabrik's Provence-Alpes-Côte "
        "d'Azur; {departement} is replaced by the code).",
    )
    download_dir: Path | None = Field(
        default=None, description="Download cache of fetch (default: <data dir>/downloads)."
    )
    fetch_timeout_s: float = Field(
        default=60.0, gt=0.0, description="Seconds without data before a download is retried."
    )
    fetch_retries: int = Field(
        default=3, ge=0, le=20, description="Further attempts (resumed) after a broken download."
    )

    # National scale (geo-service analyze --engine dask): where the dask workers are.
    dask_scheduler: str | None = Field(
        default=None,
        description="Address of a dask scheduler (e.g. tcp://10.0.0.5:8786) for "
        "`analyze --engine dask`; unset: a local cluster on this machine.",
    )
    dask_workers: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="Worker processes of the local dask cluster (default: one per CPU core).",
    )
    dask_worker_memory: str = Field(
        default="auto",
        pattern=r"^(auto|\d+(\.\d+)?\s*([KMGT]i?B)?)$",
        description="Memory limit of each local dask worker (e.g. 3GiB; auto: the machine's "
        "memory shared between the workers).",
    )

    def analysis_params(self, **overrides: float | None) -> AnalysisParams:
        """The analysis parameters of these settings, with non-None ``overrides`` applied."""
        values = {name: getattr(self, name) for name in AnalysisFields.model_fields}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return AnalysisParams(**values)
