"""What the zone, commune and territory builders share: options, figures, sources, links, limits."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import ValidationError

from geo_service.analysis import AnalysisResult, RunInfo
from geo_service.analysis.fields import (
    COMMUNE_FIELDS,
    Figure,
    Format,
    ResultField,
    format_value,
    named,
    summary_figures,
    zone_field,
)
from geo_service.analysis.status import effective_share, thd30_lower_bound
from geo_service.errors import ParameterError
from geo_service.formatting import fr_date, plural
from geo_service.opinions.model import (
    DataSource,
    KeyFigure,
    Links,
    PriorityLevels,
    ZoneLine,
)
from geo_service.opinions.wording import (
    deciding_share_text,
    of_place,
    priority_text,
    quoted,
    status_count,
    status_label,
)
from geo_service.settings import Settings

#: Input layers in the order the sources are cited.
_LAYER_ORDER: Final = ("zones", "premises", "coverage", "land", "communes")
#: Opinion formats offered as links.
FORMATS: Final = ("json", "html", "pdf", "md")
#: Prefix of the key figures over the flagged zones only (``zones[flagged].locaux``).
FLAGGED: Final = "zones[flagged]"
#: The zone figures that commune and territory opinions also sum over the flagged zones.
_FLAGGED_SUMS: Final = ("locaux", "available_land_ha")
#: Smallest intersection (m²) for two zones to count as overlapping.
_OVERLAP_M2: Final = 1.0


@dataclass(frozen=True)
class OpinionOptions:
    """How opinions are written: public base URL for links, level cut-offs, date of the opinion.

    ``base_url`` empty: the opinion carries no links (no address would be true for its reader).
    ``on`` is the date printed on the opinion (today when None).
    """

    base_url: str = ""
    levels: PriorityLevels = field(default_factory=PriorityLevels)
    on: date | None = None

    @classmethod
    def from_settings(cls, settings: Settings, on: date | None = None) -> OpinionOptions:
        """Options from the settings (``public_url``, ``opinion_level*_priority``)."""
        try:
            levels = PriorityLevels(
                level1=settings.opinion_level1_priority, level2=settings.opinion_level2_priority
            )
        except ValidationError:
            raise ParameterError(
                "GEO_SERVICE_OPINION_LEVEL2_PRIORITY",
                f"{settings.opinion_level2_priority} exceeds GEO_SERVICE_OPINION_LEVEL1_PRIORITY "
                f"({settings.opinion_level1_priority}); level 2 starts below level 1",
            ) from None
        return cls(base_url=settings.public_url, levels=levels, on=on)

    @property
    def root(self) -> str:
        """The base URL without its trailing slash."""
        return self.base_url.rstrip("/")

    @property
    def today(self) -> date:
        """The date of the opinion."""
        return self.on or date.today()


def value(row: Mapping[str, Any], column: str) -> float | None:
    """A numeric value of a result row, None where missing (NaN, NA, absent)."""
    raw = row.get(column)
    if raw is None:
        return None
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def integer(row: Mapping[str, Any], column: str) -> int | None:
    """An integer value of a result row (counts, ranks), None where missing."""
    number = value(row, column)
    return None if number is None else round(number)


def text(row: Mapping[str, Any], column: str) -> str | None:
    """A text value of a result row, None where missing or empty."""
    raw = row.get(column)
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return None
    out = str(raw).strip()
    return out or None


def field_figure(
    field: ResultField,
    row: Mapping[str, Any],
    *,
    column: str | None = None,
    label: str | None = None,
) -> KeyFigure:
    """The key figure of result field ``field`` in ``row``: label, unit and writing from the
    registry of result fields (``—`` when unknown, never 0). ``column`` is where ``row`` holds
    the value when not under the field's name (a sum over the flagged zones, for instance),
    ``label`` the label then."""
    number = value(row, column or field.name)
    if field.dtype == "integer" and number is not None:
        number = round(number)
    if field.format == Format.PRIORITY and number is not None:
        shown = priority_text(number)
    else:
        shown = format_value(field, number)
    return KeyFigure(
        label=label or field.label,
        value=number,
        unit="%" if field.format == Format.SHARE else field.unit or "",
        text=shown,
        column=column or field.name,
    )


def summary_key_figures(row: Mapping[str, Any], sums: Mapping[str, float | int]) -> list[KeyFigure]:
    """The key figures of a commune's or the territory's opinion: its figures computed from
    the zones (shares only where known), then those of its flagged zones (``sums``)."""
    figures = [
        field_figure(field, row)
        for field in summary_figures(COMMUNE_FIELDS)
        if field.format != Format.SHARE or value(row, field.name) is not None
    ]
    return figures + flagged_figures(sums)


def flagged_sums(zones: pd.DataFrame) -> dict[str, float | int]:
    """How many of ``zones`` are flagged (``zones[flagged].zones``) and the sums of
    :data:`_FLAGGED_SUMS` over them (``zones[flagged].<field>``)."""
    flagged = zones[zones["rank"].notna()]
    out: dict[str, float | int] = {f"{FLAGGED}.zones": len(flagged)}
    for name in _FLAGGED_SUMS:
        total = flagged[name].sum()
        out[f"{FLAGGED}.{name}"] = (
            int(total) if zone_field(name).dtype == "integer" else float(total)
        )
    return out


def flagged_figures(sums: Mapping[str, float | int]) -> list[KeyFigure]:
    """The key figures of :func:`flagged_sums`, labelled from the registry of result fields."""
    zones = named(COMMUNE_FIELDS, "zones")
    figures = [field_figure(zones, sums, column=f"{FLAGGED}.zones", label="Zones signalées")]
    for name in _FLAGGED_SUMS:
        field = zone_field(name)
        figures.append(
            field_figure(
                field, sums, column=f"{FLAGGED}.{name}", label=f"{field.label} en zones signalées"
            )
        )
    return figures


def registry_figure(figure: Figure) -> KeyFigure:
    """The key figure of a field declared with ``figure`` in the registry of result fields."""
    return field_figure(figure.field, {figure.field.name: figure.value})


def sources(run: RunInfo) -> list[DataSource]:
    """The input layers of the run, in citation order."""
    names = sorted(
        run.inputs,
        key=lambda n: (_LAYER_ORDER.index(n) if n in _LAYER_ORDER else len(_LAYER_ORDER), n),
    )
    return [
        DataSource(
            layer=name,
            title=meta.title,
            source=meta.source,
            licence=meta.licence,
            attribution=meta.attribution,
            data_date=meta.data_date,
            synthetic=meta.synthetic,
        )
        for name in names
        for meta in (run.inputs[name],)
    ]


def data_dates(run: RunInfo) -> str:
    """When the data date from: ``1er janvier 2026``, or per layer when they differ."""
    dated = [(s.title, s.data_date) for s in sources(run) if s.data_date is not None]
    if not dated:
        return "date des données non précisée"
    days = {d for _, d in dated}
    if len(days) == 1:
        return fr_date(dated[0][1])
    return ", ".join(f"{title.lower()} : {fr_date(day)}" for title, day in dated)


def coverage_date(run: RunInfo) -> date | None:
    """The most recent date of the coverage data (premises or raster)."""
    days = [
        meta.data_date
        for name, meta in run.inputs.items()
        if name in ("premises", "coverage") and meta.data_date is not None
    ]
    return max(days, default=None)


def limits(result: AnalysisResult, specific: list[str]) -> list[str]:
    """The limits of an opinion: synthetic data first, then ``specific`` ones, then those every
    opinion states (what the speed classes measure, the date of the data, missing layers)."""
    out: list[str] = []
    if result.run.synthetic:
        out.append(
            "Données synthétiques du territoire de démonstration : les lieux, les noms et les "
            "chiffres sont fictifs et ne décrivent aucun territoire réel."
        )
    out += specific
    out.append(
        "Les débits sont les débits maximaux théoriquement disponibles par bâtiment (classes "
        "de débit de l'Arcep, meilleure technologie disponible) ; ils ne mesurent ni les débits "
        "effectivement constatés ni les abonnements souscrits."
    )
    day = coverage_date(result.run)
    if day is not None:
        out.append(
            f"Données de couverture au {fr_date(day)} : les déploiements intervenus depuis "
            "cette date ne sont pas pris en compte."
        )
    if "land" not in result.run.inputs:
        out.append("Aucune couche de foncier économique n'a été fournie : le foncier est ignoré.")
    return out


def overlapping_pairs(zones: gpd.GeoDataFrame) -> list[tuple[int, int]]:
    """Positional index pairs (i < j) of zones whose intersection has a positive area."""
    geoms = np.asarray(zones.geometry.values)
    if len(geoms) < 2:
        return []
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if len(left) == 0:
        return []
    areas = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    return [(int(i), int(j)) for i, j, a in zip(left, right, areas, strict=True) if a > _OVERLAP_M2]


def overlapping(zones: gpd.GeoDataFrame, position: int) -> list[int]:
    """Positions of the zones whose intersection with zone ``position`` has a positive area."""
    geoms = np.asarray(zones.geometry.values)
    target = geoms[position]
    candidates = np.flatnonzero(shapely.intersects(geoms, target))
    candidates = candidates[candidates != position]
    areas = shapely.area(shapely.intersection(geoms[candidates], target))
    return [int(j) for j, a in zip(candidates, areas, strict=True) if a > _OVERLAP_M2]


def commune_names(result: AnalysisResult) -> dict[str, str]:
    """Commune name by INSEE code (communes without a name are left out)."""
    frame = result.communes
    if "name" not in frame.columns:
        return {}
    return {
        str(code): str(name)
        for code, name in zip(frame["commune_insee"], frame["name"], strict=True)
        if isinstance(name, str) and name
    }


def epci_names(result: AnalysisResult) -> dict[str, str]:
    """EPCI name by SIREN code (EPCIs without a name are left out)."""
    frame = result.epcis
    if "name" not in frame.columns or "epci_siren" not in frame.columns:
        return {}
    return {
        str(code): str(name)
        for code, name in zip(frame["epci_siren"], frame["name"], strict=True)
        if isinstance(name, str) and name
    }


def commune_of(insee: str | None, names: Mapping[str, str]) -> str:
    """``la commune de Fonvelle (13905)``, ``la commune d'Aubesque (13901)``."""
    name = names.get(insee) if insee else None
    if insee is None:
        return "une commune non renseignée"
    return f"la commune {of_place(name)} ({insee})" if name else f"la commune {insee}"


def commune_name(insee: str | None, names: Mapping[str, str]) -> str:
    """The commune's name, or its INSEE code without a name."""
    if insee is None:
        return "commune non renseignée"
    return names.get(insee) or f"commune {insee}"


def commune_text(insee: str | None, names: Mapping[str, str]) -> str:
    """``Aubesque (13901)``, the INSEE code alone without a name, ``commune non renseignée``."""
    if insee is None:
        return "commune non renseignée"
    name = names.get(insee)
    return f"{name} ({insee})" if name else f"commune {insee}"


def zone_line(
    row: Mapping[str, Any],
    options: OpinionOptions,
    names: Mapping[str, str],
) -> ZoneLine:
    """A zone's line in a commune or territory table."""
    status = text(row, "status") or "unknown"
    priority = value(row, "priority")
    rank = integer(row, "rank")
    basis = text(row, "status_basis") or "none"
    thd30 = effective_share(row, "share_thd30")
    insee = text(row, "commune_insee")
    return ZoneLine(
        zone_id=str(row["zone_id"]),
        name=text(row, "name") or str(row["zone_id"]),
        commune_insee=insee,
        commune_name=names.get(insee) if insee else None,
        status=status,
        status_label=status_label(status),
        status_basis=basis,
        share_thd30=thd30,
        share_thd30_text=deciding_share_text(thd30, basis, thd30_lower_bound(row)),
        locaux=integer(row, "locaux") or 0,
        available_land_ha=value(row, "available_land_ha") or 0.0,
        priority=priority,
        rank=rank,
        level=options.levels.level(priority) if rank is not None and priority is not None else None,
        map_url=zone_map_url(options, str(row["zone_id"])),
    )


def zone_map_url(options: OpinionOptions, zone_id: str) -> str | None:
    """The interactive map of a zone (None without a base URL)."""
    if not options.root:
        return None
    return f"{options.root}/maps/zones/{quote(zone_id, safe='')}"


def links(options: OpinionOptions, map_path: str, api_path: str, opinion_path: str) -> Links | None:
    """Absolute links of an opinion: interactive map, embeddable map, iframe, API, opinions;
    None without a base URL."""
    if not options.root:
        return None
    map_url = f"{options.root}{map_path}"
    separator = "&" if "?" in map_url else "?"
    embed_url = f"{map_url}{separator}embed=1"
    iframe = (
        f'<iframe src="{html.escape(embed_url)}" width="100%" height="480" '
        'style="border:0" loading="lazy" title="Carte interactive geo-service"></iframe>'
    )
    return Links(
        map_url=map_url,
        embed_url=embed_url,
        iframe=iframe,
        api_url=f"{options.root}{api_path}",
        opinion_urls={f: f"{options.root}{opinion_path}?f={f}" for f in FORMATS},
    )


def overlap_limit(zones: pd.DataFrame, pairs: list[tuple[int, int]]) -> str | None:
    """The limit stating that overlapping zones count shared premises and land twice.

    ``pairs`` are positions in ``zones`` (see :func:`overlapping_pairs`, :func:`overlapping`).
    """
    if not pairs:
        return None
    names = zones["name"].fillna(zones["zone_id"]).astype(str).tolist()
    shown = ", ".join(f"{quoted(names[i])} et {quoted(names[j])}" for i, j in pairs[:3])
    more = len(pairs) - 3
    tail = f" et {plural(more, 'autre paire')}" if more > 0 else ""
    return (
        f"Zones qui se chevauchent : {shown}{tail}. Les locaux et le foncier situés dans "
        "l'intersection sont comptés dans chacune des zones, donc deux fois dans les totaux."
    )


def zone_names(lines: list[ZoneLine], limit: int = 8, rest: str = "") -> str:
    """``« A », « B » et « C »``; past ``limit`` names, ``… et 4 autres`` + ``rest``."""
    names = [quoted(line.name) for line in lines[:limit]]
    more = len(lines) - limit
    if more > 0:
        return f"{', '.join(names)} et {plural(more, 'autre')}{rest}"
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} et {names[-1]}"


def status_breakdown(counts: Mapping[str, int]) -> str:
    """``2 bien desservies, 1 mal desservie et 1 non desservie`` (statuses with zones only)."""
    parts = [status_count(n, status) for status, n in counts.items() if n > 0]
    if len(parts) < 2:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} et {parts[-1]}"


def level_groups(lines: list[ZoneLine]) -> dict[int, list[ZoneLine]]:
    """Flagged zones by recommendation level (1, 2, 3), in rank order."""
    groups: dict[int, list[ZoneLine]] = {}
    for line in sorted(lines, key=lambda z: z.rank or 0):
        if line.level is not None:
            groups.setdefault(line.level, []).append(line)
    return dict(sorted(groups.items()))


#: What each level asks for, completed by the names of the zones.
LEVEL_ACTIONS: Final[dict[int, str]] = {
    1: "Engager en priorité la desserte en très haut débit de",
    2: "Programmer la desserte en très haut débit de",
    3: "Suivre l'évolution de la couverture de",
}

NEUTRALITY: Final = (
    "Veiller à ce que les solutions retenues restent ouvertes à l'ensemble des opérateurs et "
    "neutres sur le plan technologique."
)
