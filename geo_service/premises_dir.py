"""Where the national premises live as GeoParquet files, without importing dask.

``geo-service analyze`` checks this directory on every run (to point to ``--engine dask``);
keeping it here spares the in-memory engine the import of dask and distributed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

#: Directory of the premises GeoParquet files, under the data directory.
PREMISES_PARQUET: Final = "premises-parquet"


def default_premises_dir(data_dir: Path) -> Path:
    """Where ``geo-service demo --scale national`` writes the premises, and where
    ``geo-service analyze --engine dask`` looks for them: ``<data dir>/premises-parquet``."""
    return data_dir / PREMISES_PARQUET
