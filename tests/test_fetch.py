"""``geo-service fetch`` against a small HTTP server on 127.0.0.1 serving fixture files."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from geo_service.cli import app
from geo_service.errors import InputError, ParameterError
from geo_service.fetch import (
    FetchFile,
    FetchSource,
    Territory,
    fetch_territory,
    plan,
    read_manifest,
)
from geo_service.settings import Settings
from geo_service.sources import download as download_module
from geo_service.sources.download import DownloadError, download, sidecar
from geo_service.store import GeoPackageStore

ARCEP = Path(__file__).parent / "fixtures" / "arcep"
MOBILE = Path(__file__).parent / "fixtures" / "mobile"
BASE_PATH = "/fixe/maconnexioninternet/base_imb/last/departement/base_imb_13.csv.gz"
ACTUEL_PATH = "/fixe/maconnexioninternet/eligibilite/last/departement/actuel_13.csv.gz"
runner = CliRunner(env={"COLUMNS": "200"})


class FixtureServer:
    """Serves ``files`` by path; honours Range/If-Range; can cut a first transfer mid-way."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.cut_once: set[str] = set()
        self.failures: dict[str, int] = {}
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("Range")))
                if server.failures.get(self.path, 0) > 0:
                    server.failures[self.path] -= 1
                    self.send_error(503, "Service Unavailable")
                    return
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                etag = '"' + hashlib.md5(body).hexdigest() + '"'
                start = 0
                wanted = self.headers.get("Range")
                if wanted and self.headers.get("If-Range", etag) == etag:
                    start = int(wanted.removeprefix("bytes=").split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", "Tue, 31 Mar 2026 08:00:00 GMT")
                self.end_headers()
                if self.path in server.cut_once:
                    server.cut_once.discard(self.path)
                    self.wfile.write(body[start : start + (len(body) - start) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body[start:])

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def gets(self, path: str) -> list[str | None]:
        """Range headers of the requests for ``path``."""
        return [wanted for requested, wanted in self.requests if requested == path]


@pytest.fixture(autouse=True)
def no_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download_module, "_RETRY_DELAY_S", 0.0)


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    fixture = FixtureServer()
    fixture.files[BASE_PATH] = (ARCEP / "base_imb_13.csv.gz").read_bytes()
    fixture.files[ACTUEL_PATH] = (ARCEP / "actuel_13.csv.gz").read_bytes()
    fixture.files["/sites/sites_mobiles.csv"] = (MOBILE / "sites_mobiles_2018_L93.csv").read_bytes()
    fixture.files["/big.bin"] = bytes(range(256)) * 1200
    fixture.thread.start()
    yield fixture
    fixture.httpd.shutdown()
    fixture.httpd.server_close()


@pytest.fixture
def settings(tmp_path: Path, server: FixtureServer) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        arcep_base_url=server.url,
        geo_api_base_url=server.url,
        cerema_base_url=server.url,
        fusac_url=server.url + "/fusac_{departement}.gpkg",
        fetch_timeout_s=5,
    )


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_arcep_buildings_are_downloaded_cached_and_imported(settings, server) -> None:
    store = GeoPackageStore(settings.data_dir)
    (outcome,) = fetch_territory(store, settings, Territory.parse("13"), only=["arcep-immeubles"])
    assert outcome.ok, outcome.error
    assert outcome.format_name == "arcep-mci-immeubles"
    assert outcome.report is not None
    assert outcome.report.rows_kept == 6
    assert len(store.read_layer("premises")) == 6
    cached = settings.data_dir / "downloads" / "arcep-immeubles" / "base_imb_13.csv.gz"
    assert cached.read_bytes() == (ARCEP / "base_imb_13.csv.gz").read_bytes()
    assert sidecar(cached).read_text() == f"{sha(cached)}  base_imb_13.csv.gz\n"
    meta = store.layer_meta("premises")
    assert server.url + BASE_PATH in meta.source
    assert str(meta.data_date) == "2026-03-31"  # the server's Last-Modified


def test_cached_files_are_not_downloaded_again(settings, server) -> None:
    store = GeoPackageStore(settings.data_dir)
    fetch_territory(store, settings, Territory.parse("13"), only=["arcep-immeubles"])
    count = len(server.requests)
    (outcome,) = fetch_territory(store, settings, Territory.parse("13"), only=["arcep-immeubles"])
    assert outcome.ok
    assert [f.cached for f in outcome.files] == [True, True]
    assert len(server.requests) == count
    (outcome,) = fetch_territory(
        store, settings, Territory.parse("13"), only=["arcep-immeubles"], refresh=True
    )
    assert len(server.requests) == count + 2


def test_a_transfer_cut_midway_is_resumed_with_a_range_request(settings, server) -> None:
    server.cut_once.add(BASE_PATH)
    store = GeoPackageStore(settings.data_dir)
    (outcome,) = fetch_territory(store, settings, Territory.parse("13"), only=["arcep-immeubles"])
    assert outcome.ok, outcome.error
    first, second = server.gets(BASE_PATH)
    size = len(server.files[BASE_PATH])
    assert first is None
    assert second == f"bytes={size // 2}-"
    assert outcome.files[0].resumed
    assert outcome.files[0].path.read_bytes() == server.files[BASE_PATH]
    assert len(store.read_layer("premises")) == 6


def test_download_resumes_a_partial_file_left_by_an_earlier_run(tmp_path, server) -> None:
    server.cut_once.add("/big.bin")
    dest = tmp_path / "big.bin"
    with httpx.Client(timeout=5) as client:
        with pytest.raises(DownloadError, match=r"partial file big.bin.part is kept"):
            download(client, server.url + "/big.bin", dest, retries=0)
        part = tmp_path / "big.bin.part"
        kept = part.stat().st_size
        assert 0 < kept < len(server.files["/big.bin"])
        seen: list[tuple[int, int | None]] = []
        result = download(
            client, server.url + "/big.bin", dest, progress=lambda d, t: seen.append((d, t))
        )
    assert result.resumed
    assert dest.read_bytes() == server.files["/big.bin"]
    assert server.gets("/big.bin")[-1] == f"bytes={kept}-"
    assert seen[-1] == (len(server.files["/big.bin"]), len(server.files["/big.bin"]))
    assert not part.exists()


def test_server_errors_are_retried_and_missing_files_refused(tmp_path, server) -> None:
    server.failures["/big.bin"] = 2
    with httpx.Client(timeout=5) as client:
        result = download(client, server.url + "/big.bin", tmp_path / "big.bin", retries=2)
        assert result.size == len(server.files["/big.bin"])
        with pytest.raises(DownloadError, match="HTTP 404 Not Found"):
            download(client, server.url + "/nothing.csv", tmp_path / "nothing.csv")


def test_checksum_mismatch_is_refused_and_the_store_unchanged(settings, server) -> None:
    store = GeoPackageStore(settings.data_dir)
    fetch_territory(store, settings, Territory.parse("13"), only=["arcep-immeubles"])
    before = store.version("premises")
    wrong = {"base_imb_13.csv.gz": "0" * 64}
    (outcome,) = fetch_territory(
        store, settings, Territory.parse("13"), only=["arcep-immeubles"], manifest=wrong
    )
    assert not outcome.ok
    assert outcome.error is not None
    assert "checksum mismatch: the manifest expects SHA-256 " + "0" * 64 in outcome.error
    assert "the download was discarded" in outcome.error
    assert store.version("premises") == before
    cached = settings.data_dir / "downloads" / "arcep-immeubles" / "base_imb_13.csv.gz"
    assert not (cached.parent / "base_imb_13.csv.gz.part").exists()


def test_a_failing_source_does_not_stop_the_others(settings, server) -> None:
    sources = (
        FetchSource("missing", "premises", None, (FetchFile("{arcep}/nope.csv", "nope.csv"),), "x"),
        FetchSource(
            "sites",
            "mobile_sites",
            "arcep-sites-mobiles",
            (FetchFile("{arcep}/sites/sites_mobiles.csv", "sites_mobiles.csv"),),
            "ARCEP mobile sites",
        ),
        FetchSource(
            "wrong-format",
            "zones",
            None,
            (FetchFile("{arcep}/sites/sites_mobiles.csv", "sites_as_zones.csv"),),
            "not zones",
        ),
    )
    store = GeoPackageStore(settings.data_dir)
    missing, sites, wrong = fetch_territory(store, settings, Territory.parse("13"), sources=sources)
    assert "HTTP 404" in str(missing.error)
    assert sites.ok
    assert sites.report is not None
    assert sites.report.rows_kept == 6
    assert "sites_as_zones.csv" in str(wrong.error)  # the import was refused
    assert len(store.read_layer("mobile_sites")) == 6
    assert not store.has_layer("zones")


def test_plan_uses_the_base_urls_and_the_epci(settings) -> None:
    files = {s.name: f for s, f in plan(Territory.parse("13", "200054807"), settings)}
    assert [f.url for f in files["arcep-immeubles"]] == [
        settings.arcep_base_url + BASE_PATH,
        settings.arcep_base_url + ACTUEL_PATH,
    ]
    (communes,) = files["communes"]
    assert communes.url.startswith(f"{settings.geo_api_base_url}/epcis/200054807/communes?")
    assert communes.path.name == "communes_epci_200054807.geojson"
    (fusac,) = files["fusac"]
    assert fusac.url == settings.fusac_url.format(departement="13")


@pytest.mark.parametrize(
    ("departement", "epci", "expected"),
    [("13", None, "13"), ("2a", None, "2A"), ("6", None, "06"), ("971", "200054807", "971")],
)
def test_territory_codes(departement: str, epci: str | None, expected: str) -> None:
    assert Territory.parse(departement, epci).departement == expected


@pytest.mark.parametrize(("departement", "epci"), [("130", None), ("13", "2000548")])
def test_bad_territory_codes_are_refused(departement: str, epci: str | None) -> None:
    with pytest.raises(ParameterError):
        Territory.parse(departement, epci)


def test_manifest_files(tmp_path: Path) -> None:
    path = tmp_path / "SHA256SUMS"
    path.write_text(f"# ARCEP 2026 T1\n{'a' * 64}  data/base_imb_13.csv.gz\n{'B' * 64} *x.csv\n")
    assert read_manifest(path) == {"base_imb_13.csv.gz": "a" * 64, "x.csv": "b" * 64}
    path.write_text("abc base_imb_13.csv.gz\n")
    with pytest.raises(InputError, match="line 1 is not"):
        read_manifest(path)
    path.write_bytes(b"\x1f\x8b\x08\x00\xff\xfe")  # a gzip file given by mistake
    with pytest.raises(InputError, match=r"SHA256SUMS: cannot be read as text"):
        read_manifest(path)


# -- command line -------------------------------------------------------------------------------


def env(settings: Settings) -> dict[str, str]:
    return {
        "GEO_SERVICE_DATA_DIR": str(settings.data_dir),
        "GEO_SERVICE_ARCEP_BASE_URL": settings.arcep_base_url,
        "GEO_SERVICE_GEO_API_BASE_URL": settings.geo_api_base_url,
        "GEO_SERVICE_CEREMA_BASE_URL": settings.cerema_base_url,
        "GEO_SERVICE_FUSAC_URL": settings.fusac_url,
        "GEO_SERVICE_FETCH_RETRIES": "0",
    }


def test_cli_dry_run_lists_the_files_without_downloading(settings, server) -> None:
    result = runner.invoke(app, ["fetch", "--departement", "13", "--dry-run"], env=env(settings))
    assert result.exit_code == 0, result.output
    for name in ("arcep-immeubles", "arcep-communes", "communes", "cartofriches", "fusac"):
        assert name in result.output
    assert server.url + BASE_PATH in result.output
    assert server.requests == []


def test_cli_fetch_imports_and_reports_failures(settings, server, tmp_path) -> None:
    ok = runner.invoke(
        app, ["fetch", "--departement", "13", "--only", "arcep-immeubles"], env=env(settings)
    )
    assert ok.exit_code == 0, ok.output
    assert "arcep-mci-immeubles: 6 rows kept" in ok.output
    manifest = tmp_path / "SHA256SUMS"
    manifest.write_text(f"{'f' * 64}  actuel_13.csv.gz\n")
    refused = runner.invoke(
        app,
        [
            "fetch",
            "--departement",
            "13",
            "--only",
            "arcep-immeubles",
            "--only",
            "communes",
            "--manifest",
            str(manifest),
            "--refresh",
        ],
        env=env(settings),
    )
    assert refused.exit_code == 2
    assert "checksum mismatch" in refused.output
    assert "2 of 2 source(s) failed (arcep-immeubles, communes)" in refused.output
    assert "Traceback" not in refused.output


def test_a_partial_file_of_a_changed_remote_file_is_downloaded_again(tmp_path, server) -> None:
    dest = tmp_path / "big.bin"
    (tmp_path / "big.bin.part").write_bytes(b"old version of the file")
    state = {"url": server.url + "/big.bin", "etag": '"old"', "total": 1}
    (tmp_path / "big.bin.part.json").write_text(json.dumps(state))
    with httpx.Client(timeout=5) as client:
        result = download(client, server.url + "/big.bin", dest)
    assert server.gets("/big.bin") == ["bytes=23-"]  # asked to resume, If-Range "old"
    assert dest.read_bytes() == server.files["/big.bin"]  # got the whole new file instead
    assert result.sha256 == hashlib.sha256(server.files["/big.bin"]).hexdigest()


# -- transport sources ----------------------------------------------------------------------------

TINY_GTFS = Path(__file__).parent / "fixtures" / "transport" / "gtfs_tiny"
METROPOLE = (
    "reseaux-de-transports-en-commun-de-la-metropole-daix-marseille-provence-et-des-"
    "bouches-du-rhone"
)
STATIONS_CSV = (
    "CODE_UIC;LIBELLE;FRET;VOYAGEURS;CODE_LIGNE;X_L93;Y_L93;X_WGS84;Y_WGS84\n"
    "87751008;Marseille-St-Charles;N;O;830000;893000,1;6245000,2;5,380;43,303\n"
    "87751008;Marseille-St-Charles;N;O;930000;893000,1;6245000,2;5,380;43,303\n"
    "87319012;Aix-en-Provence TGV;N;O;752000;883000,0;6266000,0;5,317;43,455\n"
)


def gtfs_zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member in sorted(TINY_GTFS.iterdir()):
            archive.write(member, member.name)
    return buffer.getvalue()


@pytest.fixture
def transport_server(server: FixtureServer) -> FixtureServer:
    """The national access point's dataset list (the Métropole's dataset with a GTFS and a
    NeTEx resource, an unrelated dataset, the TER), its GTFS files, the SNCF station list and
    an OpenStreetMap PBF extract."""
    osmium = pytest.importorskip("osmium")
    from test_osm_extract import EXTRACT

    listing = [
        {
            "slug": METROPOLE,
            "resources": [
                {"id": 81, "format": "GTFS", "url": server.url + "/res/81/download"},
                {"id": 82, "format": "NeTEx", "url": server.url + "/res/82/download"},
            ],
        },
        {"slug": "reseau-urbain-de-lille", "resources": [{"id": 9, "format": "GTFS"}]},
        {
            "slug": "horaires-des-lignes-ter-sncf",
            "resources": [{"id": 7, "format": "gtfs", "original_url": server.url + "/ter.zip"}],
        },
    ]
    server.files["/api/datasets"] = json.dumps(listing).encode()
    server.files["/res/81/download"] = gtfs_zip()
    server.files["/ter.zip"] = gtfs_zip()
    server.files["/sncf/liste-des-gares/exports/csv?delimiter=%3B"] = STATIONS_CSV.encode()
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "extract.osm"
        source.write_text(EXTRACT, encoding="utf-8")
        target = Path(folder) / "extract.osm.pbf"
        writer = osmium.SimpleWriter(str(target))
        for obj in osmium.FileProcessor(str(source)):
            writer.add(obj)
        writer.close()
        server.files["/osm/paca-latest.osm.pbf"] = target.read_bytes()
    return server


@pytest.fixture
def transport_settings(settings: Settings, transport_server: FixtureServer) -> Settings:
    return settings.model_copy(
        update={
            "transport_data_base_url": transport_server.url,
            "sncf_base_url": transport_server.url + "/sncf",
            "osm_pbf_url": transport_server.url + "/osm/paca-latest.osm.pbf",
        }
    )


def test_national_access_point_gtfs_feeds_are_fetched_and_imported_together(
    transport_settings: Settings, transport_server: FixtureServer
) -> None:
    store = GeoPackageStore(transport_settings.data_dir)
    territory = Territory.parse("13")
    (outcome,) = fetch_territory(store, transport_settings, territory, only=["transport-gtfs"])
    assert outcome.ok, outcome.error
    folder = transport_settings.data_dir / "downloads" / "transport-gtfs"
    assert sorted(p.name for p in folder.glob("*.zip")) == [
        "horaires-des-lignes-ter-sncf-7.zip",
        f"{METROPOLE}-81.zip",
    ]
    assert "/res/82/download" not in [path for path, _ in transport_server.requests]  # NeTEx
    stops = store.read_layer("transit_stops")
    feeds = {str(i).split(":")[0] for i in stops["stop_id"]}
    assert feeds == {"horaires-des-lignes-ter-sncf-7", f"{METROPOLE}-81"}
    # the hand-counted tiny feed's departures, once per feed
    by_id = dict(zip(stops["stop_id"], stops["peak_departures"], strict=True))
    assert by_id["horaires-des-lignes-ter-sncf-7:B1"] == 2
    assert by_id[f"{METROPOLE}-81:STA"] == 4
    count = len(transport_server.requests)
    (again,) = fetch_territory(store, transport_settings, territory, only=["transport-gtfs"])
    assert again.ok
    assert all(f.cached for f in again.files)
    assert len(transport_server.requests) == count  # the list and the feeds from the cache


def test_a_gtfs_feed_with_a_wrong_checksum_is_refused(
    transport_settings: Settings, transport_server: FixtureServer
) -> None:
    store = GeoPackageStore(transport_settings.data_dir)
    manifest = {f"{METROPOLE}-81.zip": "0" * 64}
    (outcome,) = fetch_territory(
        store, transport_settings, Territory.parse("13"), only=["transport-gtfs"], manifest=manifest
    )
    assert "checksum mismatch" in str(outcome.error)
    assert not store.has_layer("transit_stops")


def test_no_dataset_matching_says_which_setting(
    transport_settings: Settings, transport_server: FixtureServer
) -> None:
    store = GeoPackageStore(transport_settings.data_dir)
    settings = transport_settings.model_copy(update={"transport_gtfs_datasets": ["nulle-part"]})
    (outcome,) = fetch_territory(store, settings, Territory.parse("13"), only=["transport-gtfs"])
    assert "GEO_SERVICE_TRANSPORT_GTFS_DATASETS" in str(outcome.error)
    assert "nulle-part" in str(outcome.error)


def test_sncf_stations_and_one_osm_extract_for_three_layers(
    transport_settings: Settings, transport_server: FixtureServer
) -> None:
    store = GeoPackageStore(transport_settings.data_dir)
    outcomes = fetch_territory(
        store,
        transport_settings,
        Territory.parse("13"),
        only=["sncf-gares", "osm-junctions", "osm-aerodromes"],
    )
    assert [o.error for o in outcomes] == [None, None, None]
    stations = store.read_layer("rail_stations")
    assert sorted(stations["name"]) == ["Aix-en-Provence TGV", "Marseille-St-Charles"]
    assert len(store.read_layer("road_access")) == 2
    assert len(store.read_layer("hubs")) == 3
    # the extract downloaded once, into the folder the OSM sources share
    assert [p for p, _ in transport_server.requests].count("/osm/paca-latest.osm.pbf") == 1
    cached = transport_settings.data_dir / "downloads" / "osm" / "osm_extract.osm.pbf"
    assert sidecar(cached).read_text() == f"{sha(cached)}  osm_extract.osm.pbf\n"
    assert "/osm/paca-latest.osm.pbf" in store.layer_meta("hubs").source


def test_plan_knows_the_transport_sources(settings: Settings) -> None:
    files = {s.name: f for s, f in plan(Territory.parse("13"), settings)}
    defaults = Settings()
    assert [f.url for f in files["transport-gtfs"]] == [
        f"{defaults.transport_data_base_url}/api/datasets"
    ]
    assert files["sncf-gares"][0].url.startswith(defaults.sncf_base_url + "/liste-des-gares/")
    assert files["osm-roads"][0].url == defaults.osm_pbf_url
    assert files["osm-roads"][0].path == files["osm-aerodromes"][0].path
