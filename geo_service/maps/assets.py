"""The JavaScript, CSS and images of the maps, served from installed packages, never a CDN.

Assets are grouped in *bundles*, each a directory of an installed package: Leaflet and
Leaflet.markercluster from their XStatic packages, geo-service's own map code in
``geo_service/maps/static``, and Swagger UI (for the API documentation page) from
``swagger-ui-py``. A map names the assets it needs (``"leaflet/leaflet.js"``) and
an :class:`AssetMode` turns them into HTML: links under a URL prefix (the web app's
``/assets``, or a folder written beside an exported file), or the files' contents inlined for a
self-contained document (CSS images become ``data:`` URIs).
"""

from __future__ import annotations

import base64
import re
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Final

import swagger_ui
import xstatic.pkg.leaflet
import xstatic.pkg.leaflet_markercluster

from geo_service.errors import NotFoundError

#: Directory of each bundle.
BUNDLES: Final[dict[str, Path]] = {
    "leaflet": Path(xstatic.pkg.leaflet.BASE_DIR),
    "markercluster": Path(xstatic.pkg.leaflet_markercluster.BASE_DIR),
    "geo-service": Path(__file__).resolve().parent / "static",
    # Swagger UI of the API documentation page (/docs), from the swagger-ui-py package.
    "swagger-ui": Path(swagger_ui.__file__).resolve().parent / "static",
}
#: File types an asset may have, with their media types.
MEDIA_TYPES: Final[dict[str, str]] = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".map": "application/json",
}

LEAFLET_CSS: Final = "leaflet/leaflet.css"
LEAFLET_JS: Final = "leaflet/leaflet.js"
CLUSTER_CSS: Final = "markercluster/MarkerCluster.css"
CLUSTER_JS: Final = "markercluster/leaflet.markercluster.js"
MAP_CSS: Final = "geo-service/geo-service-map.css"
MAP_JS: Final = "geo-service/geo-service-map.js"
#: Every asset a map page may link to.
ALL_ASSETS: Final = (LEAFLET_CSS, LEAFLET_JS, CLUSTER_CSS, CLUSTER_JS, MAP_CSS, MAP_JS)

_CSS_URL: Final = re.compile(r"url\(\s*(['\"]?)([^)'\"]+)\1\s*\)")
_SOURCE_MAP: Final = re.compile(r"^\s*//# sourceMappingURL=\S+\s*$", re.MULTILINE)
_SCRIPT_END: Final = re.compile(r"</(script)", re.IGNORECASE)
_STYLE_END: Final = re.compile(r"</(style)", re.IGNORECASE)


def asset_file(name: str) -> Path:
    """The file of asset ``name`` (``bundle/path``); NotFoundError for anything else.

    Only files of a known type inside a bundle's directory are assets: no ``..``, no
    absolute path, no hidden file.
    """
    bundle, _, rest = name.partition("/")
    path = PurePosixPath(rest)
    root = BUNDLES.get(bundle)
    if (
        root is None
        or not rest
        or path.is_absolute()
        or any(part in ("", ".", "..") or part.startswith(".") for part in path.parts)
        or path.suffix not in MEDIA_TYPES
    ):
        raise NotFoundError(f"no asset '{name}'")
    file = root.joinpath(*path.parts)
    try:
        resolved = file.resolve(strict=True)
    except OSError:
        raise NotFoundError(f"no asset '{name}'") from None
    if not resolved.is_file() or not resolved.is_relative_to(root.resolve()):
        raise NotFoundError(f"no asset '{name}'")
    return resolved


def media_type(name: str) -> str:
    """The media type of asset ``name``."""
    return MEDIA_TYPES.get(PurePosixPath(name).suffix, "application/octet-stream")


@dataclass(frozen=True)
class AssetMode:
    """How a document refers to its assets.

    ``prefix`` is the URL (absolute path or relative) under which assets are linked, e.g.
    ``/assets`` in the web app; ``prefix=None`` inlines them (self-contained document).
    """

    prefix: str | None = "/assets"

    @classmethod
    def inline(cls) -> AssetMode:
        """Assets inlined in the document."""
        return cls(prefix=None)

    @property
    def inlined(self) -> bool:
        """Whether assets are inlined."""
        return self.prefix is None

    def url(self, name: str) -> str:
        """The URL of asset ``name`` (linked mode)."""
        if self.prefix is None:
            raise ValueError("inlined assets have no URL")
        return f"{self.prefix.rstrip('/')}/{name}"

    def tags(self, css: list[str], js: list[str]) -> str:
        """``<link>``/``<style>`` then ``<script>`` elements for the named assets, in order."""
        if self.prefix is None:
            return "\n".join([*(_inline_css(n) for n in css), *(_inline_js(n) for n in js)])
        links = [f'<link rel="stylesheet" href="{self.url(n)}">' for n in css]
        scripts = [f'<script src="{self.url(n)}"></script>' for n in js]
        return "\n".join(links + scripts)


def copy_assets(names: list[str], folder: Path) -> None:
    """Copy assets ``names`` and the images their CSS uses into ``folder`` (as ``bundle/path``)."""
    for name in names:
        _copy(name, folder)
        if name.endswith(".css"):
            for image in _css_images(name):
                _copy(image, folder)


def _copy(name: str, folder: Path) -> None:
    target = folder.joinpath(*PurePosixPath(name).parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(asset_file(name), target)


def _css_images(name: str) -> list[str]:
    """Assets referenced by ``url(...)`` in CSS asset ``name``, relative to it."""
    text = asset_file(name).read_text(encoding="utf-8")
    found = (_css_asset(name, match.group(2)) for match in _CSS_URL.finditer(text))
    return [image for image in found if image is not None]


def _css_asset(name: str, ref: str) -> str | None:
    """The asset that ``url(ref)`` in CSS asset ``name`` points to; None for ``data:`` URIs,
    fragments and absolute URLs."""
    if ref.startswith(("data:", "#")) or ":" in ref:
        return None
    return str(PurePosixPath(name).parent / ref)


@cache
def _inline_css(name: str) -> str:
    text = asset_file(name).read_text(encoding="utf-8")

    def to_data_uri(match: re.Match[str]) -> str:
        image = _css_asset(name, match.group(2))
        if image is None:
            return match.group(0)
        payload = base64.b64encode(asset_file(image).read_bytes()).decode("ascii")
        return f'url("data:{media_type(image)};base64,{payload}")'

    text = _STYLE_END.sub(r"<\\/\1", _CSS_URL.sub(to_data_uri, text))
    return f"<style>/* {name} */\n{text}\n</style>"


@cache
def _inline_js(name: str) -> str:
    text = _SOURCE_MAP.sub("", asset_file(name).read_text(encoding="utf-8"))
    text = _SCRIPT_END.sub(r"<\\/\1", text)
    return f"<script>/* {name} */\n{text}\n</script>"
