"""Layer descriptors: the small TOML files of ``layers/`` that describe each layer of the store."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from geo_service.analysis.fields import descriptor_columns
from geo_service.errors import NotFoundError, StoreError

_REPO_LAYERS = Path(__file__).resolve().parent.parent / "layers"
_PACKAGED_LAYERS = Path(__file__).resolve().parent / "_layers"


class LayerDescriptor(BaseModel):
    """What a layer is: title, description, geometry, usual licence and attribution, columns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: str
    geometry: str
    title: str
    description: str
    licence: str
    attribution: str
    columns: dict[str, str] = {}


def default_layers_dir() -> Path:
    """The bundled descriptors (the repository's ``layers/``, or their copy in the wheel)."""
    return _REPO_LAYERS if _REPO_LAYERS.is_dir() else _PACKAGED_LAYERS


@lru_cache(maxsize=8)
def load_descriptors(directory: Path | None = None) -> dict[str, LayerDescriptor]:
    """Every descriptor of ``directory`` (default: :func:`default_layers_dir`), by layer name.

    The columns of the result layers come from the registry of result fields
    (:mod:`geo_service.analysis.fields`); their TOML files may add others.
    """
    directory = directory or default_layers_dir()
    descriptors: dict[str, LayerDescriptor] = {}
    for path in sorted(directory.glob("*.toml")):
        try:
            descriptor = LayerDescriptor.model_validate(tomllib.loads(path.read_text("utf-8")))
            if columns := descriptor_columns(descriptor.name):
                # A result layer's columns are declared with its fields.
                merged = {**columns, **descriptor.columns}
                descriptor = descriptor.model_copy(update={"columns": merged})
        except (tomllib.TOMLDecodeError, ValidationError, OSError) as exc:
            raise StoreError(f"{path}: invalid layer descriptor: {exc}") from exc
        descriptors[descriptor.name] = descriptor
    return descriptors


def is_raster(name: str, directory: Path | None = None) -> bool:
    """Whether layer ``name`` is a raster, as its descriptor's geometry says (False when the
    layer has no descriptor)."""
    found = load_descriptors(directory).get(name)
    return found is not None and found.geometry.lower().startswith("raster")


def descriptor(name: str, directory: Path | None = None) -> LayerDescriptor:
    """The descriptor of layer ``name``."""
    try:
        return load_descriptors(directory)[name]
    except KeyError:
        raise NotFoundError(
            f"no descriptor for layer '{name}' in {directory or default_layers_dir()}"
        ) from None
