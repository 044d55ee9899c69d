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


_MCI: Final = "{arcep}/fixe/maconnexioninternet"
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
)


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
        "departement": territory.departement,
        "epci": territory.epci or "",
    }
    try:
        values["fusac"] = settings.fusac_url.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise ParameterError(
            "GEO_SERVICE_FUSAC_URL",
            f"'{settings.fusac_url}' is not a URL template ({exc}); expected e.g. "
            "https://example.org/fusac_{departement}.gpkg",
        ) from None
    root = download_dir(settings)
    planned = []
    for source in chosen:
        files = source.epci_files if territory.epci and source.epci_files else source.files
        entries = []
        for file in files:
            name = file.name.format(**values)
            entries.append(
                PlannedFile(
                    url=file.url.format(**values),
                    path=root / source.name / name,
                    expected_sha256=(manifest or {}).get(name),
                )
            )
        planned.append((source, entries))
    return planned


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
                for file in files:
                    hook = progress(file.path.name) if progress else None
                    outcome.files.append(
                        download(
                            http,
                            file.url,
                            file.path,
                            expected_sha256=file.expected_sha256,
                            refresh=refresh,
                            retries=settings.fetch_retries,
                            progress=hook,
                        )
                    )
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
