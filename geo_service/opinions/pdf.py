"""An opinion as PDF: its HTML rendering laid out by WeasyPrint (no browser).

The stylesheet is parsed and the font configuration made once per process
(:func:`load_renderer`), not for every document: worker processes forked once it is loaded
(``opinion --all-flagged``) share them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from geo_service.errors import GeoServiceError
from geo_service.opinions.htmldoc import STYLESHEET, render_html
from geo_service.opinions.model import Opinion

#: Debian packages WeasyPrint needs (pango for the layout, a font for the text).
SYSTEM_PACKAGES = ("libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core")


@dataclass(frozen=True)
class _Renderer:
    """WeasyPrint's ``HTML`` class, the opinions' stylesheet parsed and the font
    configuration (fontconfig set up) they are laid out with."""

    html: Any
    stylesheet: Any
    fonts: Any


def load_renderer() -> None:
    """Load WeasyPrint, parse the stylesheet and set up the fonts now (before forking the
    processes that render); GeoServiceError when WeasyPrint or its libraries are missing."""
    _renderer()


@functools.cache
def _renderer() -> _Renderer:
    try:
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration
    except (ImportError, OSError) as exc:
        raise GeoServiceError(
            f"PDF rendering needs WeasyPrint and its system libraries ({exc}); on Debian: "
            f"apt-get install {' '.join(SYSTEM_PACKAGES)}"
        ) from None
    fonts = FontConfiguration()
    stylesheet = weasyprint.CSS(string=STYLESHEET, font_config=fonts)
    return _Renderer(weasyprint.HTML, stylesheet, fonts)


def render_pdf(opinion: Opinion, map_png: bytes | None = None) -> bytes:
    """The PDF of an opinion: its HTML rendering (:func:`~geo_service.opinions.htmldoc.
    render_html`, ``map_png`` its static map) laid out with the opinions' stylesheet.

    Raises
    ------
    GeoServiceError
        When WeasyPrint or its system libraries (pango) are missing.
    """
    renderer = _renderer()
    html = render_html(opinion, map_png, inline_stylesheet=False)
    pdf: bytes = renderer.html(string=html).write_pdf(
        stylesheets=[renderer.stylesheet], font_config=renderer.fonts
    )
    return pdf
