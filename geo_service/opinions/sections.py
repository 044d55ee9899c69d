"""The numbered sections of an opinion, declared once for every rendering (HTML/PDF, Markdown).

« Desserte et accessibilité » is present only when the opinion speaks of transport; the sections
after it are numbered on from it, so no rendering types a section number.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from geo_service.opinions.access import ACCESS_TITLE
from geo_service.opinions.model import Opinion


class Section(StrEnum):
    """An opinion's numbered sections, in their order."""

    FINDINGS = "findings"
    ASSESSMENT = "assessment"
    ACCESS = "access"
    RECOMMENDATION = "recommendation"
    LIMITS = "limits"
    SOURCES = "sources"


TITLES: Final[dict[Section, str]] = {
    Section.FINDINGS: "Constats",
    Section.ASSESSMENT: "Appréciation",
    Section.ACCESS: ACCESS_TITLE,
    Section.RECOMMENDATION: "Recommandation",
    Section.LIMITS: "Limites des données",
    Section.SOURCES: "Sources",
}


def numbered_titles(opinion: Opinion) -> dict[Section, str]:
    """The numbered title of each section ``opinion`` has (« 3. Recommandation »…)."""
    present = [s for s in Section if s is not Section.ACCESS or opinion.access]
    return {section: f"{n}. {TITLES[section]}" for n, section in enumerate(present, start=1)}
