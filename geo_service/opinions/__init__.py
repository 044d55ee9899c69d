"""Planning opinions ("avis"): structured drafts built from the analysis, and their renderings.

Builders are pure (analysis results in, :class:`Opinion` out): :func:`zone_opinion`,
:func:`commune_opinion` and :func:`territory_synthesis`. Renderings: JSON (the model), HTML
(self-contained, printable, with a static map), PDF (WeasyPrint) and Markdown.
"""

from geo_service.opinions.common import OpinionOptions
from geo_service.opinions.commune import commune_opinion
from geo_service.opinions.model import KeyFigure, Opinion, OpinionKind, PriorityLevels
from geo_service.opinions.territory import territory_synthesis
from geo_service.opinions.zone import zone_opinion

__all__ = [
    "KeyFigure",
    "Opinion",
    "OpinionKind",
    "OpinionOptions",
    "PriorityLevels",
    "commune_opinion",
    "territory_synthesis",
    "zone_opinion",
]
