"""Benchmarks of geo-service: run ``python -m benchmarks --help``."""
