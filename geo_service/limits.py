"""Bounds that the command line declares in its options, kept free of heavy imports so that
``geo-service --help`` does not load the analysis."""

from __future__ import annotations

from typing import Final

#: Default search radius of the nearest building ("What is here?"), in metres.
DEFAULT_PREMISES_RADIUS_M: Final = 500.0
#: Largest search radius of the nearest building, in metres.
MAX_PREMISES_RADIUS_M: Final = 10_000.0
