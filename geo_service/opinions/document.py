"""Opinions as files: what the CLI, the API and the notebooks call.

:func:`opinion_document` builds the opinion on a subject from a workspace's results and
renders it in one format, with the static map for HTML and PDF.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from geo_service import pipeline
from geo_service.analysis import AnalysisResult
from geo_service.errors import ParameterError
from geo_service.opinions import record as opinion_record
from geo_service.opinions.common import OpinionOptions
from geo_service.opinions.commune import commune_opinion
from geo_service.opinions.evolution import evolution
from geo_service.opinions.htmldoc import render_html
from geo_service.opinions.markdown import render_markdown
from geo_service.opinions.model import Opinion, OpinionKind
from geo_service.opinions.pdf import render_pdf
from geo_service.opinions.record import OpinionRecord
from geo_service.opinions.territory import territory_synthesis
from geo_service.opinions.trend import territory_trend
from geo_service.opinions.zone import zone_opinion
from geo_service.store.archive import ArchiveFile
from geo_service.workspace import Workspace

if TYPE_CHECKING:  # matplotlib loads with the first drawn map, not with the API
    from geo_service.opinions.staticmap import MapLayers


class OpinionFormat(StrEnum):
    """The renderings of an opinion."""

    JSON = "json"
    HTML = "html"
    PDF = "pdf"
    MD = "md"

    @property
    def media_type(self) -> str:
        """HTTP media type of the rendering."""
        return {
            OpinionFormat.JSON: "application/json",
            OpinionFormat.HTML: "text/html; charset=utf-8",
            OpinionFormat.PDF: "application/pdf",
            OpinionFormat.MD: "text/markdown; charset=utf-8",
        }[self]

    @classmethod
    def parse(cls, value: str, parameter: str = "f") -> OpinionFormat:
        """The format called ``value``; ParameterError naming ``parameter`` otherwise."""
        try:
            return cls(value.lower())
        except ValueError:
            choices = ", ".join(f.value for f in cls)
            raise ParameterError(
                parameter, f"unknown opinion format '{value}'; expected one of {choices}"
            ) from None


@dataclass(frozen=True)
class Subject:
    """What an opinion is about: a zone, a commune (INSEE code) or the territory."""

    kind: OpinionKind
    id: str | None = None

    @property
    def stem(self) -> str:
        """File name stem: ``avis-zone-DEMO-Z009``, ``avis-commune-13905``, ``avis-territoire``."""
        if self.kind == OpinionKind.TERRITORY or self.id is None:
            return "avis-territoire"
        safe = re.sub(r"[^A-Za-z0-9._-]+", "-", self.id).strip("-.") or "sans-nom"
        return f"avis-{self.kind.value}-{safe}"


@dataclass(frozen=True)
class Document:
    """A rendered opinion: its bytes, media type and file name; its record once archived."""

    content: bytes
    media_type: str
    filename: str
    record: OpinionRecord | None = None


def build_opinion(result: AnalysisResult, subject: Subject, options: OpinionOptions) -> Opinion:
    """The opinion on ``subject`` (NotFoundError for an unknown zone or commune)."""
    if subject.kind == OpinionKind.ZONE:
        return zone_opinion(result, str(subject.id), options)
    if subject.kind == OpinionKind.COMMUNE:
        return commune_opinion(result, str(subject.id), options)
    return territory_synthesis(result, options)


def render(opinion: Opinion, fmt: OpinionFormat, layers: MapLayers | None = None) -> bytes:
    """``opinion`` rendered in ``fmt``; HTML and PDF carry the static map when ``layers``."""
    if fmt == OpinionFormat.JSON:
        return opinion.model_dump_json(indent=2).encode("utf-8")
    if fmt == OpinionFormat.MD:
        return render_markdown(opinion).encode("utf-8")
    from geo_service.opinions import staticmap

    # the PDF's map is compressed again by WeasyPrint: written fast, not small
    pdf = fmt == OpinionFormat.PDF
    level = staticmap.PDF_PNG_COMPRESS_LEVEL if pdf else staticmap.PNG_COMPRESS_LEVEL
    picture = (
        None if layers is None else staticmap.opinion_map(opinion, layers, compress_level=level)
    )
    return render_pdf(opinion, picture) if pdf else render_html(opinion, picture).encode("utf-8")


def map_layers(workspace: Workspace, result: AnalysisResult) -> MapLayers:
    """The layers the static maps draw, from the workspace (land, premises and the coverage
    raster when stored)."""
    from geo_service.opinions.staticmap import MapLayers

    return MapLayers(
        result=result,
        land=workspace.optional_layer(pipeline.LAND),
        premises=workspace.optional_layer(pipeline.PREMISES),
        raster=workspace.raster(),
    )


def opinion_document(
    workspace: Workspace,
    subject: Subject,
    fmt: OpinionFormat,
    *,
    on: date | None = None,
    result: AnalysisResult | None = None,
    base_url: str | None = None,
    archive: bool = False,
) -> Document:
    """The opinion on ``subject`` from the workspace's results, rendered in ``fmt``.

    When the store's record holds an earlier opinion on the subject, the opinion has the
    section « Évolution depuis l'avis du … » comparing its figures with those then stated.

    Parameters
    ----------
    workspace
        Store and cached layers (its settings give the public URL and the level cut-offs).
    subject
        Zone, commune or territory.
    fmt
        Rendering.
    on
        Date of the opinion (today when None).
    result
        Analysis results to use instead of the workspace's (e.g. already loaded).
    base_url
        Base URL of the links (default: the ``public_url`` setting).
    archive
        Archive the opinion and its file in the store's record (the document's ``record``);
        a draft (False) is not recorded.
    """
    result = result or workspace.results()
    prepared = prepare_opinion(workspace, result, subject, on=on, base_url=base_url)
    needs_map = fmt in (OpinionFormat.HTML, OpinionFormat.PDF)
    layers = map_layers(workspace, result) if needs_map else None
    document = render_document(prepared, fmt, layers)
    return archived(workspace, result, prepared, document) if archive else document


@dataclass(frozen=True)
class PreparedOpinion:
    """An opinion built from the results and the store's record, not yet rendered."""

    subject: Subject
    opinion: Opinion
    previous: OpinionRecord | None


def prepare_opinion(
    workspace: Workspace,
    result: AnalysisResult,
    subject: Subject,
    *,
    on: date | None = None,
    base_url: str | None = None,
) -> PreparedOpinion:
    """The opinion on ``subject`` with its « Évolution » section when the store's record holds
    an earlier one (the steps of :func:`opinion_document` that read the store)."""
    options = OpinionOptions.from_settings(workspace.settings, on)
    if base_url is not None:
        options = replace(options, base_url=base_url)
    opinion = build_opinion(result, subject, options)
    if subject.kind == OpinionKind.TERRITORY:
        opinion = opinion.model_copy(update={"trend": territory_trend(result)})
    previous = opinion_record.latest(workspace.store, opinion.kind, opinion.subject_id)
    if previous is not None:
        vintages = opinion_record.input_vintages(result.run.inputs)
        opinion = opinion.model_copy(update={"evolution": evolution(opinion, previous, vintages)})
    return PreparedOpinion(subject, opinion, previous)


def render_document(
    prepared: PreparedOpinion, fmt: OpinionFormat, layers: MapLayers | None
) -> Document:
    """The document of a prepared opinion (no store access: worker processes render them)."""
    return Document(
        content=render(prepared.opinion, fmt, layers),
        media_type=fmt.media_type,
        filename=f"{prepared.subject.stem}.{fmt.value}",
    )


def archived(
    workspace: Workspace, result: AnalysisResult, prepared: PreparedOpinion, document: Document
) -> Document:
    """``document`` archived with its opinion in the store's record (its ``record`` set)."""
    opinion, previous = prepared.opinion, prepared.previous
    created = datetime.now(UTC)
    files = [ArchiveFile(document.filename, document.media_type, document.content)]
    record = opinion_record.record_of(
        opinion,
        files,
        result.run.inputs,
        record_id=opinion_record.new_record_id(created),
        created_at=created,
        previous_id=previous.id if previous is not None else None,
    )
    return replace(document, record=opinion_record.archive(workspace.store, record, files))
