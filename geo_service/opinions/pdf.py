"""An opinion as PDF: its HTML rendering laid out by WeasyPrint (no browser).

The stylesheet is parsed and the font configuration made once per thread
(:func:`load_renderer`), not for every document: worker processes forked once it is loaded
(``opinion --all-flagged``) inherit them. Once per thread, not per process: the API renders
opinions on several threads at once, and a font configuration (a Pango font map) is not to be
used by two threads at a time.
"""

from __future__ import annotations

import atexit
import threading
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


class _PerThread(threading.local):
    renderer: _Renderer | None = None


_LOADED = _PerThread()


@atexit.register
def _release() -> None:
    """Free the main thread's renderer while Python and WeasyPrint's libraries still stand:
    left to the interpreter's teardown, its font map was freed after them and the process
    ended in a segmentation fault (exit status 139) once two PDFs had been rendered."""
    _LOADED.renderer = None


def _renderer() -> _Renderer:
    if _LOADED.renderer is None:
        _LOADED.renderer = _new_renderer()
    return _LOADED.renderer


def _new_renderer() -> _Renderer:
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
