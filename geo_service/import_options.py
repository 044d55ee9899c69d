"""The options of an import, declared once as plain data for ``geo-service import`` and
``POST /layers``; this module imports nothing heavy, so that ``geo-service --help`` loads no
reader (:mod:`geo_service.sources.formats` turns the values given into ``ImportOptions``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class ImportOption:
    """An option of an import, declared once for ``geo-service import`` and ``POST /layers``.

    ``name`` is an :class:`~geo_service.sources.formats.ImportOptions` field (``of_format``:
    the formats read it) or a parameter of :func:`geo_service.pipeline.import_files`; ``flag``
    options are switches.
    """

    name: str
    help: str
    flag: bool = False
    of_format: bool = True
    #: The CLI option (default ``--name`` with dashes) and the upload's form field (``name``).
    cli: str | None = None
    form: str | None = None

    @property
    def cli_option(self) -> str:
        """The CLI option: ``--id-field``, or ``--wired-only/--no-wired-only`` for a switch."""
        option = self.cli or f"--{self.name.replace('_', '-')}"
        return f"{option}/--no-{option[2:]}" if self.flag else option

    @property
    def form_field(self) -> str:
        """The form field of an upload."""
        return self.form or self.name


#: The options of an import, in the order the CLI and the API document them.
IMPORT_OPTIONS: Final[tuple[ImportOption, ...]] = (
    ImportOption(
        "format_name",
        "Format name (see 'geo-service formats', GET /formats); default: detected.",
        of_format=False,
        cli="--format",
        form="format",
    ),
    ImportOption("layer", "Layer to read in a multi-layer file (GeoPackage).", form="source_layer"),
    ImportOption("crs", "CRS of a file that declares none, e.g. EPSG:2154."),
    ImportOption("id_field", "Column holding the ids."),
    ImportOption("name_field", "Column holding the names."),
    ImportOption(
        "include_satellite", "Count satellite offers in a building's best class.", flag=True
    ),
    ImportOption("wired_only", "Count wired technologies only.", flag=True),
    ImportOption(
        "append",
        "Add the features to the stored layer instead of replacing it (e.g. land from several "
        "producers); ids must not collide.",
        flag=True,
        of_format=False,
    ),
    ImportOption("source", "Source to cite; default: the file names.", of_format=False),
    ImportOption("licence", "Licence of the data.", of_format=False),
    ImportOption(
        "data_date",
        "Date of the data, YYYY-MM-DD; default: the date the files give, else the files' date.",
        of_format=False,
        cli="--date",
        form="date",
    ),
    ImportOption(
        "vintage",
        "Vintage (quarter) of a coverage layer, e.g. 2026-T1; default: the quarter of the data "
        "date. The latest vintage is the current layer, older ones are kept read-only.",
        of_format=False,
    ),
    ImportOption(
        "quarter",
        "Quarter column of the ARCEP FTTH observatory file to import, e.g. 2017-T3, or 'all' "
        "for one vintage per quarter; default: the latest.",
    ),
)
