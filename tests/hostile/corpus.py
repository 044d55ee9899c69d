"""The hostile-input corpus: broken, malicious or misleading files, and what geo-service must do.

Each :class:`Case` writes its file(s) into a folder (:func:`write_corpus`) and says which layer
it is imported as and the expected outcome: ``refused`` (an InputError or ParameterError whose
message names the file and matches ``expect``, exit status 2 from the CLI, a 4xx JSON answer
from the API, and the store unchanged) or ``repaired`` (imported, with the repair counted in
the report). The files are generated rather than committed: a few are large (a zip bomb, a
polygon of a million vertices, a CSV of a million columns). ``README.md`` beside this file
lists them. Run ``python tests/hostile/corpus.py OUT_DIR`` to write them out and look at them.
"""

from __future__ import annotations

import gzip
import io
import json
import sqlite3
import struct
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np

Outcome = Literal["refused", "repaired"]

#: Lambert-93 and WGS84 corners of a small square near Marseille.
X0, Y0 = 890_000.0, 6_250_000.0
LON0, LAT0 = 5.40, 43.30


@dataclass(frozen=True)
class Case:
    """One hostile input: its files, the layer it is imported as, and the expected outcome."""

    name: str
    layer: str
    files: tuple[str, ...]
    make: Callable[[Path], None]
    outcome: Outcome
    expect: str
    what: str
    format: str | None = None
    #: ``--crs`` (CLI) or the ``crs`` field (API), for files that declare none.
    crs: str | None = None

    @property
    def main_file(self) -> str:
        """The file named in messages (the first one)."""
        return self.files[0]


# -- helpers ------------------------------------------------------------------------------


def _square(x: float, y: float, size: float = 100.0) -> list[list[float]]:
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]


def _feature(props: dict[str, Any], geometry: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _polygon(ring: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring]}


def _zone(i: int, *, x: float = X0, y: float = Y0) -> dict[str, Any]:
    return _feature(
        {"zone_id": f"Z{i}", "name": f"Zone {i}", "commune_insee": "13001"},
        _polygon(_square(x + 200 * i, y)),
    )


def _collection(
    features: list[dict[str, Any]], crs: str | None = "urn:ogc:def:crs:EPSG::2154"
) -> dict[str, Any]:
    document: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        document["crs"] = {"type": "name", "properties": {"name": crs}}
    return document


def _json(name: str, document: Any) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        (folder / name).write_text(json.dumps(document), encoding="utf-8")

    return make


def _bytes(name: str, content: bytes) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        (folder / name).write_bytes(content)

    return make


def _text(name: str, content: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return _bytes(name, content.encode(encoding))


def _two_zone_files(folder: Path) -> None:
    def wkt(x: float) -> str:
        return (
            f"POLYGON (({x} {Y0}, {x + 100} {Y0}, {x + 100} {Y0 + 100}, {x} {Y0 + 100}, {x} {Y0}))"
        )

    (folder / "named_zones.csv").write_text(f"zone_id;name;wkt\nN1;Zone N1;{wkt(X0)}\n")
    (folder / "unnamed_zones.csv").write_text(f"zone_id;wkt\nU1;{wkt(X0 + 400)}\n")


def _valid_zones() -> dict[str, Any]:
    return _collection([_zone(i) for i in range(3)])


def _gpkg_bytes() -> bytes:
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame(
        {"zone_id": [f"Z{i}" for i in range(50)], "name": [f"Zone {i}" for i in range(50)]},
        geometry=[shapely.box(X0 + 200 * i, Y0, X0 + 200 * i + 100, Y0 + 100) for i in range(50)],
        crs="EPSG:2154",
    )
    buffer = io.BytesIO()
    frame.to_file(buffer, driver="GPKG", layer="zones")
    return buffer.getvalue()


def _truncated_gpkg(folder: Path) -> None:
    content = _gpkg_bytes()
    (folder / "truncated.gpkg").write_bytes(content[: len(content) // 2])


def _recursive_view_gpkg(
    name: str = "recursive_view.gpkg", view: str = "big"
) -> Callable[[Path], None]:
    """A GeoPackage whose only layer, ``view``, is a view of a recursive CTE of 10^9 rows."""

    def make(folder: Path) -> None:
        path = folder / name
        path.write_bytes(_gpkg_bytes())
        with sqlite3.connect(path) as conn:
            conn.execute(
                f"CREATE VIEW {view} AS WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL "
                "SELECT n + 1 FROM c LIMIT 1000000000) SELECT n AS fid, 'Z' || n AS zone_id, "
                "'Z' || n AS site_id, 'Zone' AS name, 'Zone' AS site_nom, "
                "(SELECT geom FROM zones LIMIT 1) AS geom FROM c"
            )
            for table in ("gpkg_contents", "gpkg_geometry_columns"):
                conn.execute(
                    f"UPDATE {table} SET table_name = ? WHERE table_name = 'zones'", (view,)
                )
            conn.execute("DELETE FROM gpkg_ogr_contents")

    return make


def _zipped_recursive_view(folder: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _recursive_view_gpkg("zones.gpkg")(Path(tmp))
        with zipfile.ZipFile(folder / "zipped_view.zip", "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(Path(tmp) / "zones.gpkg", "zones.gpkg")


#: A local (engineering) CRS: metres on a plane tied to no place on Earth.
_LOCAL_CS: Final = 'LOCAL_CS["site plan",UNIT["metre",1]]'


def _local_cs_gpkg(folder: Path) -> None:
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame(
        {"zone_id": ["Z1"], "name": ["Zone 1"]}, geometry=[shapely.box(0, 0, 100, 100)]
    )
    frame.set_crs(_LOCAL_CS).to_file(folder / "local_cs.gpkg")


def _wkt_zones(name: str, vertex: str) -> Callable[[Path], None]:
    square = f"{X0:.0f} {Y0:.0f}, {X0 + 100:.0f} {Y0:.0f}, {X0 + 100:.0f} {Y0 + 100:.0f}"
    return _text(
        name,
        f"zone_id;name;wkt\nZ1;Zone 1;POLYGON (({square}, {X0:.0f} {Y0:.0f}))\n"
        f"Z2;Zone 2;POLYGON (({square}, {vertex}, {X0:.0f} {Y0:.0f}))\n",
    )


def _sqlite_not_gpkg(folder: Path) -> None:
    path = folder / "plain_sqlite.gpkg"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE zones (zone_id TEXT, name TEXT)")
        conn.execute("INSERT INTO zones VALUES ('Z1', 'Zone 1')")


def _geotiff(
    name: str,
    data: np.ndarray[Any, Any],
    *,
    crs: str | None = "EPSG:2154",
    x: float = X0,
    y: float = Y0 + 1000,
    nodata: float | None = None,
) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        import rasterio
        from affine import Affine

        bands = data if data.ndim == 3 else data[np.newaxis]
        profile: dict[str, Any] = {
            "driver": "GTiff",
            "width": bands.shape[2],
            "height": bands.shape[1],
            "count": bands.shape[0],
            "dtype": str(bands.dtype),
            "transform": Affine(50, 0, x, 0, -50, y),
        }
        if crs is not None:
            profile["crs"] = crs
        if nodata is not None:
            profile["nodata"] = nodata
        with rasterio.open(folder / name, "w", **profile) as dst:
            dst.write(bands)

    return make


def _sparse_geotiff(folder: Path) -> None:
    # 30,000 x 30,000 float32 pixels (3.6 GB once read) in about 30 kB: a tiled, deflated
    # GeoTIFF whose only written tile is the first one (GDAL leaves the others sparse).
    import rasterio
    from affine import Affine
    from rasterio.windows import Window

    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": 30_000,
        "height": 30_000,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:2154",
        "transform": Affine(10, 0, X0, 0, -10, Y0 + 300_000),
        "nodata": float("nan"),
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "deflate",
        "sparse_ok": True,
    }
    with rasterio.open(folder / "sparse.tif", "w", **profile) as dst:
        dst.write(np.full((512, 512), 50.0, dtype=np.float32), 1, window=Window(0, 0, 512, 512))


def _zip_bomb(folder: Path) -> None:
    # 400 MB of zeros in one member: about 400 kB once deflated (a ratio of 1000).
    with zipfile.ZipFile(folder / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zones.geojson", json.dumps(_valid_zones()))
        with archive.open("padding.geojson", "w", force_zip64=True) as member:
            chunk = b" " * (1 << 20)
            for _ in range(400):
                member.write(chunk)


def _lying_zip(folder: Path) -> None:
    # A zone GeoJSON followed by 200 MB of spaces, deflated to about 200 kB, whose local header
    # and central directory both claim the member expands to 1,000 bytes (ratio 0.005).
    path = folder / "lying.zip"
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("zones.geojson", "w", force_zip64=False) as member,
    ):
        member.write(json.dumps(_valid_zones()).encode())
        chunk = b" " * (1 << 20)
        for _ in range(200):
            member.write(chunk)
    content = bytearray(path.read_bytes())
    local = content.index(b"PK\x03\x04")
    central = content.index(b"PK\x01\x02")
    struct.pack_into("<I", content, local + 22, 1000)
    struct.pack_into("<I", content, central + 24, 1000)
    # Streamed members carry their sizes in a data descriptor after the data: patch it too.
    descriptor = content.find(b"PK\x07\x08", local)
    if 0 <= descriptor < central:
        struct.pack_into("<I", content, descriptor + 12, 1000)
    path.write_bytes(bytes(content))


def _osm_gzip_bomb(folder: Path) -> None:
    # An OSM extract whose root element holds 300 MB of spaces, deflated to about 300 kB:
    # well-formed XML the parser would read to the end.
    with gzip.open(folder / "roads.osm.gz", "wb", compresslevel=9) as handle:
        handle.write(b'<?xml version="1.0"?><osm version="0.6">')
        chunk = b" " * (1 << 20)
        for _ in range(300):
            handle.write(chunk)
        handle.write(b"</osm>")


def _gzip_bomb(folder: Path) -> None:
    # An ARCEP pair whose building table is one row then 300 MB of line breaks, deflated to
    # about 300 kB (a ratio of 1000); the eligibility table is honest.
    base = (
        "imb_id;imb_x;imb_y;imb_code;imb_code_insee;imb_nbr_logloc\n"
        "IMB/13001/X/0001;606401.79;5392948.30;IMB/13001/X/0001;13001;12\n"
    )
    with gzip.open(folder / "base_imb_13.csv.gz", "wb", compresslevel=9) as handle:
        handle.write(base.encode())
        chunk = b"\n" * (1 << 20)
        for _ in range(300):
            handle.write(chunk)
    actuel = (
        "imb_id;code_operateur;code_techno;classe_debit_descendant\n"
        "IMB/13001/X/0001;FRTE;FO;THD1G\n"
    )
    (folder / "actuel_13.csv.gz").write_bytes(gzip.compress(actuel.encode()))


def _many_members(folder: Path) -> None:
    with zipfile.ZipFile(folder / "many_members.zip", "w", zipfile.ZIP_STORED) as archive:
        for i in range(20_000):
            archive.writestr(f"f{i}.txt", b"")


def _shapefile_without_prj(folder: Path) -> None:
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame(
        {"zone_id": ["Z1", "Z2"], "name": ["Zone 1", "Zone 2"]},
        geometry=[
            shapely.box(X0, Y0, X0 + 100, Y0 + 100),
            shapely.box(X0 + 200, Y0, X0 + 300, Y0 + 100),
        ],
        crs=None,
    )
    work = folder / "_shp"
    work.mkdir()
    frame.to_file(work / "zones.shp")
    with zipfile.ZipFile(folder / "shapefile_without_prj.zip", "w") as archive:
        for part in sorted(work.iterdir()):
            if part.suffix != ".prj":
                archive.write(part, part.name)
    for part in work.iterdir():
        part.unlink()
    work.rmdir()


def _zip_slip(folder: Path) -> None:
    with zipfile.ZipFile(folder / "zip_slip.zip", "w") as archive:
        archive.writestr("../../../../tmp/geo-service-escaped.geojson", json.dumps(_valid_zones()))


def _wide_csv(folder: Path) -> None:
    header = ";".join(f"c{i}" for i in range(1_000_000))
    (folder / "wide.csv").write_text(f"zone_id;name;wkt;{header}\nZ1;Zone;POINT (1 2);\n")


def _one_line_csv(folder: Path) -> None:
    with (folder / "one_line.csv").open("w") as out:
        out.write("premises_id;locaux;down_class;lon;lat\n")
        out.write("p1;1;THD30;5.4;43.3;" + "x" * 30_000_000)


def _million_vertices(folder: Path) -> None:
    angles = np.linspace(0, 2 * np.pi, 1_000_000, endpoint=False)
    xs = X0 + 500 + 400 * np.cos(angles)
    ys = Y0 + 500 + 400 * np.sin(angles)
    ring = ",".join(f"[{x:.3f},{y:.3f}]" for x, y in zip(xs, ys, strict=True))
    first = f"[{xs[0]:.3f},{ys[0]:.3f}]"
    text = (
        '{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":'
        '"urn:ogc:def:crs:EPSG::2154"}},"features":[{"type":"Feature","properties":'
        '{"zone_id":"Z1","name":"Zone ronde"},"geometry":{"type":"Polygon","coordinates":[['
        f"{ring},{first}]]}}}}]}}"
    )
    (folder / "million_vertices.geojson").write_text(text)


def _deeply_nested(folder: Path) -> None:
    depth = 100_000
    nested = "[" * depth + "]" * depth
    text = (
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        f'{{"zone_id":"Z1","name":"Zone","deep":{nested}}},"geometry":null}}]}}'
    )
    (folder / "deeply_nested.geojson").write_text(text)


def _parquet_garbage(folder: Path) -> None:
    (folder / "garbage.parquet").write_bytes(b"PAR1" + bytes(range(256)) * 10 + b"PAR1")


def _binary_garbage(folder: Path) -> None:
    rng = np.random.default_rng(9)
    (folder / "garbage.geojson").write_bytes(rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes())


def _fake_tiff(folder: Path) -> None:
    # A TIFF header that promises an image directory beyond the end of the file.
    (folder / "fake.tif").write_bytes(b"II*\x00" + struct.pack("<I", 1 << 30) + b"\x00" * 64)


def _premises_csv(rows: list[str]) -> str:
    return "premises_id;locaux;down_class;lon;lat\n" + "\n".join(rows) + "\n"


def _land_csv(rows: list[str]) -> str:
    return "plot_id;available;area_ha;lon;lat\n" + "\n".join(rows) + "\n"


# -- the corpus -----------------------------------------------------------------------------

_WGS84: Final = "urn:ogc:def:crs:OGC:1.3:CRS84"

CASES: Final[tuple[Case, ...]] = (
    Case(
        "zero-byte file",
        "zones",
        ("empty.geojson",),
        _bytes("empty.geojson", b""),
        "refused",
        r"empty\.geojson: .*(empty|cannot be read)",
        "a GeoJSON file of 0 bytes",
    ),
    Case(
        "empty collection",
        "zones",
        ("no_features.geojson",),
        _json("no_features.geojson", _collection([])),
        "refused",
        r"no_features\.geojson: .*(empty|no feature)",
        "a FeatureCollection without features",
    ),
    Case(
        "GeoPackage layer that is a recursive view",
        "zones",
        ("recursive_view.gpkg",),
        _recursive_view_gpkg(),
        "refused",
        r"recursive_view\.gpkg: layer big \(a view\) is computed by a query",
        "a 100 kB GeoPackage whose only layer is a view of a recursive CTE of 10^9 rows",
    ),
    Case(
        "zipped GeoPackage whose layer is a recursive view",
        "zones",
        ("zipped_view.zip",),
        _zipped_recursive_view,
        "refused",
        r"zipped_view\.zip \(zones\.gpkg\): layer big \(a view\) is computed by a query",
        "the same view in a zip (GDAL would read it in place)",
    ),
    Case(
        "CNIG GeoPackage whose site_eco layer is a recursive view",
        "zones",
        ("site_eco_view.gpkg",),
        _recursive_view_gpkg("site_eco_view.gpkg", "site_eco"),
        "refused",
        r"site_eco_view\.gpkg: layer site_eco \(a view\) is computed by a query",
        "the CNIG SITE-ECO reader looks for its layer before reading: refused first",
        format="cnig-site-eco",
    ),
    Case(
        "absurd plot area",
        "land",
        ("huge_plot.csv",),
        _text("huge_plot.csv", _land_csv(["T1;oui;1,5;5,40;43,30", "T2;oui;1e12;5,41;43,31"])),
        "refused",
        r"huge_plot\.csv: column 'area_ha': surfaces up to 1,000,000,000,000 ha in row 2; "
        r"expected at most 20,000 ha per plot",
        "a point plot of 10^12 ha (more than the Earth)",
        format="generic-land",
    ),
    Case(
        "ten million and one rows",
        "zones",
        ("ten_million_rows.csv",),
        _bytes("ten_million_rows.csv", b"zone_id;name;wkt\n" + b"x\n" * 10_000_001),
        "refused",
        r"ten_million_rows\.csv: 10,000,001 features \(from its lines\); expected at most "
        r"10,000,000 \(GEO_SERVICE_MAX_FEATURES\)",
        "20 MB of rows of one field: more rows than the feature bound, counted before parsing",
    ),
    Case(
        "second of two files without names",
        "zones",
        ("named_zones.csv", "unnamed_zones.csv"),
        _two_zone_files,
        "repaired",
        r"unnamed_zones\.csv: 1 zone\(s\) without a name labelled",
        "two zone files, the second without a name column",
        format="vector-zones",
        crs="EPSG:2154",
    ),
    Case(
        "mixed separators, BOM and CRLF",
        "land",
        ("mixed_separators.csv",),
        _bytes(
            "mixed_separators.csv",
            "\ufeffplot_id;available;area_ha;lon;lat\r\n".encode()
            + "".join(
                f"T{i},oui,1.5,5.{40 + i},43.30\r\n"
                if i % 3 == 1
                else f"T{i};oui;1,5;5,{40 + i};43,30\r\n"
                for i in range(20)
            ).encode(),
        ),
        "refused",
        r"mixed_separators\.csv: rows 2, 5, 8, 11, 14 and 2 more \(35% of the rows\) are "
        r"separated by ',' where the header uses ';'",
        "a BOM, CRLF and 7 lines of 20 written with ',' under a ';' header (they would be "
        "dropped as 'no geometry')",
        format="generic-land",
    ),
    Case(
        "duplicate column names",
        "zones",
        ("duplicate_columns.csv",),
        _text(
            "duplicate_columns.csv",
            "zone_id,name,locaux,locaux,wkt\n"
            'Z1,Zone 1,3,4,"POLYGON ((890000 6250000, 890100 6250000, 890100 6250100, '
            '890000 6250000))"\n',
        ),
        "refused",
        r"duplicate_columns\.csv: columns 3 'locaux' and 4 'locaux' have the same name",
        "a CSV whose header names the column locaux twice",
        crs="EPSG:2154",
    ),
    Case(
        "zone id with a slash",
        "zones",
        ("slash_id.geojson",),
        _json(
            "slash_id.geojson",
            _collection(
                [_feature({"zone_id": "ZA/1", "name": "Zone 1"}, _polygon(_square(X0, Y0)))]
            ),
        ),
        "refused",
        r"slash_id\.geojson: column 'zone_id': '/' in 'ZA/1' in row",
        "a zone whose id contains '/', which no per-zone URL could reach",
    ),
    Case(
        "truncated GeoPackage",
        "zones",
        ("truncated.gpkg",),
        _truncated_gpkg,
        "refused",
        r"truncated\.gpkg: ",
        "the first half of a valid GeoPackage",
    ),
    Case(
        "SQLite that is not a GeoPackage",
        "zones",
        ("plain_sqlite.gpkg",),
        _sqlite_not_gpkg,
        "refused",
        r"plain_sqlite\.gpkg: ",
        "an SQLite database without GeoPackage tables",
    ),
    Case(
        "binary garbage named .geojson",
        "zones",
        ("garbage.geojson",),
        _binary_garbage,
        "refused",
        r"garbage\.geojson: ",
        "50 kB of random bytes with a .geojson extension",
    ),
    Case(
        "unterminated JSON",
        "zones",
        ("unterminated.geojson",),
        _text("unterminated.geojson", json.dumps(_valid_zones())[:-40]),
        "refused",
        r"unterminated\.geojson: ",
        "a GeoJSON document cut before its end",
    ),
    Case(
        "deeply nested JSON",
        "zones",
        ("deeply_nested.geojson",),
        _deeply_nested,
        "refused",
        r"deeply_nested\.geojson: ",
        "a property nested 100,000 arrays deep",
    ),
    Case(
        "null geometries only",
        "zones",
        ("null_geometries.geojson",),
        _json(
            "null_geometries.geojson",
            _collection([_feature({"zone_id": f"Z{i}", "name": "Zone"}, None) for i in range(3)]),
        ),
        "refused",
        r"null_geometries\.geojson: .*geometr",
        "three zones whose geometry is null",
    ),
    Case(
        "some null geometries",
        "zones",
        ("some_null.geojson",),
        _json(
            "some_null.geojson",
            _collection([_zone(0), _feature({"zone_id": "Z9", "name": "Zone 9"}, None), _zone(1)]),
        ),
        "repaired",
        r"skipped: no geometry",
        "one zone of three without geometry (skipped, reported)",
    ),
    Case(
        "mixed geometry types",
        "zones",
        ("mixed.geojson",),
        _json(
            "mixed.geojson",
            _collection(
                [
                    _zone(0),
                    _feature(
                        {"zone_id": "P", "name": "Point"},
                        {"type": "Point", "coordinates": [X0, Y0]},
                    ),
                    _feature(
                        {"zone_id": "L", "name": "Line"},
                        {"type": "LineString", "coordinates": [[X0, Y0], [X0 + 10, Y0 + 10]]},
                    ),
                ]
            ),
        ),
        "refused",
        r"mixed\.geojson: .*(LineString|Point).*expected",
        "zones mixing a polygon, a point and a line",
    ),
    Case(
        "GeometryCollection",
        "zones",
        ("collection_geometry.geojson",),
        _json(
            "collection_geometry.geojson",
            _collection(
                [
                    _feature(
                        {"zone_id": "G", "name": "Collection"},
                        {"type": "GeometryCollection", "geometries": [_polygon(_square(X0, Y0))]},
                    )
                ]
            ),
        ),
        "refused",
        r"collection_geometry\.geojson: .*GeometryCollection.*expected",
        "a zone whose geometry is a GeometryCollection",
    ),
    Case(
        "self-intersecting polygon",
        "zones",
        ("bowtie.geojson",),
        _json(
            "bowtie.geojson",
            _collection(
                [
                    _zone(0),
                    _feature(
                        {"zone_id": "BT", "name": "Noeud papillon"},
                        _polygon(
                            [
                                [X0, Y0 + 500],
                                [X0 + 100, Y0 + 600],
                                [X0 + 100, Y0 + 500],
                                [X0, Y0 + 600],
                                [X0, Y0 + 500],
                            ]
                        ),
                    ),
                ]
            ),
        ),
        "repaired",
        r"invalid zones polygon\(s\) repaired",
        "a bow-tie zone (repaired by make_valid, counted as repaired)",
    ),
    Case(
        "POLYGON ZM",
        "zones",
        ("zm_zones.csv",),
        _text(
            "zm_zones.csv",
            "zone_id;name;commune_insee;wkt\n"
            f"Z1;Zone 1;13001;POLYGON ZM (({X0} {Y0} 10 1, {X0 + 100} {Y0} 10 2, "
            f"{X0 + 100} {Y0 + 100} 10 3, {X0} {Y0 + 100} 10 4, {X0} {Y0} 10 1))\n"
            f"Z2;Zone 2;13001;POLYGON Z (({X0 + 200} {Y0} 5, {X0 + 300} {Y0} 5, "
            f"{X0 + 300} {Y0 + 100} 5, {X0 + 200} {Y0} 5))\n",
        ),
        "repaired",
        r"zm_zones\.csv: Z or M coordinates dropped in rows 1, 2",
        "a zone with heights and measures (POLYGON ZM), another with heights (repaired: 2-D)",
        format="generic-zones",
        crs="EPSG:2154",
    ),
    Case(
        "zero-area polygon",
        "zones",
        ("flat.geojson",),
        _json(
            "flat.geojson",
            _collection(
                [
                    _feature(
                        {"zone_id": "F", "name": "Plate"},
                        _polygon([[X0, Y0], [X0 + 100, Y0], [X0 + 200, Y0], [X0, Y0]]),
                    )
                ]
            ),
        ),
        "refused",
        r"flat\.geojson: ",
        "the only zone is a polygon without area",
    ),
    Case(
        "WGS84 labelled Lambert-93",
        "zones",
        ("degrees_as_l93.geojson",),
        _json(
            "degrees_as_l93.geojson",
            _collection(
                [_feature({"zone_id": "Z", "name": "Zone"}, _polygon(_square(LON0, LAT0, 0.01)))]
            ),
        ),
        "refused",
        r"degrees_as_l93\.geojson: .*look like degrees",
        "degrees (WGS84) in a file that declares EPSG:2154",
    ),
    Case(
        "Lambert-93 labelled WGS84",
        "zones",
        ("l93_as_degrees.geojson",),
        _json("l93_as_degrees.geojson", _collection([_zone(0)], crs=_WGS84)),
        "refused",
        r"l93_as_degrees\.geojson: .*(Lambert-93|outside)",
        "Lambert-93 metres in a file that declares WGS84",
    ),
    Case(
        "longitude and latitude swapped",
        "zones",
        ("swapped.geojson",),
        _json(
            "swapped.geojson",
            _collection(
                [
                    _feature(
                        {"zone_id": "Z", "name": "Zone"},
                        _polygon([[y, x] for x, y in _square(LON0, LAT0, 0.01)]),
                    )
                ],
                crs=_WGS84,
            ),
        ),
        "refused",
        r"swapped\.geojson: .*swapped",
        "WGS84 polygons written lat, lon",
    ),
    Case(
        "unknown CRS",
        "zones",
        ("unknown_crs.geojson",),
        _json("unknown_crs.geojson", _collection([_zone(0)], crs="EPSG:999999")),
        "refused",
        r"unknown_crs\.geojson: ",
        "a GeoJSON naming the CRS EPSG:999999",
    ),
    Case(
        "huge coordinates",
        "zones",
        ("huge_coordinates.geojson",),
        _json(
            "huge_coordinates.geojson",
            _collection(
                [_feature({"zone_id": "Z", "name": "Zone"}, _polygon(_square(1e300, 1e300, 1e299)))]
            ),
        ),
        "refused",
        r"huge_coordinates\.geojson: .*outside",
        "coordinates around 1e300",
    ),
    Case(
        "missing required column",
        "zones",
        ("no_name.geojson",),
        _json(
            "no_name.geojson",
            _collection([_feature({"zone_id": "Z1"}, _polygon(_square(X0, Y0)))]),
        ),
        "refused",
        r"no_name\.geojson: .*name",
        "zones without the name column (and no other text column to use)",
        format="generic-zones",
    ),
    Case(
        "duplicate ids",
        "zones",
        ("duplicates.geojson",),
        _json(
            "duplicates.geojson",
            _collection([_zone(0), {**_zone(1), "properties": {"zone_id": "Z0", "name": "Bis"}}]),
        ),
        "refused",
        r"duplicates\.geojson: .*duplicated",
        "two zones with the id Z0",
    ),
    Case(
        "empty ids",
        "zones",
        ("empty_ids.geojson",),
        _json(
            "empty_ids.geojson",
            _collection([{**_zone(0), "properties": {"zone_id": " ", "name": "Zone"}}]),
        ),
        "refused",
        r"empty_ids\.geojson: .*zone_id",
        "a zone whose id is blank",
        format="generic-zones",
    ),
    Case(
        "invalid INSEE code",
        "zones",
        ("bad_insee.geojson",),
        _json(
            "bad_insee.geojson",
            _collection(
                [
                    {
                        **_zone(0),
                        "properties": {"zone_id": "Z", "name": "Z", "commune_insee": "ABCDE"},
                    }
                ]
            ),
        ),
        "refused",
        r"bad_insee\.geojson: .*INSEE",
        "commune_insee 'ABCDE'",
        format="generic-zones",
    ),
    Case(
        "hostile strings in names",
        "zones",
        ("script_names.geojson",),
        _json(
            "script_names.geojson",
            _collection(
                [
                    {
                        **_zone(0),
                        "properties": {
                            "zone_id": "<b onmouseover=alert(1)>Z0",
                            "name": "<script>alert(1)</script>",
                        },
                    },
                    {
                        **_zone(1),
                        "properties": {"zone_id": "Z1", "name": '"><img src=x onerror=alert(1)>'},
                    },
                ]
            ),
        ),
        "repaired",
        r"",
        "markup in ids and names: stored as text, escaped wherever it is shown (ids hold no '/',"
        " refused since no per-zone URL could reach them)",
    ),
    Case(
        "non-UTF-8 CSV",
        "land",
        ("latin1.csv",),
        _bytes(
            "latin1.csv",
            "plot_id;available;area_ha;status;lon;lat\nT1;oui;1,5;réservé;5,40;43,30\n"
            "T2;non;2;occupé;5,41;43,31\n".encode("cp1252"),
        ),
        "repaired",
        r"",
        "a Windows-1252 CSV (accents): decoded as Windows-1252",
        format="generic-land",
    ),
    Case(
        "UTF-16 text",
        "premises",
        ("utf16.csv",),
        _text("utf16.csv", _premises_csv(["p1;1;THD30;5.4;43.3"]), encoding="utf-16"),
        "refused",
        r"utf16\.csv: ",
        "a UTF-16 CSV (NUL bytes everywhere)",
        format="generic-premises",
    ),
    Case(
        "header only",
        "premises",
        ("header_only.csv",),
        _text("header_only.csv", _premises_csv([])),
        "refused",
        r"header_only\.csv: .*empty",
        "a CSV with its header and no row",
        format="generic-premises",
    ),
    Case(
        "NaN coordinates",
        "premises",
        ("nan_coordinates.csv",),
        _text("nan_coordinates.csv", _premises_csv(["p1;1;THD30;nan;43.3", "p2;1;THD30;5.4;inf"])),
        "refused",
        r"nan_coordinates\.csv: .*not numbers",
        "lon 'nan' and lat 'inf'",
        format="generic-premises",
    ),
    Case(
        "huge locaux",
        "premises",
        ("huge_locaux.csv",),
        _text(
            "huge_locaux.csv", _premises_csv(["p1;1e308;THD30;5.4;43.3", "p2;1;THD30;5.41;43.3"])
        ),
        "refused",
        r"huge_locaux\.csv: .*locaux",
        "locaux = 1e308",
        format="generic-premises",
    ),
    Case(
        "infinite and NaN locaux",
        "premises",
        ("inf_locaux.csv",),
        _text("inf_locaux.csv", _premises_csv(["p1;inf;THD30;5.4;43.3", "p2;NaN;THD30;5.41;43.3"])),
        "refused",
        r"inf_locaux\.csv: .*locaux",
        "locaux = inf and NaN",
        format="generic-premises",
    ),
    Case(
        "negative and fractional locaux",
        "premises",
        ("negative_locaux.csv",),
        _text(
            "negative_locaux.csv", _premises_csv(["p1;-3;THD30;5.4;43.3", "p2;1.5;THD30;5.41;43.3"])
        ),
        "refused",
        r"negative_locaux\.csv: .*locaux",
        "locaux = -3 and 1.5",
        format="generic-premises",
    ),
    Case(
        "unknown speed class",
        "premises",
        ("bad_class.csv",),
        _text("bad_class.csv", _premises_csv(["p1;1;FAST;5.4;43.3"])),
        "refused",
        r"bad_class\.csv: .*ARCEP",
        "down_class 'FAST'",
        format="generic-premises",
    ),
    Case(
        "NaN and infinite areas",
        "land",
        ("nan_area.csv",),
        _text("nan_area.csv", _land_csv(["T1;oui;NaN;5.4;43.3", "T2;oui;inf;5.41;43.3"])),
        "refused",
        r"nan_area\.csv: .*area_ha",
        "point plots whose area_ha is NaN or inf",
        format="generic-land",
    ),
    Case(
        "polygon premises",
        "premises",
        ("polygon_premises.geojson",),
        _json(
            "polygon_premises.geojson",
            _collection(
                [
                    _feature(
                        {"premises_id": "p1", "locaux": 1, "down_class": "THD30"},
                        _polygon(_square(X0, Y0)),
                    )
                ]
            ),
        ),
        "refused",
        r"polygon_premises\.geojson: .*Polygon.*expected Point",
        "buildings given as polygons",
        format="generic-premises",
    ),
    Case(
        "a million columns",
        "zones",
        ("wide.csv",),
        _wide_csv,
        "refused",
        r"wide\.csv: .*(columns|header)",
        "a CSV header of 1,000,003 columns",
        format="generic-zones",
    ),
    Case(
        "one gigantic line",
        "premises",
        ("one_line.csv",),
        _one_line_csv,
        "refused",
        r"one_line\.csv: .*line",
        "a 30 MB line without a line break",
        format="generic-premises",
    ),
    Case(
        "a million vertices",
        "zones",
        ("million_vertices.geojson",),
        _million_vertices,
        "refused",
        r"million_vertices\.geojson: .*vertices",
        "one zone outlined by 1,000,000 vertices",
        format="generic-zones",
    ),
    Case(
        "zip bomb",
        "zones",
        ("bomb.zip",),
        _zip_bomb,
        "refused",
        r"bomb\.zip: .*expand",
        "a 400 kB zip that expands to 400 MB (ratio 1,000)",
    ),
    Case(
        "zip whose directory lies",
        "zones",
        ("lying.zip",),
        _lying_zip,
        "refused",
        r"lying\.zip: .*'zones\.geojson' expands beyond the 1,000 bytes its directory declares",
        "a 200 kB zip claiming 1 kB that inflates to 200 MB",
    ),
    Case(
        "gzip bomb",
        "premises",
        ("base_imb_13.csv.gz", "actuel_13.csv.gz"),
        _gzip_bomb,
        "refused",
        r"base_imb_13\.csv\.gz: .*expanded .*ratio",
        "an ARCEP building table of 300 kB that inflates to 300 MB (ratio 1,000)",
        format="arcep-mci-immeubles",
    ),
    Case(
        "gzipped OSM XML bomb",
        "road_network",
        ("roads.osm.gz",),
        _osm_gzip_bomb,
        "refused",
        r"roads\.osm\.gz: .*expanded .*ratio",
        "an OSM extract of 300 kB that inflates to 300 MB of spaces (ratio 1,000)",
    ),
    Case(
        "zip of 20,000 members",
        "zones",
        ("many_members.zip",),
        _many_members,
        "refused",
        r"many_members\.zip: .*files",
        "an archive of 20,000 empty files",
    ),
    Case(
        "zip slip",
        "zones",
        ("zip_slip.zip",),
        _zip_slip,
        "refused",
        r"zip_slip\.zip: .*(\.\.|path)",
        "an archive member named ../../../../tmp/…",
    ),
    Case(
        "Shapefile without .prj",
        "zones",
        ("shapefile_without_prj.zip",),
        _shapefile_without_prj,
        "refused",
        r"shapefile_without_prj\.zip: .*coordinate reference system",
        "a zipped Shapefile without its .prj (no CRS; give --crs)",
        format="generic-zones",
    ),
    Case(
        "wrong extension",
        "zones",
        ("zones.exe",),
        _json("zones.exe", _valid_zones()),
        "refused",
        r"zones\.exe: .*(expected|extension)",
        "a valid GeoJSON named .exe",
    ),
    Case(
        "garbage Parquet",
        "zones",
        ("garbage.parquet",),
        _parquet_garbage,
        "refused",
        r"garbage\.parquet: .*Parquet",
        "PAR1 magic around random bytes",
        format="generic-zones",
    ),
    Case(
        "NaN vertex",
        "zones",
        ("nan_vertex.csv",),
        _wkt_zones("nan_vertex.csv", f"nan {Y0 + 50:.0f}"),
        "refused",
        r"nan_vertex\.csv: coordinates that are not numbers \(NaN or infinite\) in row 2",
        "a WKT polygon with a NaN vertex (GEOS failed on it: 'internal error')",
        crs="EPSG:2154",
    ),
    Case(
        "infinite vertex",
        "zones",
        ("inf_vertex.csv",),
        _wkt_zones("inf_vertex.csv", f"inf {Y0 + 50:.0f}"),
        "refused",
        r"inf_vertex\.csv: coordinates that are not numbers \(NaN or infinite\) in row 2",
        "a WKT polygon with an infinite vertex (was reported outside France, with an example "
        "inside)",
        crs="EPSG:2154",
    ),
    Case(
        "local CRS GeoPackage",
        "zones",
        ("local_cs.gpkg",),
        _local_cs_gpkg,
        "refused",
        r"local_cs\.gpkg: its coordinate reference system 'site plan' cannot be converted",
        "zones in a LOCAL_CS (a site plan's metres)",
    ),
    Case(
        "local CRS GeoTIFF",
        "coverage",
        ("local_cs.tif",),
        _geotiff("local_cs.tif", np.full((4, 4), 50.0, dtype=np.float32), crs=_LOCAL_CS),
        "refused",
        r"local_cs\.tif: its coordinate reference system 'site plan' cannot be converted",
        "a raster in a LOCAL_CS (was an internal error)",
    ),
    Case(
        "GeoTIFF without CRS",
        "coverage",
        ("no_crs.tif",),
        _geotiff("no_crs.tif", np.full((4, 4), 50.0, dtype=np.float32), crs=None),
        "refused",
        r"no_crs\.tif: .*coordinate reference system",
        "a one-band GeoTIFF without CRS",
    ),
    Case(
        "GeoTIFF with NaN and infinity",
        "coverage",
        ("nan_inf.tif",),
        _geotiff(
            "nan_inf.tif",
            np.array([[np.nan, np.inf, 50.0], [-np.inf, 100.0, 30.0]], dtype=np.float32),
        ),
        "refused",
        r"nan_inf\.tif: .*infinite",
        "speeds of +inf and -inf beside NaN",
    ),
    Case(
        "GeoTIFF all nodata",
        "coverage",
        ("all_nodata.tif",),
        _geotiff("all_nodata.tif", np.full((3, 3), -1.0, dtype=np.float32), nodata=-1.0),
        "refused",
        r"all_nodata\.tif: .*nodata",
        "every pixel is nodata",
    ),
    Case(
        "GeoTIFF of three bands",
        "coverage",
        ("rgb.tif",),
        _geotiff("rgb.tif", np.zeros((3, 4, 4), dtype=np.uint8)),
        "refused",
        r"rgb\.tif: .*bands",
        "an RGB picture",
    ),
    Case(
        "GeoTIFF outside France",
        "coverage",
        ("elsewhere.tif",),
        _geotiff(
            "elsewhere.tif",
            np.full((3, 3), 50.0, dtype=np.float32),
            crs="EPSG:4326",
            x=100.0,
            y=10.0,
        ),
        "refused",
        r"elsewhere\.tif: .*outside",
        "a raster over Asia",
    ),
    Case(
        "sparse GeoTIFF of 900 million pixels",
        "coverage",
        ("sparse.tif",),
        _sparse_geotiff,
        "refused",
        r"sparse\.tif: 30,000 x 30,000 pixels .*at most 250,000,000 pixels",
        "a 30 kB GeoTIFF of 30,000 x 30,000 pixels (3.6 GB once read)",
    ),
    Case(
        "TIFF header only",
        "coverage",
        ("fake.tif",),
        _fake_tiff,
        "refused",
        r"fake\.tif: ",
        "a TIFF header pointing past the end of the file",
    ),
)


def write_corpus(folder: Path, cases: tuple[Case, ...] = CASES) -> None:
    """Write the files of ``cases`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for case in cases:
        case.make(folder)


if __name__ == "__main__":  # pragma: no cover - manual inspection
    write_corpus(Path(sys.argv[1]))
    for case in CASES:
        print(f"{case.outcome:9} {case.layer:9} {', '.join(case.files)}: {case.what}")
