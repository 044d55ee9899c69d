"""Links between resources: absolute URLs from the request, media types, link relations."""

from __future__ import annotations

from typing import Final
from urllib.parse import quote, urlencode

from fastapi import Request

GEOJSON: Final = "application/geo+json"
JSON: Final = "application/json"
HTML: Final = "text/html"
OPENAPI: Final = "application/vnd.oai.openapi+json;version=3.0"
JSON_SCHEMA: Final = "application/schema+json"

REL_CONFORMANCE: Final = "http://www.opengis.net/def/rel/ogc/1.0/conformance"
REL_DATA: Final = "http://www.opengis.net/def/rel/ogc/1.0/data"
REL_QUERYABLES: Final = "http://www.opengis.net/def/rel/ogc/1.0/queryables"

Link = dict[str, str]


def base_url(request: Request) -> str:
    """The service's base URL as the client sees it, without the trailing slash."""
    return str(request.base_url).rstrip("/")


def link(href: str, rel: str, media_type: str, title: str) -> Link:
    """One link object (OGC API / RFC 8288 fields)."""
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def segment(value: str) -> str:
    """``value`` escaped as one URL path segment."""
    return quote(value, safe="")


def current_url(request: Request, **changes: str | int | None) -> str:
    """The request's URL with query parameters replaced (None removes one)."""
    params = {key: value for key, value in request.query_params.items() if key not in changes}
    params.update({key: str(value) for key, value in changes.items() if value is not None})
    query = urlencode(params)
    url = f"{base_url(request)}{request.url.path}"
    return f"{url}?{query}" if query else url


def self_and_alternate(request: Request, html: bool, json_type: str = JSON) -> list[Link]:
    """``self`` and ``alternate`` links of a resource served as JSON and HTML."""
    as_json = link(current_url(request, f="json"), "self", json_type, "This document as JSON")
    as_html = link(current_url(request, f="html"), "self", HTML, "This document as HTML")
    if html:
        as_json["rel"] = "alternate"
    else:
        as_html["rel"] = "alternate"
    return [as_json, as_html] if not html else [as_html, as_json]


def zone_links(base: str, zone_id: str, *, details: bool = False) -> list[Link]:
    """The links of a zone: its feature, its details, its map and its opinion.

    ``details`` makes the details document ``self`` (and the feature ``alternate``).
    """
    zone = segment(zone_id)
    feature = link(f"{base}/collections/zones/items/{zone}", "self", GEOJSON, "Zone (GeoJSON)")
    about = link(f"{base}/zones/{zone}", "describedby", JSON, "Zone details")
    if details:
        feature["rel"], about["rel"] = "alternate", "self"
    return [
        feature,
        about,
        link(f"{base}/maps/zones/{zone}", "related", HTML, "Carte de la zone"),
        link(f"{base}/zones/{zone}/opinion", "related", JSON, "Avis sur la zone"),
    ]


def commune_links(base: str, insee: str, *, details: bool = False) -> list[Link]:
    """The links of a commune: its feature, its summary and its opinion (``details``: as for
    :func:`zone_links`)."""
    commune = segment(insee)
    feature = link(
        f"{base}/collections/communes/items/{commune}", "self", GEOJSON, "Commune (GeoJSON)"
    )
    about = link(f"{base}/communes/{commune}", "describedby", JSON, "Commune summary")
    if details:
        feature["rel"], about["rel"] = "alternate", "self"
    return [
        feature,
        about,
        link(f"{base}/communes/{commune}/opinion", "related", JSON, "Avis sur la commune"),
    ]


def feature_links(collection_id: str, base: str, feature_id: str) -> list[Link]:
    """The links of one feature (zones and communes also link to their details and opinion)."""
    if collection_id == "zones":
        return zone_links(base, feature_id)
    if collection_id == "communes":
        return commune_links(base, feature_id)
    href = f"{base}/collections/{collection_id}/items/{segment(feature_id)}"
    return [link(href, "self", GEOJSON, "This feature")]
