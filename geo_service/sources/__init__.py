"""Sources: files in official or generic formats turned into canonical layers."""

from geo_service.sources.raster import read_coverage_raster
from geo_service.sources.vector import read_layer_file, read_point_layer_file, read_vector

__all__ = ["read_coverage_raster", "read_layer_file", "read_point_layer_file", "read_vector"]
