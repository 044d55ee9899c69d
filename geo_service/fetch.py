"""``geo-service fetch``: download a territory's official open data, then import it.

The sources are data, not code: :data:`DEFAULT_SOURCES` lists, for each producer's file, the
URL templates, the cached file names, the layer it feeds and the import format
(:class:`FetchSource`). Templates take ``{arcep}``, ``{geo_api}``, ``{cerema}`` (base URLs
from the settings), ``{departement}`` and ``{epci}``. Each source is downloaded into the cache
(:func:`geo_service.sources.download.download`: resumption, size and checksum checks) and
imported with :func:`geo_service.pipeline.import_files`; a source that fails (network,
checksum, refused import) is reported and the others go on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx

from geo_service import pipeline
from geo_service.errors import GeoServiceError, InputError, ParameterError
from geo_service.settings import Settings
from geo_service.sources.download import Download, ProgressHook, cached_file, download
from geo_service.sources.formats import ImportOptions
from geo_service.store import Store
from geo_service.validation import LayerReport

#: Gives the progress hook of a file being downloaded (by its cached name).
ProgressFactory = Callable[[str], ProgressHook]
#: The files a catalog lists (its downloaded copy, the settings).
Catalog = Callable[[Path, Settings], "tuple[FetchFile, ...]"]

_DEPARTEMENT: Final = re.compile(r"^(0[1-9]|[1-8]\d|9[0-5]|2[AB]|97[1-6])$")
_EPCI: Final = re.compile(r"^\d{9}$")
_SHA256: Final = re.compile(r"^[0-9a-fA-F]{64}$")
_USER_AGENT: Final = "geo-service (CCI Aix-Marseille-Provence) fetch"


@dataclass(frozen=True)
class FetchFile:
    """One file of a source: URL template and name of the cached copy (a template too)."""

    url: str
    name: str


@dataclass(frozen=True)
class FetchSource:
    """A producer's files for one layer, and how to import them.

    ``format_name`` None lets the import detect the format from the files. ``epci_files``
    replaces ``files`` when an EPCI is given (e.g. the EPCI's communes instead of the
    département's).
    """

    name: str
    layer: str
    format_name: str | None
    files: tuple[FetchFile, ...]
    description: str
    epci_files: tuple[FetchFile, ...] | None = None
    #: A source whose ``files`` are a catalog: the files to import are those this gives from
    #: the catalog's downloaded copy and the settings (e.g. a dataset list's GTFS resources).
    catalog: Catalog | None = None
    #: The cache folder (default: the source's name); sources reading one file share it.
    cache: str | None = None


_MCI: Final = "{arcep}/fixe/maconnexioninternet"
_OSM_PBF_NAME: Final = "osm_extract.osm.pbf"
_GEO_API_FIELDS: Final = "format=geojson&geometry=contour&fields=code,nom,codeEpci,population"

DEFAULT_SOURCES: Final[tuple[FetchSource, ...]] = (
    FetchSource(
        name="arcep-immeubles",
        layer="premises",
        format_name="arcep-mci-immeubles",
        files=(
            FetchFile(
                f"{_MCI}/base_imb/last/departement/base_imb_{{departement}}.csv.gz",
                "base_imb_{departement}.csv.gz",
            ),
            FetchFile(
                f"{_MCI}/eligibilite/last/departement/actuel_{{departement}}.csv.gz",
                "actuel_{departement}.csv.gz",
            ),
        ),
        description="ARCEP « Ma connexion internet »: buildings and their eligibility",
    ),
    FetchSource(
        name="arcep-communes",
        layer="commune_coverage",
        format_name="arcep-communes",
        files=(
            FetchFile(
                f"{_MCI}/statistiques/last/commune/commune_debit_filaire.csv",
                "commune_debit_filaire.csv",
            ),
            FetchFile(
                f"{_MCI}/statistiques/last/commune/commune_meilleure_techno_thd.csv",
                "commune_meilleure_techno_thd.csv",
            ),
        ),
        description="ARCEP « Ma connexion internet »: statistics per commune (national)",
    ),
    FetchSource(
        name="communes",
        layer="communes",
        format_name="ign-communes",
        files=(
            FetchFile(
                f"{{geo_api}}/departements/{{departement}}/communes?{_GEO_API_FIELDS}",
                "communes_{departement}.geojson",
            ),
        ),
        epci_files=(
            FetchFile(
                f"{{geo_api}}/epcis/{{epci}}/communes?{_GEO_API_FIELDS}",
                "communes_epci_{epci}.geojson",
            ),
        ),
        description="Commune polygons (geo API, IGN Admin Express)",
    ),
    FetchSource(
        name="cartofriches",
        layer="land",
        format_name=None,
        files=(
            FetchFile(
                "{cerema}/cartofriches/geofriches/?coddep={departement}",
                "cartofriches_{departement}.geojson",
            ),
        ),
        description="Cerema Cartofriches: brownfields",
    ),
    FetchSource(
        name="fusac",
        layer="zones",
        format_name="cnig-site-eco",
        files=(FetchFile("{fusac}", "fusac_{departement}.gpkg"),),
        description="Cerema Fusac: activity zones (CNIG SITE-ECO)",
    ),
    FetchSource(
        name="transport-gtfs",
        layer="transit_stops",
        format_name="gtfs",
        files=(FetchFile("{transport_data}/api/datasets", "transport-data-datasets.json"),),
        description="Point d'accès national transport.data.gouv.fr: GTFS feeds (Métropole "
        "networks, Région coaches, SNCF TER)",
        catalog=lambda path, settings: nap_gtfs_files(path, settings.transport_gtfs_datasets),
    ),
    FetchSource(
        name="sncf-gares",
        layer="rail_stations",
        format_name="sncf-liste-des-gares",
        files=(
            FetchFile("{sncf}/liste-des-gares/exports/csv?delimiter=%3B", "liste-des-gares.csv"),
        ),
        description="SNCF Réseau: liste des gares (national)",
    ),
    *(
        FetchSource(
            name=f"osm-{name}",
            layer=layer,
            format_name=format_name,
            files=(FetchFile("{osm_pbf}", _OSM_PBF_NAME),),
            description=f"OpenStreetMap regional extract (Geofabrik): {what}",
            cache="osm",  # one download for the three
        )
        for name, layer, format_name, what in (
            ("roads", "road_network", "osm-pbf", "road network"),
            ("junctions", "road_access", "osm-pbf-junctions", "motorway exits"),
            ("aerodromes", "hubs", "osm-aerodromes", "aerodromes"),
        )
    ),
)


def nap_gtfs_files(path: Path, datasets: Sequence[str]) -> tuple[FetchFile, ...]:
    """The GTFS resources of the national access point's datasets (its ``/api/datasets``
    list, downloaded at ``path``) whose slug contains one of ``datasets``."""
    try:
        listing = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{path}: not the national access point's dataset list ({exc}); expected the JSON "
            "of /api/datasets"
        ) from None
    if not isinstance(listing, list):
        raise InputError(f"{path}: expected a JSON list of datasets (/api/datasets)")
    files: list[FetchFile] = []
    for dataset in listing:
        slug = str(dataset.get("slug") or "") if isinstance(dataset, dict) else ""
        if not slug or not any(wanted in slug for wanted in datasets):
            continue
        for number, resource in enumerate(dataset.get("resources") or [], start=1):
            url = resource.get("url") or resource.get("original_url")
            if str(resource.get("format", "")).upper() != "GTFS" or not url:
                continue
            ident = re.sub(r"[^A-Za-z0-9_-]", "_", str(resource.get("id") or number))
            files.append(
                FetchFile(str(url).replace("{", "{{").replace("}", "}}"), f"{slug}-{ident}.zip")
            )
    if not files:
        raise ParameterError(
            "GEO_SERVICE_TRANSPORT_GTFS_DATASETS",
            f"no GTFS resource in the national access point's datasets matching "
            f"{', '.join(datasets)} ({path.name}); expected dataset slugs such as "
            "horaires-des-lignes-ter-sncf",
        )
    return tuple(files)


@dataclass(frozen=True)
class Territory:
    """The territory to fetch: a département, and optionally an EPCI (SIREN)."""

    departement: str
    epci: str | None = None

    @classmethod
    def parse(cls, departement: str, epci: str | None = None) -> Territory:
        """Check and normalise the codes (``13``, ``2A``, ``971``; EPCI: 9 digits)."""
        code = departement.strip().upper()
        code = code.zfill(2) if code.isdigit() and len(code) == 1 else code
        if not _DEPARTEMENT.match(code):
            raise ParameterError(
                "--departement", f"'{departement}' is not a département code; expected e.g. 13"
            )
        if epci is not None and not _EPCI.match(epci.strip()):
            raise ParameterError(
                "--epci", f"'{epci}' is not an EPCI SIREN; expected 9 digits, e.g. 200054807"
            )
        return cls(code, epci.strip() if epci else None)


@dataclass(frozen=True)
class PlannedFile:
    """A file to fetch: where from, where it is cached, its expected checksum if known."""

    url: str
    path: Path
    expected_sha256: str | None = None

    @property
    def cached(self) -> bool:
        """Whether the cache already holds a valid copy."""
        return cached_file(self.path, self.expected_sha256) is not None


@dataclass
class SourceOutcome:
    """What happened to one source: its files, the import report, or the error."""

    source: FetchSource
    files: list[Download] = field(default_factory=list)
    format_name: str | None = None
    report: LayerReport | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the source was downloaded and imported."""
        return self.error is None


def download_dir(settings: Settings) -> Path:
    """The download cache folder."""
    return settings.download_dir or settings.data_dir / "downloads"


def plan(
    territory: Territory,
    settings: Settings,
    *,
    sources: Sequence[FetchSource] = DEFAULT_SOURCES,
    only: Sequence[str] | None = None,
    manifest: Mapping[str, str] | None = None,
) -> list[tuple[FetchSource, list[PlannedFile]]]:
    """The files of each selected source for ``territory``, with their cache paths."""
    chosen = _select(sources, only)
    values = {
        "arcep": settings.arcep_base_url.rstrip("/"),
        "geo_api": settings.geo_api_base_url.rstrip("/"),
        "cerema": settings.cerema_base_url.rstrip("/"),
        "transport_data": settings.transport_data_base_url.rstrip("/"),
        "sncf": settings.sncf_base_url.rstrip("/"),
        "departement": territory.departement,
        "epci": territory.epci or "",
    }
    values["fusac"] = _template("GEO_SERVICE_FUSAC_URL", settings.fusac_url, values)
    values["osm_pbf"] = _template("GEO_SERVICE_OSM_PBF_URL", settings.osm_pbf_url, values)
    planned = []
    for source in chosen:
        files = source.epci_files if territory.epci and source.epci_files else source.files
        planned.append((source, planned_files(source, files, values, settings, manifest)))
    return planned


def planned_files(
    source: FetchSource,
    files: Sequence[FetchFile],
    values: Mapping[str, str],
    settings: Settings,
    manifest: Mapping[str, str] | None,
) -> list[PlannedFile]:
    """``files`` of ``source`` with their URLs and cache paths (templates filled)."""
    folder = download_dir(settings) / (source.cache or source.name)
    entries = []
    for file in files:
        name = file.name.format(**values)
        entries.append(
            PlannedFile(
                url=file.url.format(**values),
                path=folder / name,
                expected_sha256=(manifest or {}).get(name),
            )
        )
    return entries


def _template(setting: str, template: str, values: Mapping[str, str]) -> str:
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise ParameterError(
            setting,
            f"'{template}' is not a URL template ({exc}); expected e.g. "
            "https://example.org/file_{departement}.gpkg",
        ) from None


def fetch_territory(
    store: Store,
    settings: Settings,
    territory: Territory,
    *,
    sources: Sequence[FetchSource] = DEFAULT_SOURCES,
    only: Sequence[str] | None = None,
    manifest: Mapping[str, str] | None = None,
    refresh: bool = False,
    options: ImportOptions | None = None,
    client: httpx.Client | None = None,
    progress: ProgressFactory | None = None,
    on_import: Callable[[FetchSource], None] | None = None,
) -> list[SourceOutcome]:
    """Download each source's files into the cache, then import them into ``store``.

    Parameters
    ----------
    store
        Where the layers go; each import replaces its layer atomically.
    settings
        Base URLs, cache folder, timeout and retries.
    territory
        Département (and EPCI) to fetch.
    sources, only
        The sources, and the names of those to fetch (default: all).
    manifest
        Expected SHA-256 by cached file name; a mismatch refuses the source.
    refresh
        Download again even the files already cached.
    options
        Import options (e.g. ``include_satellite`` for the ARCEP buildings).
    client
        HTTP client (default: one with the settings' timeout, following redirects).
    progress, on_import
        Called for each file downloaded, and before each import.

    Returns
    -------
    One outcome per source, in order; failed sources carry their error message.
    """
    planned = plan(territory, settings, sources=sources, only=only, manifest=manifest)
    own_client = client is None
    http = client or httpx.Client(
        timeout=httpx.Timeout(settings.fetch_timeout_s),
        follow_redirects=True,
        headers={"User-Agent": _USER_AGENT},
    )
    outcomes = []
    try:
        for source, files in planned:
            outcome = SourceOutcome(source=source)
            outcomes.append(outcome)
            try:
                if source.catalog is not None:
                    listing = _download(http, files[0], settings, refresh, progress)
                    listed = source.catalog(listing.path, settings)
                    files = planned_files(source, listed, {}, settings, manifest)
                for file in files:
                    outcome.files.append(_download(http, file, settings, refresh, progress))
                if on_import:
                    on_import(source)
                fmt, report = pipeline.import_files(
                    store,
                    source.layer,
                    [d.path for d in outcome.files],
                    format_name=source.format_name,
                    options=options,
                    source=f"{source.description} ({', '.join(f.url for f in files)})",
                )
                outcome.format_name, outcome.report = fmt.name, report
            except GeoServiceError as exc:
                outcome.error = exc.message
    finally:
        if own_client:
            http.close()
    return outcomes


def _download(
    http: httpx.Client,
    file: PlannedFile,
    settings: Settings,
    refresh: bool,
    progress: ProgressFactory | None,
) -> Download:
    return download(
        http,
        file.url,
        file.path,
        expected_sha256=file.expected_sha256,
        refresh=refresh,
        retries=settings.fetch_retries,
        progress=progress(file.path.name) if progress else None,
    )


def read_manifest(path: Path) -> dict[str, str]:
    """Expected checksums from a ``sha256sum``-style file: ``<hex>  <file name>`` per line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: cannot be read as text (byte {exc.start} is not UTF-8); expected lines "
            "as written by sha256sum"
        ) from exc
    manifest: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        digest, _, name = line.strip().partition(" ")
        name = name.strip().lstrip("*")
        if not _SHA256.match(digest) or not name:
            raise InputError(
                f"{path}: line {number} is not '<sha256>  <file name>'; expected lines as "
                "written by sha256sum"
            )
        manifest[Path(name).name] = digest.lower()
    return manifest


def _select(sources: Sequence[FetchSource], only: Sequence[str] | None) -> list[FetchSource]:
    if not only:
        return list(sources)
    known = {s.name for s in sources}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise ParameterError(
            "--only",
            f"unknown source(s) {', '.join(unknown)}; expected some of {', '.join(sorted(known))}",
        )
    return [s for s in sources if s.name in only]
