"""Routes: OGC API - Features Part 1 (Core, GeoJSON, OpenAPI 3.0, HTML).

Landing page, conformance, collections and their items. Each collection's items route is
generated from its spec (:mod:`geo_service.api.collections`), so that its equality filters
are typed, documented query parameters. Items are served from memory
(:mod:`geo_service.api.features`) and written as JSON text directly.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from html import escape
from typing import Annotated, Any, Final, Literal

import anyio
import anyio.to_thread
import numpy as np
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from geo_service.api import html, labels
from geo_service.api.collections import COLLECTIONS, CollectionSpec, Property, collection_spec
from geo_service.api.deps import WorkspaceDep, get_workspace, is_synthetic, thread_limiter
from geo_service.api.errors import ERROR_RESPONSES, NOT_FOUND_RESPONSES
from geo_service.api.features import (
    FeatureIndex,
    Output,
    SerialisedPage,
    feature_index,
    sql_matches,
)
from geo_service.api.home import home_page
from geo_service.api.links import (
    GEOJSON,
    HTML,
    JSON,
    JSON_SCHEMA,
    OPENAPI,
    REL_CONFORMANCE,
    REL_DATA,
    REL_QUERYABLES,
    Link,
    base_url,
    current_url,
    feature_links,
    link,
    segment,
    self_and_alternate,
)
from geo_service.api.models import (
    AnyFeature,
    Collection,
    Collections,
    Conformance,
    LandingPage,
    Queryables,
    feature_models,
)
from geo_service.api.params import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    BBoxCrsQuery,
    BBoxQuery,
    CrsQuery,
    DatetimeQuery,
    FilterCrsQuery,
    FilterLangQuery,
    FilterQuery,
    FormatQuery,
    Interval,
    LimitQuery,
    OffsetQuery,
    OutputFormat,
    PropertiesQuery,
    SkipGeometryQuery,
    parse_bbox,
    parse_datetime,
    parse_properties,
    parse_sortby,
    reject_unknown_parameters,
    wants_html,
)
from geo_service.api.responses import GeoJSONResponse, SchemaResponse, dumps, json_response
from geo_service.api.tiles import CONFORMANCE as TILES_CONFORMANCE
from geo_service.api.tiles import REL_TILESETS
from geo_service.api.vintage_items import spec_at
from geo_service.catalog import descriptor
from geo_service.cql import CONFORMANCE as CQL2_CONFORMANCE
from geo_service.cql import GEOMETRY, parse_filter
from geo_service.crs import (
    CRS84,
    STORAGE,
    SupportedCrs,
    content_crs_header,
    crs_uris,
    parse_crs,
)
from geo_service.errors import NotFoundError
from geo_service.workspace import Workspace

TAG: Final = "OGC API - Features"
router = APIRouter(tags=[TAG], dependencies=[Depends(reject_unknown_parameters)])

CONFORMANCE_CLASSES: Final = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    *CQL2_CONFORMANCE,
    *TILES_CONFORMANCE,
)
GREGORIAN: Final = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"

_HTML_ALTERNATIVE: Final[dict[str, Any]] = {
    "content": {HTML: {"schema": {"type": "string"}}},
    "description": "The document (JSON), or an HTML page with f=html.",
}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- landing page and conformance ------------------------------------------------------------


@router.get(
    "/",
    summary="Landing page",
    response_model=LandingPage,
    responses={200: _HTML_ALTERNATIVE, **ERROR_RESPONSES},
)
def landing_page(request: Request, workspace: WorkspaceDep, f: FormatQuery = None) -> Response:
    """The service, its API definition, conformance classes and collections. A browser (HTML
    preferred, no `f`) gets the French home page for people; `f=html` the OGC landing page."""
    as_html = wants_html(request, f)
    if as_html and f is None:
        return home_page(request, workspace)
    base = base_url(request)
    links = [
        *self_and_alternate(request, as_html),
        link(f"{base}/openapi.json", "service-desc", OPENAPI, "The API definition (OpenAPI 3)"),
        link(f"{base}/docs", "service-doc", HTML, "The API documentation"),
        link(f"{base}/conformance", "conformance", JSON, "Conformance classes"),
        link(f"{base}/conformance", REL_CONFORMANCE, JSON, "Conformance classes"),
        link(f"{base}/collections", "data", JSON, "Collections"),
        link(f"{base}/collections", REL_DATA, JSON, "Collections"),
        link(
            f"{base}/tileMatrixSets",
            "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
            JSON,
            "Tile matrix sets",
        ),
        link(f"{base}/layers", "describedby", JSON, "Layer catalogue: sources and dates"),
        link(f"{base}/summary", "related", JSON, "Summary of the territory"),
    ]
    title = "geo-service"
    description = request.app.description
    synthetic = is_synthetic(workspace)
    if as_html:
        body = f"<p>{escape(description)}</p>{html.link_list(links)}"
        return html.page(title, body, base=base, synthetic=synthetic, links=links)
    document = {"title": title, "description": description, "synthetic": synthetic, "links": links}
    return json_response(document)


@router.get(
    "/conformance",
    summary="Conformance classes",
    response_model=Conformance,
    responses={200: _HTML_ALTERNATIVE, **ERROR_RESPONSES},
)
def conformance(request: Request, f: FormatQuery = None) -> Response:
    """The OGC API conformance classes this service implements."""
    if wants_html(request, f):
        items = "".join(f"<li>{escape(uri)}</li>" for uri in CONFORMANCE_CLASSES)
        return html.page(
            "Classes de conformité", f"<ul>{items}</ul>", base=base_url(request), synthetic=False
        )
    return json_response({"conformsTo": list(CONFORMANCE_CLASSES)})


# -- collections ----------------------------------------------------------------------------


def _available(workspace: Workspace) -> list[CollectionSpec]:
    return [spec for spec in COLLECTIONS.values() if workspace.store.has_layer(spec.layer)]


def _stored_spec(workspace: Workspace, collection_id: str) -> CollectionSpec:
    spec = collection_spec(collection_id)
    if not workspace.store.has_layer(spec.layer):
        raise NotFoundError(f"collection '{collection_id}' has no data in the store yet")
    return spec


def data_dates(workspace: Workspace, spec: CollectionSpec) -> tuple[date, date] | None:
    """First and last date of the data a collection is made of (results: their inputs)."""
    meta = workspace.meta(spec.layer)
    if meta.kind == "results":
        dates = [m.data_date for m in workspace.results().run.inputs.values() if m.data_date]
    else:
        dates = [meta.data_date] if meta.data_date else []
    return (min(dates), max(dates)) if dates else None


def _collection(request: Request, workspace: Workspace, spec: CollectionSpec) -> dict[str, Any]:
    base = base_url(request)
    meta = workspace.meta(spec.layer)
    about = descriptor(spec.layer, workspace.settings.layers_dir)
    index = feature_index(workspace, spec)
    url = f"{base}/collections/{spec.id}"
    extent: dict[str, Any] = {}
    if index.bbox is not None:
        extent["spatial"] = {"bbox": [list(index.bbox)], "crs": CRS84.uri}
    dates = data_dates(workspace, spec)
    if dates is not None:
        start, end = (f"{d.isoformat()}T00:00:00Z" for d in dates)
        extent["temporal"] = {"interval": [[start, end]], "trs": GREGORIAN}
    return {
        "id": spec.id,
        "title": about.title,
        "description": about.description,
        "links": [
            link(url, "self", JSON, "This collection"),
            link(f"{url}?f=html", "alternate", HTML, "This collection as HTML"),
            link(f"{url}/items", "items", GEOJSON, "Features (GeoJSON)"),
            link(f"{url}/items?f=html", "items", HTML, "Features (HTML)"),
            link(f"{url}/queryables", REL_QUERYABLES, JSON_SCHEMA, "Queryable properties"),
            link(f"{url}/queryables", "queryables", JSON_SCHEMA, "Queryable properties"),
            link(f"{url}/tiles", REL_TILESETS, JSON, "Vector tiles (Mapbox Vector Tiles)"),
        ],
        "extent": extent or None,
        "itemType": "feature",
        "crs": crs_uris(),
        "storageCrs": STORAGE.uri,
        "synthetic": meta.synthetic,
        "source": meta.source,
        "licence": meta.licence,
        "attribution": meta.attribution,
        "data_date": meta.data_date.isoformat() if meta.data_date else None,
        "feature_count": index.size,
    }


def _collection_html(document: dict[str, Any]) -> str:
    extent = document.get("extent") or {}
    bbox = (extent.get("spatial") or {}).get("bbox", [None])[0]
    pairs = [
        ("id", document["id"]),
        ("entités", document["feature_count"]),
        ("source", document["source"]),
        ("licence", document["licence"]),
        ("attribution", document["attribution"]),
        ("date des données", document["data_date"]),
        ("emprise (lon/lat)", None if bbox is None else ", ".join(f"{v:.5f}" for v in bbox)),
    ]
    return (
        f"<p>{escape(document['description'])}</p>{html.key_values(pairs)}"
        f"{html.link_list(document['links'])}"
    )


@router.get(
    "/collections",
    summary="Collections",
    response_model=Collections,
    responses={200: _HTML_ALTERNATIVE, **ERROR_RESPONSES},
)
def collections(request: Request, workspace: WorkspaceDep, f: FormatQuery = None) -> Response:
    """The feature collections: zones, communes, EPCIs, land and premises (those stored)."""
    as_html = wants_html(request, f)
    documents = [_collection(request, workspace, spec) for spec in _available(workspace)]
    links = self_and_alternate(request, as_html)
    if as_html:
        rows = "".join(
            f"<h2>{html.anchor(d['links'][1]['href'], d['title'])}</h2>"
            f"<p>{escape(d['description'])}</p>"
            for d in documents
        )
        return html.page(
            "Collections",
            rows,
            base=base_url(request),
            synthetic=is_synthetic(workspace),
            links=links,
        )
    return json_response({"links": links, "collections": documents})


CollectionIdPath = Annotated[
    str, Path(alias="collectionId", description=f"Collection: {', '.join(COLLECTIONS)}.")
]
FeatureIdPath = Annotated[
    str,
    Path(
        alias="featureId",
        description=(
            "Feature id: zone_id (zones), commune_insee (communes), epci_siren (epcis), "
            "plot_id (land), premises_id (premises)."
        ),
    ),
]


@router.get(
    "/collections/{collectionId}",
    summary="A collection",
    response_model=Collection,
    responses={200: _HTML_ALTERNATIVE, **NOT_FOUND_RESPONSES},
)
def collection(
    request: Request,
    workspace: WorkspaceDep,
    collection_id: CollectionIdPath,
    f: FormatQuery = None,
) -> Response:
    """A collection: title, description, extent, data source and dates, links to its items."""
    spec = _stored_spec(workspace, collection_id)
    document = _collection(request, workspace, spec)
    if wants_html(request, f):
        return html.page(
            document["title"],
            _collection_html(document),
            base=base_url(request),
            synthetic=document["synthetic"],
        )
    return json_response(document)


@router.get(
    "/collections/{collectionId}/queryables",
    summary="Queryable properties of a collection",
    response_model=Queryables,
    response_class=SchemaResponse,
    responses={200: _HTML_ALTERNATIVE, **NOT_FOUND_RESPONSES},
)
def queryables(
    request: Request,
    workspace: WorkspaceDep,
    collection_id: CollectionIdPath,
    f: FormatQuery = None,
) -> Response:
    """JSON Schema of the properties usable in `filter` (CQL2) on the collection's items; those
    documented as query parameters of the items are also usable as equality filters."""
    spec = _stored_spec(workspace, collection_id)
    title = descriptor(spec.layer, workspace.settings.layers_dir).title
    index = feature_index(workspace, spec)
    properties = {
        GEOMETRY: {
            "title": GEOMETRY,
            "description": "The feature's geometry, for the spatial functions of `filter`.",
            "format": "geometry-any",
        },
        **{p.name: _json_schema(p) for p in index.properties_served if p.name in index.filterable},
    }
    if wants_html(request, f):
        rows = [
            (name, f"{s.get('type', 'géométrie')} — {s['description']}")
            for name, s in properties.items()
        ]
        body = f"<p>Propriétés utilisables dans les filtres.</p>{html.key_values(rows)}"
        return html.page(
            f"{title} : propriétés interrogeables",
            body,
            base=base_url(request),
            synthetic=workspace.meta(spec.layer).synthetic,
            links=self_and_alternate(request, True, JSON_SCHEMA),
        )
    document = {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": f"{base_url(request)}/collections/{spec.id}/queryables",
        "type": "object",
        "title": title,
        "properties": properties,
        "additionalProperties": False,
        # The draft's list, which GDAL's OAPIF driver reads to send whole filters to the server
        # (an unknown keyword to JSON Schema, which ignores it).
        "queryables": [{"id": name} for name in properties if name != GEOMETRY],
    }
    return json_response(document, JSON_SCHEMA)


def _json_schema(prop: Property) -> dict[str, Any]:
    schema: dict[str, Any] = {"title": prop.name, "description": prop.description}
    schema["type"] = prop.type
    if prop.enum is not None:
        schema["enum"] = list(prop.enum)
    return schema


# -- items ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemsQuery:
    """The parameters common to every collection's items."""

    bbox: str | None
    limit: int
    offset: int
    datetime: str | None
    f: OutputFormat | None
    crs: SupportedCrs = CRS84
    bbox_crs: SupportedCrs = CRS84
    filter: str | None = None
    filter_lang: str | None = None
    filter_crs: SupportedCrs = CRS84
    properties: str | None = None
    skip_geometry: bool = False


async def items_query(
    bbox: BBoxQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
    datetime: DatetimeQuery = None,
    f: FormatQuery = None,
    crs: CrsQuery = None,
    bbox_crs: BBoxCrsQuery = None,
    filter: FilterQuery = None,
    filter_lang: FilterLangQuery = None,
    filter_crs: FilterCrsQuery = None,
    properties: PropertiesQuery = None,
    skip_geometry: SkipGeometryQuery = False,
) -> ItemsQuery:
    """The common parameters of ``/collections/{id}/items`` (``limit`` capped at the maximum)."""
    return ItemsQuery(
        bbox=bbox,
        limit=min(limit, MAX_LIMIT),
        offset=offset,
        datetime=datetime,
        f=f,
        crs=parse_crs(crs, "crs"),
        bbox_crs=parse_crs(bbox_crs, "bbox-crs"),
        filter=filter,
        filter_lang=filter_lang,
        filter_crs=parse_crs(filter_crs, "filter-crs"),
        properties=properties,
        skip_geometry=skip_geometry,
    )


def _in_time(workspace: Workspace, spec: CollectionSpec, interval: Interval) -> bool:
    dates = data_dates(workspace, spec)
    if dates is None:
        return False
    start = datetime.combine(dates[0], time.min, tzinfo=UTC)
    end = datetime.combine(dates[1], time.max, tzinfo=UTC)
    return interval.overlaps(start, end)


def items_response(
    request: Request,
    spec: CollectionSpec,
    query: ItemsQuery,
    sortby: str | None,
    filters: dict[str, Any],
) -> Response:
    """A page of a collection's features matching the query, as GeoJSON or HTML.

    A GeoJSON page is serialised once per query and store version (the query string and the
    base URL determine it whole, links included) and then served from
    :attr:`FeatureIndex.pages`, stamped with the time of each request.
    """
    workspace = get_workspace(request)
    if (at := spec_at(workspace, spec, query.datetime)) is not None:
        spec, query = at, replace(query, datetime=None)  # served as of the vintage chosen
    index = feature_index(workspace, spec)
    if wants_html(request, query.f):
        matched, page, links = _items_page(request, spec, index, query, sortby, filters, True)
        synthetic = workspace.meta(spec.layer).synthetic
        return _items_html(request, spec, index, page, matched, query.offset, links, synthetic)
    key = (request.url.query, base_url(request))
    serialised = index.pages.get(
        key, lambda: _geojson_page(request, spec, index, query, sortby, filters)
    )
    headers = content_crs_header(query.crs)
    return Response(serialised.body(_now()), media_type=GEOJSON, headers=headers)


def _items_page(
    request: Request,
    spec: CollectionSpec,
    index: FeatureIndex,
    query: ItemsQuery,
    sortby: str | None,
    filters: dict[str, Any],
    as_html: bool,
) -> tuple[int, Any, list[Link]]:
    """Features matched, positions of the page, and the page's links."""
    workspace = get_workspace(request)
    boxes = parse_bbox(query.bbox, query.bbox_crs)
    interval = parse_datetime(query.datetime)
    keys = parse_sortby(sortby, spec.sortables)
    condition = parse_filter(query.filter, query.filter_lang, query.filter_crs, index.filterable)
    in_sql = sql_matches(workspace, spec, index, condition)
    if in_sql is not None:
        positions = index.select(boxes, filters, keys, matched=in_sql)
    else:
        positions = index.select(boxes, filters, keys, condition)
    if interval is not None and not _in_time(workspace, spec, interval):
        positions = np.empty(0, dtype=np.intp)
    matched = index.size if positions is None else len(positions)
    stop = min(query.offset + query.limit, matched)
    page = (
        np.arange(query.offset, stop, dtype=np.intp)
        if positions is None
        else positions[query.offset : stop]
    )
    links = self_and_alternate(request, as_html, GEOJSON)
    if stop < matched:
        links.append(link(current_url(request, offset=stop), "next", _type(as_html), "Next page"))
    if query.offset > 0:
        previous = max(0, min(query.offset, matched) - query.limit)
        links.append(
            link(current_url(request, offset=previous), "prev", _type(as_html), "Previous page")
        )
    base = base_url(request)
    links.append(link(f"{base}/collections/{spec.id}", "collection", JSON, "The collection"))
    return matched, page, links


def _geojson_page(
    request: Request,
    spec: CollectionSpec,
    index: FeatureIndex,
    query: ItemsQuery,
    sortby: str | None,
    filters: dict[str, Any],
) -> SerialisedPage:
    matched, page, links = _items_page(request, spec, index, query, sortby, filters, False)
    synthetic = get_workspace(request).meta(spec.layer).synthetic
    output = Output(
        crs=query.crs,
        properties=parse_properties(query.properties, list(index.columns)),
        skip_geometry=query.skip_geometry,
    )
    features = index.features_json(page, base_url(request), output=output)
    head = dumps(
        {
            "type": "FeatureCollection",
            "numberMatched": matched,
            "numberReturned": len(features),
            "limit": query.limit,
        }
    )
    tail = f',"synthetic":{dumps(synthetic)},"links":{dumps(links)},"features":['
    tail += ",".join(features) + "]}"
    return SerialisedPage(f'{head[:-1]},"timeStamp":'.encode(), tail.encode())


def _type(as_html: bool) -> str:
    return HTML if as_html else GEOJSON


def _items_html(
    request: Request,
    spec: CollectionSpec,
    index: FeatureIndex,
    page: Any,
    matched: int,
    offset: int,
    links: list[Link],
    synthetic: bool,
) -> Response:
    base = base_url(request)
    served = index.properties_served
    columns = labels.ordered(
        [p.name for p in served if p.type != "array" and p.name != spec.id_column]
    )
    # the id after the leading columns, the link on the name when there is one
    leading = sum(1 for c in columns if c in labels.LEADING)
    columns.insert(leading, spec.id_column)
    link = labels.label(spec.layer, "name" if "name" in columns else spec.id_column)
    ids = index.ids[page].tolist()
    rows = [
        (
            f"{base}/collections/{spec.id}/items/{segment(fid)}?f=html",
            labels.readable(spec.layer, {**props, spec.id_column: fid}, columns),
        )
        for fid, props in zip(ids, index.properties(page), strict=True)
    ]
    columns = [labels.label(spec.layer, c) for c in columns]
    first = offset + 1 if ids else 0
    paging = " ".join(
        html.anchor(x["href"], "Page suivante" if x["rel"] == "next" else "Page précédente")
        for x in links
        if x["rel"] in ("next", "prev")
    )
    body = (
        f"<p>{matched} entités correspondent ; {first} à {offset + len(ids)} affichées.</p>"
        f"<p>{paging}</p>{html.feature_table(rows, columns, link)}<p>{paging}</p>"
    )
    title = descriptor(spec.layer, get_workspace(request).settings.layers_dir).title
    return html.page(title, body, base=base, synthetic=synthetic, links=links)


def _filter_annotation(prop: Property) -> Any:
    python_type: Any = {"string": str, "integer": int, "boolean": bool, "number": float}[prop.type]
    if prop.enum is not None:
        python_type = Literal.__getitem__(prop.enum)
    description = f"Only the features whose `{prop.name}` equals this value. {prop.description}"
    return Annotated[python_type | None, Query(description=description)]


def _items_endpoint(spec: CollectionSpec) -> Callable[..., Awaitable[Response]]:
    async def endpoint(
        request: Request, query: ItemsQuery, sortby: str | None, **filters: Any
    ) -> Response:
        chosen = {name: value for name, value in filters.items() if value is not None}
        work = functools.partial(items_response, request, spec, query, sortby, chosen)
        return await anyio.to_thread.run_sync(work, limiter=thread_limiter(request, spec))

    sortby_doc = (
        "Sort order: comma-separated properties, each optionally prefixed by `-` for "
        f"descending order (nulls last); one of {', '.join(spec.sortables)}."
    )
    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter("request", keyword, annotation=Request),
        inspect.Parameter("query", keyword, annotation=Annotated[ItemsQuery, Depends(items_query)]),
        inspect.Parameter(
            "sortby",
            keyword,
            default=None,
            annotation=Annotated[str | None, Query(description=sortby_doc)],
        ),
        *(
            inspect.Parameter(p.name, keyword, default=None, annotation=_filter_annotation(p))
            for p in spec.queryables
        ),
    ]
    endpoint.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    endpoint.__name__ = f"{spec.id}_items"
    return endpoint


for _spec in COLLECTIONS.values():
    router.add_api_route(
        f"/collections/{_spec.id}/items",
        _items_endpoint(_spec),
        methods=["GET"],
        summary=f"Features of the collection '{_spec.id}'",
        description=(
            f"A page of the `{_spec.id}` features (GeoJSON, CRS84, coordinates rounded to 6 "
            "decimals) matching every given filter, with `numberMatched`, `numberReturned` and "
            f"`next`/`prev` links. The feature id is `{_spec.id_column}`."
        ),
        response_model=feature_models(_spec)[1],
        response_class=GeoJSONResponse,
        responses={200: _HTML_ALTERNATIVE, **ERROR_RESPONSES},
    )


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    summary="A feature",
    response_model=AnyFeature,
    response_class=GeoJSONResponse,
    responses={200: _HTML_ALTERNATIVE, **NOT_FOUND_RESPONSES},
)
def item(
    request: Request,
    workspace: WorkspaceDep,
    collection_id: CollectionIdPath,
    feature_id: FeatureIdPath,
    f: FormatQuery = None,
    crs: CrsQuery = None,
) -> Response:
    """One feature of a collection, with links to its collection (zones: to map and opinion)."""
    target = parse_crs(crs, "crs")
    spec = _stored_spec(workspace, collection_id)
    index = feature_index(workspace, spec)
    position = np.array([index.position(feature_id)], dtype=np.intp)
    as_html = wants_html(request, f)
    base = base_url(request)
    links = [
        *self_and_alternate(request, as_html, GEOJSON),
        link(f"{base}/collections/{spec.id}", "collection", JSON, "The collection"),
        *(x for x in feature_links(spec.id, base, feature_id) if x["rel"] != "self"),
    ]
    synthetic = workspace.meta(spec.layer).synthetic
    if as_html:
        properties = index.properties(position)[0]
        shown = labels.readable(spec.layer, properties, labels.ordered(list(properties)))
        body = html.key_values(shown.items()) + html.link_list(links, french=True)
        name = properties.get("name")
        title = f"{name} ({feature_id})" if name else f"{spec.id} {feature_id}"
        return html.page(title, body, base=base, synthetic=synthetic)
    text = index.features_json(position, base, [links], Output(crs=target))[0]
    return Response(text.encode(), media_type=GEOJSON, headers=content_crs_header(target))


#: Routes that must not refuse unknown parameters before saying the collection does not exist.
fallback_router = APIRouter(tags=[TAG])


@fallback_router.get("/collections/{collectionId}/items", include_in_schema=False)
async def unknown_collection_items(collection_id: CollectionIdPath) -> Response:
    """Items of a collection that does not exist: 404."""
    collection_spec(collection_id)
    raise NotFoundError(f"collection '{collection_id}' has no items route")  # pragma: no cover
