"""Routes: OGC API - Tiles, Mapbox Vector Tiles of every collection on WebMercatorQuad.

``/tileMatrixSets`` describes the one tile matrix set served; each collection has its tileset
(``/collections/{id}/tiles/WebMercatorQuad``), its TileJSON (for MapLibre and QGIS's vector
tile layer) and its tiles, made on request from the in-memory features and cached
(:mod:`geo_service.api.vector_tiles`).
"""

from __future__ import annotations

from typing import Annotated, Any, Final

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Request, Response

from geo_service.api.collections import CollectionSpec, collection_spec
from geo_service.api.deps import WorkspaceDep, get_workspace, thread_limiter
from geo_service.api.errors import ERROR_RESPONSES, NOT_FOUND_RESPONSES
from geo_service.api.features import feature_index
from geo_service.api.links import JSON, base_url, link
from geo_service.api.params import reject_unknown_parameters
from geo_service.api.responses import json_response
from geo_service.api.vector_tiles import MAX_ZOOM, MVT, ORIGIN, TileMaker
from geo_service.catalog import descriptor
from geo_service.crs import CRS84, WEB_MERCATOR
from geo_service.errors import NotFoundError
from geo_service.workspace import CacheKey, CacheKind, Workspace

TAG: Final = "OGC API - Tiles"
router = APIRouter(tags=[TAG], dependencies=[Depends(reject_unknown_parameters)])

TMS_ID: Final = "WebMercatorQuad"
TMS_URI: Final = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
REL_TILING_SCHEME: Final = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
REL_TILESETS: Final = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
CONFORMANCE: Final = (
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
)
#: Scale denominator and cell size (m) of zoom 0 (256-pixel tiles, 0.28 mm pixels).
_SCALE_0: Final = 559082264.0287178
_CELL_0: Final = 2 * ORIGIN / 256

CollectionIdPath = Annotated[str, Path(alias="collectionId", description="Collection id.")]
TmsPath = Annotated[str, Path(alias="tileMatrixSetId", description="Tile matrix set.")]


def _tms(tms_id: str) -> None:
    if tms_id != TMS_ID:
        raise NotFoundError(f"no tile matrix set '{tms_id}'; this service serves {TMS_ID}")


def _spec(workspace: Workspace, collection_id: str) -> CollectionSpec:
    spec = collection_spec(collection_id)
    if not workspace.store.has_layer(spec.layer):
        raise NotFoundError(f"collection '{collection_id}' has no data in the store yet")
    return spec


@router.get("/tileMatrixSets", summary="Tile matrix sets", responses=ERROR_RESPONSES)
def tile_matrix_sets(request: Request) -> Response:
    """The tile matrix sets of the tiles: WebMercatorQuad."""
    href = f"{base_url(request)}/tileMatrixSets/{TMS_ID}"
    entry = {
        "id": TMS_ID,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "links": [link(href, "self", JSON, "WebMercatorQuad")],
    }
    return json_response({"tileMatrixSets": [entry]})


@router.get(
    "/tileMatrixSets/{tileMatrixSetId}",
    summary="A tile matrix set",
    responses=NOT_FOUND_RESPONSES,
)
def tile_matrix_set(tms_id: TmsPath) -> Response:
    """The definition of WebMercatorQuad (OGC Two Dimensional Tile Matrix Set 2.0)."""
    _tms(tms_id)
    matrices = [
        {
            "id": str(z),
            "scaleDenominator": _SCALE_0 / 2**z,
            "cellSize": _CELL_0 / 2**z,
            "cornerOfOrigin": "topLeft",
            "pointOfOrigin": [-ORIGIN, ORIGIN],
            "tileWidth": 256,
            "tileHeight": 256,
            "matrixWidth": 2**z,
            "matrixHeight": 2**z,
        }
        for z in range(MAX_ZOOM + 1)
    ]
    document = {
        "id": TMS_ID,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": WEB_MERCATOR.uri,
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
    }
    return json_response(document)


def _tileset_links(request: Request, spec: CollectionSpec) -> tuple[str, list[dict[str, Any]]]:
    base = base_url(request)
    url = f"{base}/collections/{spec.id}/tiles/{TMS_ID}"
    template = f"{url}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"
    links: list[dict[str, Any]] = [
        link(url, "self", JSON, f"Tuiles vectorielles : {spec.id}"),
        link(f"{base}/tileMatrixSets/{TMS_ID}", REL_TILING_SCHEME, JSON, TMS_ID),
        {**link(template, "item", MVT, "Mapbox Vector Tile"), "templated": True},
        link(f"{url}/tilejson", "describedby", JSON, "TileJSON"),
        link(f"{base}/collections/{spec.id}", "collection", JSON, "The collection"),
    ]
    return url, links


def _tileset_header(request: Request, workspace: Workspace, spec: CollectionSpec) -> dict[str, Any]:
    """What a tileset's description and its entry in the list share."""
    _, links = _tileset_links(request, spec)
    return {
        "title": descriptor(spec.layer, workspace.settings.layers_dir).title,
        "dataType": "vector",
        "crs": WEB_MERCATOR.uri,
        "tileMatrixSetURI": TMS_URI,
        "links": links,
    }


@router.get(
    "/collections/{collectionId}/tiles",
    summary="Tilesets of a collection",
    responses=NOT_FOUND_RESPONSES,
)
def tilesets(
    request: Request, workspace: WorkspaceDep, collection_id: CollectionIdPath
) -> Response:
    """The vector tilesets of a collection (one: WebMercatorQuad, Mapbox Vector Tiles)."""
    spec = _spec(workspace, collection_id)
    entry = _tileset_header(request, workspace, spec)
    self_link = link(f"{base_url(request)}/collections/{spec.id}/tiles", "self", JSON, "Tilesets")
    return json_response({"links": [self_link], "tilesets": [entry]})


@router.get(
    "/collections/{collectionId}/tiles/{tileMatrixSetId}",
    summary="A tileset of a collection",
    responses=NOT_FOUND_RESPONSES,
)
def tileset(
    request: Request, workspace: WorkspaceDep, collection_id: CollectionIdPath, tms_id: TmsPath
) -> Response:
    """The tileset's description: tile matrix set, its layer and the tile URL template."""
    _tms(tms_id)
    spec = _spec(workspace, collection_id)
    index = feature_index(workspace, spec)
    document: dict[str, Any] = {
        **_tileset_header(request, workspace, spec),
        "layers": [
            {
                "id": spec.id,
                "dataType": "vector",
                "minTileMatrix": "0",
                "maxTileMatrix": str(MAX_ZOOM),
                "propertiesSchema": {
                    "type": "object",
                    "properties": {"id": {"type": "string"}} | _field_types(workspace, spec),
                },
            }
        ],
    }
    if index.bbox is not None:
        document["boundingBox"] = {
            "lowerLeft": list(index.bbox[:2]),
            "upperRight": list(index.bbox[2:]),
            "crs": CRS84.uri,
        }
    return json_response(document)


@router.get(
    "/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson",
    summary="TileJSON of a collection's vector tiles",
    responses=NOT_FOUND_RESPONSES,
)
def tilejson(
    request: Request, workspace: WorkspaceDep, collection_id: CollectionIdPath, tms_id: TmsPath
) -> Response:
    """TileJSON 3.0 (MapLibre, QGIS): the tile URL template, zooms, bounds and fields."""
    _tms(tms_id)
    spec = _spec(workspace, collection_id)
    url, _ = _tileset_links(request, spec)
    index = feature_index(workspace, spec)
    meta = workspace.meta(spec.layer)
    document: dict[str, Any] = {
        "tilejson": "3.0.0",
        "name": descriptor(spec.layer, workspace.settings.layers_dir).title,
        "tiles": [f"{url}/{{z}}/{{y}}/{{x}}"],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "attribution": meta.attribution,
        "vector_layers": [
            {
                "id": spec.id,
                "fields": {"id": "String"}
                | {k: v["type"] for k, v in _field_types(workspace, spec).items()},
            }
        ],
    }
    if index.bbox is not None:
        document["bounds"] = list(index.bbox)
    return json_response(document)


def _field_types(workspace: Workspace, spec: CollectionSpec) -> dict[str, dict[str, str]]:
    index = feature_index(workspace, spec)
    return {name: {"type": kind} for name, kind in index.filterable.items()}


def tile_maker(workspace: Workspace, spec: CollectionSpec) -> TileMaker:
    """The tile maker of a collection, rebuilt with its store layer."""

    def build() -> TileMaker:
        index = feature_index(workspace, spec)
        return TileMaker(index, spec.id, tuple(index.filterable))

    return workspace.cached(CacheKey(CacheKind.API, f"tiles:{spec.id}"), spec.layer, build)


@router.get(
    "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    summary="A vector tile of a collection",
    response_class=Response,
    responses={
        200: {"content": {MVT: {"schema": {"type": "string", "format": "binary"}}}},
        **NOT_FOUND_RESPONSES,
    },
)
async def tile(
    request: Request,
    collection_id: CollectionIdPath,
    tms_id: TmsPath,
    tile_matrix: Annotated[int, Path(alias="tileMatrix", description="Zoom level (0 to 22).")],
    tile_row: Annotated[int, Path(alias="tileRow", description="Row, from the top.")],
    tile_col: Annotated[int, Path(alias="tileCol", description="Column, from the left.")],
) -> Response:
    """A Mapbox Vector Tile of the collection's features: one layer named after the
    collection, each feature with its id and properties (missing values left out)."""
    _tms(tms_id)
    workspace = get_workspace(request)
    spec = _spec(workspace, collection_id)

    def work() -> bytes:
        return tile_maker(workspace, spec).tile(tile_matrix, tile_row, tile_col)

    data = await anyio.to_thread.run_sync(work, limiter=thread_limiter(request, spec))
    return Response(data, media_type=MVT)
