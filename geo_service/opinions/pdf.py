"""An opinion as PDF: its HTML rendering laid out by WeasyPrint (no browser)."""

from __future__ import annotations

from geo_service.errors import GeoServiceError

#: Debian packages WeasyPrint needs (pango for the layout, a font for the text).
SYSTEM_PACKAGES = ("libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core")


def render_pdf(html: str) -> bytes:
    """The PDF of an HTML opinion (see :func:`geo_service.opinions.htmldoc.render_html`).

    Raises
    ------
    GeoServiceError
        When WeasyPrint or its system libraries (pango) are missing.
    """
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise GeoServiceError(
            f"PDF rendering needs WeasyPrint and its system libraries ({exc}); on Debian: "
            f"apt-get install {' '.join(SYSTEM_PACKAGES)}"
        ) from None
    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf
